import numpy as np
import pytest
import torch

from facecourse.data import FaceDataset, all_age_gap_pairs, all_cross_age_pairs


def fake(num_ids=12, per_id=5, seed=0):
    n = num_ids * per_id
    labels = np.repeat(np.arange(num_ids), per_id)
    age = np.random.default_rng(seed).random(n)
    return FaceDataset(torch.zeros(n, 3, 4, 4, dtype=torch.uint8), labels,
                       [f"p{i}" for i in range(num_ids)], {"age": age})


def test_cross_age_pairs_are_every_young_old_pair():
    ds = fake()
    age, labels = ds.meta["age"], ds.labels.numpy()
    p = all_cross_age_pairs(ds, young=0.3, old=0.7)
    naive = {(i, j) for i in range(len(ds)) for j in range(len(ds))
             if age[i] <= 0.3 and age[j] >= 0.7}  # naive recomputation
    assert set(zip(p.a.tolist(), p.b.tolist())) == naive and len(p) == len(naive)
    np.testing.assert_array_equal(p.issame, labels[p.a] == labels[p.b])
    assert p.issame.any() and (~p.issame).any()


def test_age_gap_band_and_folds_follow_identity_of_a():
    ds = fake()
    age, labels = ds.meta["age"], ds.labels.numpy()
    p = all_age_gap_pairs(ds, min_gap=0.1, max_gap=0.4, folds=4, seed=3)
    naive = {(i, j) for i in range(len(ds)) for j in range(i + 1, len(ds))
             if 0.1 <= abs(age[i] - age[j]) < 0.4}
    assert set(zip(p.a.tolist(), p.b.tolist())) == naive
    for c in np.unique(labels[p.a]):  # one fold per identity of image a
        assert len(np.unique(p.fold[labels[p.a] == c])) == 1
    assert set(p.fold.tolist()) <= set(range(4))
    q = all_age_gap_pairs(ds, min_gap=0.1, max_gap=0.4, folds=4, seed=3)
    np.testing.assert_array_equal(p.fold, q.fold)


def test_errors_name_the_problem():
    ds = fake()
    with pytest.raises(ValueError, match="young=0.7 must be below old=0.3"):
        all_cross_age_pairs(ds, young=0.7, old=0.3)
    with pytest.raises(ValueError, match="min_gap < max_gap"):
        all_age_gap_pairs(ds, min_gap=0.5, max_gap=0.2)
    with pytest.raises(ValueError, match="no pair of images qualifies"):
        all_cross_age_pairs(ds, young=-1.0, old=2.0)
    no_age = FaceDataset(torch.zeros(4, 3, 4, 4, dtype=torch.uint8), [0, 0, 1, 1], ["a", "b"], {})
    with pytest.raises(ValueError, match=r"meta\['age'\]"):
        all_age_gap_pairs(no_age)
    one = fake(num_ids=1, per_id=6)
    with pytest.raises(ValueError, match="all matched"):
        all_age_gap_pairs(one)
