"""fit's extension points (extra_loss, a head's HeadOutput) and a tiny run of each research
variant (lessons 08-10) that lowers its loss."""
import dataclasses

import pytest
import torch
from torch import nn

from facecourse.eval import class_centres, embed
from facecourse.losses import (AttentionSimilarityLoss, CoupleFaceLoss, DomainAdversarialLoss,
                               FeatureDistillLoss)
from facecourse.models import CBAMBackbone, MaskedFaceDANN, RandomLowResolution, create_backbone
from facecourse.train import HeadConfig, fit, fit_cached, run_key

from _train_tiny import tiny_config, tiny_faces


@pytest.fixture(scope="module")
def data():
    return tiny_faces()


@pytest.fixture(scope="module")
def teacher(data):
    return fit(tiny_config(epochs=3), data).backbone


def losses(result):
    return [row["loss"] for row in result.history]


def convnet(seed=0):
    torch.manual_seed(seed)
    return create_backbone("convnet", embedding_dim=16, image_size=32, width=0.25)


def test_extra_loss_is_added_to_every_step_with_the_batch(data):
    seen = []

    def constant(images, labels, embeddings, extras):
        seen.append((images.shape, labels.shape, embeddings.shape, extras))
        return embeddings.sum() * 0 + 5.0

    cfg = tiny_config(**{"data.augment": False})
    plain, extra = fit(cfg, data), fit(cfg, data, extra_loss=constant)
    assert [b - a for a, b in zip(losses(plain), losses(extra))] == pytest.approx([5.0] * 4)
    assert len(seen) == 8 and seen[0][:3] == ((16, 3, 32, 32), (16,), (16, 16))
    assert seen[0][3] == {}  # a plain backbone returns no side outputs


def test_an_extra_loss_with_trainable_parameters_is_refused(data):
    with pytest.raises(ValueError, match="put them in the backbone"):
        fit(tiny_config(), data, extra_loss=nn.Linear(2, 2))


def test_boundaryface_before_its_warm_up_is_arcface_exactly(data):
    cfg = tiny_config()
    boundary = HeadConfig(name="boundaryface", s=16.0, m=0.2, extra={"warmup_steps": 10**6})
    assert losses(fit(dataclasses.replace(cfg, head=boundary), data)) == losses(fit(cfg, data))


def test_boundaryface_trains_and_corrects_labels(data):
    head = HeadConfig(name="boundaryface", s=16.0, m=0.2, extra={"warmup_steps": 8})
    result = fit(dataclasses.replace(tiny_config(epochs=4), head=head), data)
    assert losses(result)[-1] < losses(result)[0]
    assert int(result.head.step) == 16 and int(result.head.num_corrected) >= 0
    assert result.head.corrected_labels(embed(result.backbone, data), data.labels).shape == (64,)


@pytest.mark.parametrize("variant", ["feature_l2", "coupleface", "askd", "dann"])
def test_each_variant_lowers_its_loss_in_a_tiny_run(data, teacher, variant):
    cfg, backbone = tiny_config(epochs=4), None
    if variant == "feature_l2":
        extra = FeatureDistillLoss(teacher)
    elif variant == "coupleface":
        extra = CoupleFaceLoss(teacher, class_centres(embed(teacher, data), data.labels), k=3)
    elif variant == "askd":
        cbam_teacher = fit(tiny_config(epochs=3), data, backbone=CBAMBackbone(convnet(1))).backbone
        backbone = nn.Sequential(RandomLowResolution((8, 16)), CBAMBackbone(convnet(2)))
        extra = AttentionSimilarityLoss(cbam_teacher)
    else:
        backbone, extra = MaskedFaceDANN(convnet(3), mask_prob=0.5), DomainAdversarialLoss()
    result = fit(cfg, data, backbone=backbone, extra_loss=extra)
    history = losses(result)
    assert history[-1] < history[0], history
    assert embed(result.backbone, data).shape == (64, 16)


def test_fit_cached_keys_runs_by_the_extra_loss(data, teacher, tmp_path):
    cfg = tiny_config(epochs=1)
    a, b = FeatureDistillLoss(teacher, weight=1.0), FeatureDistillLoss(teacher, weight=2.0)
    assert run_key(cfg, data, None, None, None, a) != run_key(cfg, data, None, None, None, b)
    assert run_key(cfg, data, None, None, None, a) == run_key(
        cfg, data, None, None, None, FeatureDistillLoss(teacher, weight=1.0))
    assert run_key(cfg, data, None, None, None) == run_key(cfg, data, None, None, None), "unchanged"
    d1, d2 = MaskedFaceDANN(convnet(), mask_prob=0.5), MaskedFaceDANN(convnet(), mask_prob=0.3)
    assert run_key(cfg, data, d1) != run_key(cfg, data, d2), "wrapper settings join the key"
    first = fit_cached(cfg, data, extra_loss=a, cache_dir=tmp_path)
    again = fit_cached(cfg, data, extra_loss=a, cache_dir=tmp_path)
    assert again.out_dir == first.out_dir and again.history == first.history
    with pytest.raises(TypeError, match="needs an nn.Module"):
        fit_cached(cfg, data, extra_loss=lambda *args: 0.0, cache_dir=tmp_path)
