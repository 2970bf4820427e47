"""Samplers: order from (seed, epoch), rank shards that add up to the global batch, P x K, pairs."""
import numpy as np
import pytest
import torch

from facecourse.train import PairBatchSampler, PairView, PKBatchSampler, RandomBatchSampler
from facecourse.train.config import DataConfig
from facecourse.train.samplers import make_sampler


def test_random_is_a_permutation_fixed_by_seed_and_epoch():
    s = RandomBatchSampler(50, 8, seed=3)
    s.set_epoch(0)
    a = list(s)
    assert len(a) == len(s) == 6 and all(len(b) == 8 for b in a)
    flat = sum(a, [])
    assert len(set(flat)) == 48 and set(flat) <= set(range(50))  # no repeats, last dropped
    s.set_epoch(0)
    assert list(s) == a
    s.set_epoch(1)
    assert list(s) != a
    s.set_epoch(0, start=4)
    assert list(s) == a[4:]  # resuming inside an epoch


def test_ranks_split_every_global_batch():
    full = RandomBatchSampler(40, 8, seed=1)
    full.set_epoch(2)
    shards = []
    for rank in range(2):
        s = RandomBatchSampler(40, 8, seed=1, rank=rank, world_size=2)
        s.set_epoch(2)
        shards.append(list(s))
    assert [a + b for a, b in zip(*shards)] == list(full)
    with pytest.raises(ValueError, match="batch_size=8 does not split over world_size=3"):
        RandomBatchSampler(40, 8, world_size=3)
    with pytest.raises(ValueError, match="has 5 images, fewer than one batch_size=8"):
        RandomBatchSampler(5, 8)


def test_pk_batches_hold_p_identities_times_k():
    labels = np.repeat(np.arange(10), [1, 2, 3, 5, 5, 5, 5, 5, 5, 5])  # class 0 has 1 image
    s = PKBatchSampler(labels, P=4, K=3, seed=0)
    s.set_epoch(0)
    batches = list(s)
    assert len(batches) == len(labels) // 12
    for b in batches:
        lab = labels[b].reshape(4, 3)  # identity-major
        assert (lab == lab[:, :1]).all() and len(set(lab[:, 0])) == 4 and 0 not in lab
    half = PKBatchSampler(labels, P=4, K=3, seed=0, rank=1, world_size=2)
    half.set_epoch(0)
    assert [b[6:] for b in batches] == list(half)  # rank 1: the last 2 identities
    with pytest.raises(ValueError, match="only 9 identities have 2\\+ images; lower data.P"):
        PKBatchSampler(labels, P=10, K=2)
    with pytest.raises(ValueError, match="P=3 identities do not split over world_size=2"):
        PKBatchSampler(labels, P=3, K=2, world_size=2)


def test_pairs_positive_share_and_cross_age_gap():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(6), 10)
    ages = rng.uniform(10, 70, len(labels))
    s = PairBatchSampler(labels, 20, positive_fraction=0.25, ages=ages, min_age_gap=20, seed=5)
    s.set_epoch(0)
    pairs = [p for b in s for p in b]
    same = np.array([labels[a] == labels[b] for a, b in pairs])
    assert len(pairs) == 3 * 20 and same.sum() == 3 * 5  # 25 % positives each batch
    gaps = np.array([abs(ages[a] - ages[b]) for a, b in pairs])[same]
    assert (gaps >= 20).all()
    assert all(a != b for a, b in pairs)
    with pytest.raises(ValueError, match="with an age gap >= 100"):
        PairBatchSampler(labels, 20, ages=ages, min_age_gap=100)
    with pytest.raises(ValueError, match="data.cross_age=True needs per-image ages"):
        make_sampler(DataConfig(sampler="pairs", cross_age=True), labels, 20, 0)


def test_pair_view_yields_both_images_and_issame():
    images = torch.arange(4.0).view(4, 1)
    ds = torch.utils.data.TensorDataset(images, torch.tensor([0, 0, 1, 1]))
    a, b, issame, la, lb = PairView(ds)[(1, 2)]
    assert a.item() == 1 and b.item() == 2 and not issame and (la, lb) == (0, 1)
    assert PairView(ds)[(0, 1)][2]
