import numpy as np
import pytest
import torch

from facecourse.data import (FaceDataset, Pairs, make_cross_age_pairs, make_masked_pairs, make_pairs,
                             split_by_identity)


def fake(num_ids=40, per_id=6, **meta):
    n = num_ids * per_id
    labels = np.repeat(np.arange(num_ids), per_id)
    rng = np.random.default_rng(0)
    m = {"age": rng.random(n), "mask": rng.random(n) < 0.5, **meta}
    return FaceDataset(torch.zeros(n, 3, 4, 4, dtype=torch.uint8), labels, [f"p{i}" for i in range(num_ids)], m)


def test_make_pairs_balanced_identity_disjoint_folds():
    ds = fake()
    p = make_pairs(ds, num_pairs=400, seed=1, folds=10)
    labels = ds.labels.numpy()
    assert len(p) == 400 and p.num_folds == 10
    np.testing.assert_array_equal(p.issame, labels[p.a] == labels[p.b])  # naive recomputation
    for k in range(10):
        sel = p.fold == k
        assert p.issame[sel].sum() == 20 and (~p.issame[sel]).sum() == 20
        ids_k = set(labels[p.a[sel]]) | set(labels[p.b[sel]])
        others = set(labels[p.a[~sel]]) | set(labels[p.b[~sel]])
        assert not ids_k & others  # folds share no identity
    assert (p.a != p.b).all()
    assert len({(min(a, b), max(a, b)) for a, b in zip(p.a, p.b)}) == len(p)  # no duplicates
    q = make_pairs(ds, num_pairs=400, seed=1, folds=10)
    np.testing.assert_array_equal(p.a, q.a)


def test_cross_age_and_masked_groups():
    ds = fake()
    p = make_cross_age_pairs(ds, num_pairs=200, seed=0, young=0.4, old=0.6)
    age = ds.meta["age"]
    assert (age[p.a] <= 0.4).all() and (age[p.b] >= 0.6).all()
    m = make_masked_pairs(ds, num_pairs=200)
    assert (~ds.meta["mask"][m.a]).all() and ds.meta["mask"][m.b].all()
    assert m.issame.sum() == 100


def test_pairs_errors():
    with pytest.raises(ValueError, match="too few for 10 identity-disjoint folds"):
        make_pairs(fake(num_ids=12), 100)
    with pytest.raises(ValueError, match=r"cross_factor='pose' is not in dataset.meta"):
        make_pairs(fake(), 100, cross_factor="pose")
    ds = fake(mask=np.zeros(240, bool))
    with pytest.raises(ValueError, match="no identity with images in both groups"):
        make_masked_pairs(ds, 100)
    with pytest.raises(ValueError, match="allows only"):
        make_pairs(fake(num_ids=20, per_id=2), 2000, folds=2)
    with pytest.raises(ValueError, match="one entry per pair"):
        Pairs([0, 1], [1], [True], [0])
    with pytest.raises(ValueError, match=r"num_pairs=19 is too few for 10 folds \(need at least 20: one "
                                         r"matched and one mismatched pair in each fold\)"):
        make_pairs(fake(), 19)


def test_split_by_identity_errors_and_subset_renumbering():
    ds = fake(num_ids=5, per_id=2)
    with pytest.raises(ValueError, match="test_fraction must be in"):
        split_by_identity(ds, 1.5)
    with pytest.raises(ValueError, match="each side needs at least one identity"):
        split_by_identity(ds, 0.01)
    sub = ds.subset([8, 9, 2])
    assert sub.labels.tolist() == [1, 1, 0] and sub.identity_names == ["p1", "p4"]
    np.testing.assert_array_equal(sub.meta["age"], ds.meta["age"][[8, 9, 2]])
