"""LFW View 1: threshold from DevTrain pairs, accuracy on DevTest pairs (hand-worked cases)."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from facecourse.data import Pairs
from facecourse.eval import accuracy_at, best_threshold, evaluate_view1, view1_metrics


def test_best_threshold_and_accuracy_by_hand():
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.9])
    issame = np.array([False, False, True, True, True])
    # splits: before 0.35 -> 4/5 right (0.4 wrong); before 0.8 -> 4/5 (0.35 wrong): the lowest wins
    assert best_threshold(scores, issame) == pytest.approx((0.1 + 0.35) / 2)
    assert accuracy_at(scores, issame, 0.5) == pytest.approx(4 / 5)
    assert best_threshold([0.2, 0.3], [True, True]) == -np.inf


def _fake_lfw():
    """6 images on a circle; DevTrain pairs say 'same' below 60 degrees, DevTest pairs too."""
    angles = np.radians([0, 30, 90, 200, 215, 300])
    emb = torch.tensor(np.c_[np.cos(angles), np.sin(angles)], dtype=torch.float32)  # (6, 2)
    train = Pairs([0, 0, 3, 1], [1, 2, 4, 5], [True, False, True, False], [0, 0, 0, 0])
    test = Pairs([3, 1, 0, 2, 4, 0, 1, 2, 3, 5, 4, 0],
                 [4, 0, 5, 1, 5, 3, 2, 4, 5, 0, 2, 2],
                 [True, True, True, False, False, False, True, False, False, True, False, False],
                 np.zeros(12))
    images = torch.zeros(6, 3, 4, 4, dtype=torch.uint8)
    return emb, SimpleNamespace(dev_train=train, dev_test=test, dataset=SimpleNamespace(images=images))


def test_view1_metrics_take_the_threshold_from_devtrain():
    emb, lfw = _fake_lfw()
    m = view1_metrics(emb, lfw)
    # DevTrain cosines: same cos 30° = 0.866 and cos 15°; different cos 90° = cos 270° = 0
    assert m["threshold"] == pytest.approx(np.cos(np.radians(30)) / 2, abs=1e-6)
    assert m["devtrain_acc"] == 1.0
    scores = (emb[lfw.dev_test.a] * emb[lfw.dev_test.b]).sum(1).numpy()
    expected = ((scores >= m["threshold"]) == lfw.dev_test.issame).mean()
    assert m["acc"] == pytest.approx(expected) and m["n_pairs"] == 12
    assert 0 <= m["auc"] <= 1 and 0 <= m["acc_cv"] <= 1 and "tar@far=1e-2" in m
    nan_rows = torch.cat([emb, torch.full((2, 2), float("nan"))])  # unused rows are ignored
    assert view1_metrics(nan_rows, lfw)["acc"] == m["acc"]


def test_best_threshold_balanced_weighs_the_two_kinds_equally():
    scores = np.array([0.1, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    issame = np.array([False, True, True, False, True, True, True])
    # plain: accept from 0.2 gets 6 of 7 (one impostor wrong); balanced: that is (1 + 1/2) / 2 =
    # 0.75, while accepting from 0.55 gets (3/5 + 1) / 2 = 0.8
    assert best_threshold(scores, issame) == pytest.approx(0.2)
    assert best_threshold(scores, issame, balanced=True) == pytest.approx(0.55)
    assert accuracy_at(scores, issame, 0.55) == pytest.approx(5 / 7)
    assert accuracy_at(scores, issame, 0.55, balanced=True) == pytest.approx(0.8)


def test_view1_metrics_choose_the_threshold_on_the_threshold_pairs_only():
    emb, lfw = _fake_lfw()
    # without the first matched pair (cos 30°), the matched cos 15° = 0.966 and the mismatched
    # 0, 0 remain: the split moves up to cos 15° / 2, weighed 1 : 1 between the kinds
    m = view1_metrics(emb, lfw, threshold_pairs=[False, True, True, True])
    assert m["threshold"] == pytest.approx(np.cos(np.radians(15)) / 2, abs=1e-6)
    assert m["n_devtrain_pairs"] == 3 and m["devtrain_acc"] == 1.0
    scores = (emb[lfw.dev_test.a] * emb[lfw.dev_test.b]).sum(1).numpy()
    assert m["acc"] == pytest.approx(((scores >= m["threshold"]) == lfw.dev_test.issame).mean())
    assert m["threshold"] != pytest.approx(view1_metrics(emb, lfw)["threshold"])


def test_evaluate_view1_embeds_only_the_pair_images():
    emb, lfw = _fake_lfw()

    class Lookup(torch.nn.Module):  # "images" carry their index in pixel [0, 0, 0]
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            return emb[((x[:, 0, 0, 0] + 1) * 127.5).round().long()] * self.w  # (B, 2)

    for i in range(6):
        lfw.dataset.images[i, 0, 0, 0] = i
    m = evaluate_view1(Lookup(), lfw, flip=False)
    assert m["acc"] == view1_metrics(emb, lfw)["acc"] and m["flip"] is False
