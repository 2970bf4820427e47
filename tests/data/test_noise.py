"""add_label_noise: the requested rates exactly, flips to other classes, outliers from elsewhere."""
import numpy as np
import pytest
import torch

from facecourse.data import NOISE_KINDS, SyntheticFaces, add_label_noise, mask_coverage, template


@pytest.fixture(scope="module")
def faces():
    return SyntheticFaces(10, 6, image_size=16, seed=3)


@pytest.fixture(scope="module")
def outliers():
    return SyntheticFaces(4, 5, image_size=16, seed=3, first_identity=10_000)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.25, 0.5])
def test_closed_set_flips_hit_the_rate_and_change_the_class(faces, rate):
    noisy, is_noisy = add_label_noise(faces, closed_rate=rate, seed=1)
    n = len(faces)
    assert is_noisy.sum() == round(rate * n) and is_noisy.dtype == bool
    flipped = noisy.labels.numpy() != faces.labels.numpy()
    assert np.array_equal(flipped, is_noisy), "exactly the noisy images change label"
    assert (noisy.meta["noise"] == np.where(is_noisy, 1, 0)).all()
    assert np.array_equal(noisy.meta["clean_label"], faces.labels.numpy())
    assert torch.equal(noisy.images, faces.images), "a flip keeps the picture"
    assert noisy.labels.max() < faces.num_classes and noisy.num_classes == faces.num_classes


def test_open_set_outliers_come_from_identities_outside_the_set(faces, outliers):
    noisy, is_noisy = add_label_noise(faces, open_rate=0.2, outliers=outliers, seed=2)
    idx = np.flatnonzero(is_noisy)
    assert len(idx) == round(0.2 * len(faces))
    assert torch.equal(noisy.labels, faces.labels), "an outlier keeps the label of its slot"
    pick = noisy.meta["outlier_index"][idx]
    assert torch.equal(noisy.images[idx], outliers.images[pick])
    train_ids = set(faces.meta["identity"].tolist())
    assert not set(noisy.meta["identity"][idx].tolist()) & train_ids
    assert set(noisy.meta["identity"][idx].tolist()) <= set(outliers.meta["identity"].tolist())
    assert (noisy.meta["clean_label"][idx] == -1).all() and (noisy.meta["noise"][idx] == 2).all()
    clean = np.flatnonzero(~is_noisy)
    assert torch.equal(noisy.images[clean], faces.images[clean])
    assert np.allclose(noisy.landmarks[idx], outliers.landmarks[pick])


def test_both_kinds_are_disjoint_and_deterministic(faces, outliers):
    noisy, is_noisy = add_label_noise(faces, 0.2, 0.1, outliers, seed=5)
    kinds = noisy.meta["noise"]
    assert (kinds == 1).sum() == 12 and (kinds == 2).sum() == 6 and is_noisy.sum() == 18
    assert NOISE_KINDS == ("clean", "closed", "open")
    again, _ = add_label_noise(faces, 0.2, 0.1, outliers, seed=5)
    assert torch.equal(again.labels, noisy.labels) and torch.equal(again.images, noisy.images)
    other, _ = add_label_noise(faces, 0.2, 0.1, outliers, seed=6)
    assert not np.array_equal(other.meta["noise"], kinds)


def test_noise_errors_say_what_to_do(faces, outliers):
    with pytest.raises(ValueError, match="closed_rate \\+ open_rate = 1.2 > 1"):
        add_label_noise(faces, 0.7, 0.5, outliers)
    with pytest.raises(ValueError, match="open_rate > 0 needs `outliers`"):
        add_label_noise(faces, open_rate=0.1)
    with pytest.raises(ValueError, match="outlier identities are in the data set too"):
        add_label_noise(faces, open_rate=0.1, outliers=faces)
    with pytest.raises(ValueError, match="rates must be in \\[0, 1\\]"):
        add_label_noise(faces, closed_rate=-0.1)
    small = SyntheticFaces(2, 2, image_size=24, seed=3, first_identity=500)
    with pytest.raises(ValueError, match="make them the same size"):
        add_label_noise(faces, open_rate=0.1, outliers=small)


def test_mask_coverage_is_where_draw_mask_paints():
    cov = mask_coverage(template(64)[None], 64)  # (1, 64, 64)
    assert cov.shape == (1, 64, 64) and 0 <= cov.min() and cov.max() <= 1
    rows = cov[0].sum(1)
    assert rows[:24].sum() == 0 and rows[40:].sum() > 0, "below the eyes only"
