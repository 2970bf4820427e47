"""Verification metrics against scikit-learn, a naive threshold sweep and hand-worked cases."""
import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from facecourse.eval.verification import (
    FARResolutionWarning, auc, eer, far_key, kfold_accuracy, roc, tar_at_far, val_at_far,
    verification_metrics,
)


def _random_case(n=400, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    issame = rng.random(n) < 0.5
    scores = rng.normal(issame * 1.0, 1.0)
    if ties:
        scores = np.round(scores, 1)  # many tied scores across both classes
    return scores, issame


@pytest.mark.parametrize("ties", [False, True])
def test_roc_matches_sklearn(ties):
    scores, issame = _random_case(ties=ties)
    fpr, tpr, thr = roc(scores, issame)
    ref_fpr, ref_tpr, ref_thr = roc_curve(issame, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    np.testing.assert_allclose(thr[1:], ref_thr[1:])
    assert np.isinf(thr[0]) and np.isinf(ref_thr[0])
    assert auc(scores, issame) == pytest.approx(roc_auc_score(issame, scores), abs=1e-12)


def test_roc_accepts_torch_and_int_labels():
    scores, issame = _random_case(50)
    fpr, tpr, _ = roc(torch.tensor(scores, dtype=torch.float32), torch.tensor(issame.astype(int)))
    ref_fpr, ref_tpr, _ = roc_curve(issame, scores.astype(np.float32), drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)


def test_hand_worked_example():
    # genuine: 0.9 0.8 0.4 ; impostor: 0.7 0.3 0.2 0.1
    scores = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.2, 0.1])
    issame = np.array([1, 1, 0, 1, 0, 0, 0], bool)
    fpr, tpr, thr = roc(scores, issame)
    np.testing.assert_allclose(tpr, [0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1])
    np.testing.assert_allclose(fpr, [0, 0, 0, 1 / 4, 1 / 4, 2 / 4, 3 / 4, 1])
    # AUC: P(genuine > impostor) = (4 + 4 + 3) / 12
    assert auc(scores, issame) == pytest.approx(11 / 12)
    # FRR - FAR: at thr 0.7: 1/3 - 1/4 > 0; at 0.4: 0 - 1/4 < 0; FAR is 1/4 at both ends
    value, t = eer(scores, issame, return_threshold=True)
    assert value == pytest.approx(0.25)  # FAR stays 1/4 along that segment
    assert t == pytest.approx(0.4)
    # TAR at FAR <= 0.25: threshold 0.4 accepts 3/3 genuine, 1/4 impostors
    assert tar_at_far(scores, issame, 0.25, return_threshold=True) == (1.0, 0.4)
    # TAR at FAR <= 0.2 needs threshold 0.8: 2/3
    with pytest.warns(FARResolutionWarning, match="FAR=0.2 is below the resolution 1/4"):
        assert tar_at_far(scores, issame, 0.2) == pytest.approx(2 / 3)
    assert val_at_far is tar_at_far
    # Best accuracy threshold: between 0.4 and 0.3 -> 6/7 correct.
    acc, std, thr = kfold_accuracy(np.r_[scores, scores], np.r_[issame, issame], folds=2)
    assert acc == pytest.approx(6 / 7) and std == 0
    np.testing.assert_allclose(thr, [0.35, 0.35])


def test_eer_symmetric_case():
    # genuine 0.6, 0.4 ; impostor 0.5, 0.3 -> FAR = FRR = 1/2 at threshold 0.4
    scores = np.array([0.6, 0.5, 0.4, 0.3])
    issame = np.array([1, 0, 1, 0], bool)
    assert eer(scores, issame) == pytest.approx(0.5)
    perfect = np.array([0.9, 0.8, 0.2, 0.1])
    assert eer(perfect, np.array([1, 1, 0, 0], bool)) == 0.0


def _naive_kfold(scores, issame, fold):
    accs, thrs = [], []
    for k in np.unique(fold):
        tr, te = fold != k, fold == k
        cands = np.unique(scores[tr])
        cands = np.r_[-np.inf, (cands[1:] + cands[:-1]) / 2, np.inf]
        train_acc = [((scores[tr] >= t) == issame[tr]).mean() for t in cands]
        t = cands[int(np.argmax(train_acc))]
        accs.append(((scores[te] >= t) == issame[te]).mean())
        thrs.append(t)
    return np.mean(accs), np.std(accs), np.array(thrs)


@pytest.mark.parametrize("ties", [False, True])
def test_kfold_matches_naive_sweep(ties):
    scores, issame = _random_case(600, seed=3, ties=ties)
    fold = np.repeat(np.arange(10), 60)
    mean, std, thr = kfold_accuracy(scores, issame, fold)
    ref_mean, ref_std, ref_thr = _naive_kfold(scores, issame, fold)
    assert mean == pytest.approx(ref_mean) and std == pytest.approx(ref_std)
    np.testing.assert_allclose(thr, ref_thr)
    # an int asks for the same contiguous split
    assert kfold_accuracy(scores, issame, 10)[0] == pytest.approx(mean)


def test_kfold_uses_given_fold_ids_not_order():
    scores, issame = _random_case(200, seed=5)
    fold = np.tile(np.arange(4), 50)  # interleaved folds
    mean, std, _ = kfold_accuracy(scores, issame, fold)
    ref = _naive_kfold(scores, issame, fold)
    assert (mean, std) == pytest.approx(ref[:2])


def test_verification_metrics_keys_and_values():
    scores, issame = _random_case(3000, seed=1)
    with pytest.warns(FARResolutionWarning, match="below the resolution 1/"):
        direct = tar_at_far(scores, issame, 1e-4)
    m = verification_metrics(scores, issame)
    for key in ("auc", "eer", "acc_mean", "acc_std", "threshold", "tar@far=1e-1",
                "tar@far=1e-2", "tar@far=1e-3", "tar@far=1e-4", "far_resolution"):
        assert key in m
    assert m["auc"] == pytest.approx(roc_auc_score(issame, scores))
    assert m["far_resolution"] == pytest.approx(1 / (~issame).sum())
    assert m["tar@far=1e-4"] == direct
    # TAR@FAR from sklearn's curve: best tpr with fpr <= 1e-2
    fpr, tpr, _ = roc_curve(issame, scores)
    assert m["tar@far=1e-2"] == pytest.approx(tpr[fpr <= 1e-2].max())
    assert m["tar@far=1e-1"] >= m["tar@far=1e-2"] >= m["tar@far=1e-3"]
    assert far_key(1e-3) == "tar@far=1e-3" and far_key(5e-2) == "tar@far=5e-2"


def test_nan_scores_error_names_count_and_index():
    scores, issame = _random_case(20)
    scores[[3, 7]] = np.nan
    scores[9] = np.inf
    for fn in (roc, auc, eer, lambda s, y: kfold_accuracy(s, y, 2), verification_metrics):
        with pytest.raises(ValueError, match=r"3 non-finite value\(s\) \(2 NaN, 1 Inf\) "
                                             r"at index 3, 7, 9"):
            fn(scores, issame)


@pytest.mark.parametrize("value,kind", [(True, "genuine"), (False, "impostor")])
def test_one_class_error(value, kind):
    scores = np.linspace(0, 1, 8)
    issame = np.full(8, value)
    with pytest.raises(ValueError, match=f"all 8 pairs are {kind}: ROC, AUC"):
        roc(scores, issame)
    with pytest.raises(ValueError, match=f"all 8 pairs are {kind}"):
        verification_metrics(scores, issame)
    # accuracy alone is still defined for one class
    assert kfold_accuracy(scores, issame, 2)[0] == 1.0


def test_input_errors():
    with pytest.raises(ValueError, match="scores has 3 entries but issame has 2"):
        roc([0.1, 0.2, 0.3], [True, False])
    with pytest.raises(ValueError, match="scores is empty"):
        roc([], [])
    with pytest.raises(ValueError, match="issame must be boolean"):
        roc([0.1, 0.2], [2, 0])
    with pytest.raises(ValueError, match="far must be in"):
        tar_at_far([0.1, 0.2], [True, False], 0.0)
    with pytest.raises(ValueError, match="folds must be between 2"):
        kfold_accuracy([0.1, 0.2], [True, False], 5)
    with pytest.raises(ValueError, match="folds has 3 fold ids but there are 2 pairs"):
        kfold_accuracy([0.1, 0.2], [True, False], np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="at least two distinct fold ids"):
        kfold_accuracy([0.1, 0.2], [True, False], np.array([0, 0]))
