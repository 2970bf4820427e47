import dataclasses

import numpy as np
import pytest
import torch

from facecourse.data import FactorRanges, SyntheticFaces, split_by_identity
from facecourse.data.synthetic import ID_PARAMS, identity_spread, sample_identity_params


@pytest.fixture(scope="module")
def small():
    return SyntheticFaces(6, 4, image_size=32, seed=3)


def test_shapes_labels_meta(small):
    assert small.images.shape == (24, 3, 32, 32) and small.images.dtype == torch.uint8
    assert small.labels.tolist() == [i for i in range(6) for _ in range(4)]
    assert small.num_classes == 6 and len(small.identity_names) == 6
    assert small.identity_params.shape == (6, len(ID_PARAMS))
    for key in ("age", "yaw", "pitch", "roll", "light_azimuth", "expression", "mask", "glasses",
                "resolution", "jpeg_quality", "noise"):
        assert small.meta[key].shape == (24,), key
    assert small.landmarks.shape == (24, 5, 2)
    x, y = small[5]
    assert x.dtype == torch.float32 and x.shape == (3, 32, 32) and y == 1
    assert -1.0 <= x.min() and x.max() <= 1.0
    torch.testing.assert_close(x, small.images[5].float() / 127.5 - 1)


def test_deterministic_and_shared_across_sizes(small):
    again = SyntheticFaces(6, 4, image_size=32, seed=3)
    assert torch.equal(again.images, small.images)
    bigger = SyntheticFaces(8, 6, image_size=32, seed=3)  # same identities, more images
    idx = [i * 6 + j for i in range(6) for j in range(4)]
    assert torch.equal(bigger.images[idx], small.images)
    np.testing.assert_array_equal(bigger.identity_params[:6], small.identity_params)
    other = SyntheticFaces(6, 4, image_size=32, seed=4)
    assert not torch.equal(other.images, small.images)


def test_first_identity_gives_disjoint_regenerable_sets():
    a = SyntheticFaces(4, 2, image_size=32, seed=0)
    b = SyntheticFaces(2, 2, image_size=32, seed=0, first_identity=2)
    assert torch.equal(a.images[4:], b.images)
    assert set(b.meta["identity"]) == {2, 3}


def test_difficulty_moves_identities_closer_and_nuisance_stronger():
    p_easy = sample_identity_params(range(50), 0, 0.0)
    p_hard = sample_identity_params(range(50), 0, 1.0)
    np.testing.assert_allclose(p_hard, p_easy * identity_spread(1.0) / identity_spread(0.0), rtol=1e-6)
    easy, hard = FactorRanges.for_difficulty(0.0), FactorRanges.for_difficulty(1.0)
    assert hard.yaw[1] > easy.yaw[1] and hard.noise[1] > easy.noise[1]
    assert hard.resolution[0] < easy.resolution[0] and hard.jpeg_quality[0] < easy.jpeg_quality[0]
    mid, default = dataclasses.asdict(FactorRanges.for_difficulty(0.5)), dataclasses.asdict(FactorRanges())
    for key in default:  # difficulty 0.5 gives the documented defaults
        np.testing.assert_allclose(mid[key], default[key], err_msg=key)


def test_factor_ranges_are_respected():
    ds = SyntheticFaces(3, 20, image_size=32, factors={"age": (0.9, 1.0), "yaw": (10, 20), "mask_prob": 1.0})
    assert ds.meta["age"].min() >= 0.9 and ds.meta["yaw"].min() >= 10 and ds.meta["yaw"].max() <= 20
    assert ds.meta["mask"].all()
    fixed = FactorRanges(glasses_prob=0.0, jpeg_prob=0.0)
    ds2 = SyntheticFaces(2, 10, image_size=32, factors=fixed)
    assert not ds2.meta["glasses"].any() and (ds2.meta["jpeg_quality"] == 0).all()


def test_factors_change_pixels_where_expected():
    base = dict(glasses_prob=0.0, jpeg_prob=0.0, noise=(0.0, 0.0), blur=(0.0, 0.0), resolution=(1.0, 1.0))
    plain = SyntheticFaces(2, 3, image_size=48, factors=base)
    masked = SyntheticFaces(2, 3, image_size=48, factors={**base, "mask_prob": 1.0})
    diff = (plain.images.float() - masked.images.float()).abs().sum(1)  # (N, H, W)
    lm = plain.landmarks
    for i in range(len(plain)):  # a mask changes the mouth, never the eyes
        (ex, ey), (mx, my) = lm[i, 0].round().astype(int), lm[i, 3].round().astype(int)
        assert diff[i, my, mx] > 30 and diff[i, ey, ex] == 0


def test_landmarks_follow_pose():
    frontal = SyntheticFaces(1, 1, image_size=64, factors=FactorRanges(yaw=(0, 0), pitch=(0, 0), roll=(0, 0),
                                                                       shift=0.0, scale=(1, 1)))
    turned = SyntheticFaces(1, 1, image_size=64, factors=FactorRanges(yaw=(30, 30), pitch=(0, 0), roll=(0, 0),
                                                                      shift=0.0, scale=(1, 1)))
    f, t = frontal.landmarks[0], turned.landmarks[0]
    assert abs(f[0, 0] + f[1, 0] - 63) < 0.5  # a frontal face is symmetric about the centre
    assert t[2, 0] > f[2, 0] + 3  # the nose tip moves with yaw
    assert (t[1, 0] - t[0, 0]) < (f[1, 0] - f[0, 0])  # eyes foreshorten


def test_split_by_identity_is_open_set():
    ds = SyntheticFaces(10, 2, image_size=32)
    train, test = split_by_identity(ds, 0.3, seed=1)
    assert len(train) + len(test) == len(ds) and test.num_classes == 3
    assert not set(train.identity_names) & set(test.identity_names)
    assert test.labels.max() == 2 and train.labels.max() == 6  # renumbered
    assert test.identity_params.shape == (3, len(ID_PARAMS))


@pytest.mark.parametrize("kwargs, message", [
    (dict(difficulty=1.5), "difficulty must be in [0, 1]"),
    (dict(factors={"agee": (0, 1)}), "unknown factor(s) ['agee']"),
    (dict(image_size=8), "image_size >= 16"),
])
def test_errors(kwargs, message):
    with pytest.raises(ValueError) as e:
        SyntheticFaces(2, 2, **kwargs)
    assert message in str(e.value)


def test_factor_ranges_is_a_dataclass():
    assert {f.name for f in dataclasses.fields(FactorRanges)} >= {"age", "yaw", "mask_prob", "jpeg_quality"}


def test_render_batch_age_sweep_changes_geometry():
    from facecourse.data.synthetic import image_uniforms, render_batch, sample_factors
    params = sample_identity_params([5] * 3, 0, 0.5)
    u = image_uniforms(0, [5] * 3, [0] * 3)
    still = FactorRanges(yaw=(0, 0), pitch=(0, 0), roll=(0, 0), shift=0.0, scale=(1, 1), expression=(0, 0))
    f = sample_factors(u, still)
    f["age"] = np.array([0.0, 0.5, 1.0])
    images, lm = render_batch(params, f, u, 64)
    assert images.shape == (3, 3, 64, 64) and lm.shape == (3, 5, 2)
    assert lm[0, 0, 1] > lm[1, 0, 1] + 1  # a child's eyes sit lower in the face
    assert (lm[0, 1, 0] - lm[0, 0, 0]) == pytest.approx(lm[1, 1, 0] - lm[1, 0, 0], abs=0.5)  # spacing is identity
    assert not torch.equal(images[1], images[2])  # old age shows (wrinkles, grey hair)
