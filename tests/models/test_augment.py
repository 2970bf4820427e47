"""Training-time degradations: active in training only, reproducible from (seed, step)."""
import numpy as np
import pytest
import torch

from facecourse.data import SyntheticFaces, downsample, draw_mask, template, to_float
from facecourse.models import RandomFaceMask, RandomLowResolution


@pytest.fixture(scope="module")
def faces():
    return SyntheticFaces(2, 3, image_size=32, seed=4)


def test_low_resolution_equals_data_downsample_and_only_in_training(faces):
    x = to_float(faces.images)
    lr = RandomLowResolution(sizes=(8,), p=1.0)
    assert torch.equal(lr.eval()(x), x)
    out = lr.train()(x)
    ref = to_float(downsample(faces.images, 8))
    assert (out - ref).abs().max() <= 1 / 127.5 + 1e-6, "the same resampler (up to uint8 rounding)"
    assert int(lr.step) == 1
    assert torch.equal(RandomLowResolution((8,), p=0.0).train()(x), x)


def test_low_resolution_draws_repeat_for_the_same_seed_and_step(faces):
    x = to_float(faces.images)
    a, b = RandomLowResolution((4, 8, 16), p=0.5, seed=1), RandomLowResolution((4, 8, 16), p=0.5, seed=1)
    first = a(x)
    assert torch.equal(first, b(x)) and not torch.equal(a(x), first), "next step, new draw"
    b.load_state_dict(a.state_dict())  # a resumed run continues the same stream
    assert torch.equal(a(x), b(x))
    with pytest.raises(ValueError, match="p must be in \\[0, 1\\]"):
        RandomLowResolution(p=1.5)


def test_face_mask_draws_masks_on_the_chosen_images(faces):
    x = to_float(faces.images)
    masker = RandomFaceMask(p=0.5, seed=3)
    out, is_masked = masker.apply(x)
    assert is_masked.dtype == torch.bool and 0 < is_masked.sum() < len(x)
    changed = (out != x).flatten(1).any(1)
    assert torch.equal(changed, is_masked), "exactly the chosen images change"
    cov = masker.coverage(32)
    assert cov.shape == (32, 32) and cov.max() <= 1
    diff = (out - x).abs().sum(1)[is_masked]  # (b, H, W)
    assert diff[:, cov == 0].max() == 0, "paint only where the mask covers"
    masked = RandomFaceMask(p=1.0, seed=3)
    u8 = faces.images
    full = masked.train()(x)
    rng = np.random.default_rng([3, 11, 0])  # the module's first step: who, then the colours
    rng.random(len(u8))
    seed = int(rng.integers(2**31))
    ref = to_float(draw_mask(u8, np.repeat(template(32)[None], len(u8), 0), seed=seed))
    torch.testing.assert_close(full, ref)
    assert torch.equal(masked.eval()(x), x)
