"""Batch samplers whose order is a pure function of (seed, epoch): random, P x K, pairs.

Each sampler cuts an epoch into GLOBAL batches (the same for any number of processes) and
hands this process its slice: rank r of W gets rows [r*B/W, (r+1)*B/W) of every batch. That
is what makes a resumed run exact, and a run resumable with a different world size: the
position in the data is just (epoch, step in the epoch).

They are `torch.utils.data.Sampler`s meant for `DataLoader(batch_sampler=...)`; `fit` also
cuts in-memory tensors with them directly (no per-image Python calls).

Lesson 05 trains with the P x K sampler; lesson 06 with the cross-age pair sampler.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Sampler


class _EpochBatches(Sampler):
    """Base: subclasses build one epoch's global batches in `global_batches(rng)`."""

    def __init__(self, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1):
        if batch_size % world_size:
            raise ValueError(f"batch_size={batch_size} does not split over world_size="
                             f"{world_size} processes: use a multiple of {world_size}")
        self.batch_size, self.seed = batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch (it seeds the order) and the first step to yield (for resuming)."""
        self.epoch, self.start = epoch, start

    def global_batches(self, rng: np.random.Generator) -> list:
        raise TypeError(f"{type(self).__name__} must define global_batches(rng)")

    def __iter__(self):
        batches = self.global_batches(np.random.default_rng([self.seed, self.epoch]))
        per_rank = self.batch_size // self.world_size
        lo = self.rank * per_rank
        for batch in batches[self.start:]:
            yield list(batch[lo:lo + per_rank])

    def __len__(self) -> int:  # steps in one full epoch
        return self.steps_per_epoch


class RandomBatchSampler(_EpochBatches):
    """Shuffle all `num_samples` images each epoch and cut full batches (the last is dropped)."""

    def __init__(self, num_samples: int, batch_size: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1):
        super().__init__(batch_size, seed, rank, world_size)
        if num_samples < batch_size:
            raise ValueError(f"the data set has {num_samples} images, fewer than one "
                             f"batch_size={batch_size}: lower batch_size")
        self.num_samples = num_samples
        self.steps_per_epoch = num_samples // batch_size

    def global_batches(self, rng):
        perm = rng.permutation(self.num_samples)[: self.steps_per_epoch * self.batch_size]
        return perm.reshape(self.steps_per_epoch, self.batch_size).tolist()


class PKBatchSampler(_EpochBatches):
    """P identities x K images per batch (FaceNet's triplet batches, arXiv:1503.03832).

    Batches are identity-major (K images of one identity side by side), so each process's
    slice holds P/W whole identities. An identity with fewer than K images is sampled with
    replacement; identities with a single image are never chosen (no positive).
    """

    def __init__(self, labels, P: int, K: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1):
        super().__init__(P * K, seed, rank, world_size)
        if P % world_size:
            raise ValueError(f"pk sampler: P={P} identities do not split over world_size="
                             f"{world_size}; use P divisible by {world_size}")
        labels = np.asarray(labels)
        self.P, self.K = P, K
        self.by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
        self.by_class = [idx for idx in self.by_class if len(idx) >= 2]
        if len(self.by_class) < P:
            raise ValueError(f"pk sampler: P={P} identities per batch but only "
                             f"{len(self.by_class)} identities have 2+ images; lower data.P")
        self.steps_per_epoch = max(1, len(labels) // (P * K))

    def global_batches(self, rng):
        batches, order = [], np.array([], dtype=np.int64)
        for _ in range(self.steps_per_epoch):
            if len(order) < self.P:  # walk through the identities in a shuffled order
                fresh = rng.permutation(len(self.by_class))
                order = np.concatenate([order, fresh[~np.isin(fresh, order)]])  # no repeats
            chosen, order = order[: self.P], order[self.P:]
            batch = []
            for c in chosen:
                idx = self.by_class[c]
                pick = rng.choice(idx, self.K, replace=len(idx) < self.K)
                batch.extend(pick.tolist())
            batches.append(batch)
        return batches


class PairBatchSampler(_EpochBatches):
    """Batches of (a, b) index pairs: a share `positive_fraction` same-identity, the rest not.

    With `ages` (one per image) and `min_age_gap`, positives are cross-age: the two images of
    a positive pair are at least `min_age_gap` apart (CACD / cross-age verification).
    One epoch has len(labels) // batch_size steps.
    """

    def __init__(self, labels, batch_size: int, positive_fraction: float = 0.5, ages=None,
                 min_age_gap: float = 0.0, seed: int = 0, rank: int = 0, world_size: int = 1):
        super().__init__(batch_size, seed, rank, world_size)
        self.labels = np.asarray(labels)
        self.num_pos = int(round(batch_size * positive_fraction))
        self.ages = None if ages is None else np.asarray(ages, dtype=np.float64)
        self.min_age_gap = min_age_gap
        self.by_class = [np.flatnonzero(self.labels == c) for c in np.unique(self.labels)]
        self.pos_classes = [i for i, idx in enumerate(self.by_class) if self._has_pair(idx)]
        if self.num_pos and not self.pos_classes:
            need = (f" with an age gap >= {min_age_gap} (ages here span {self.ages.min():g} .. "
                    f"{self.ages.max():g}; min_age_gap is on that scale)") if ages is not None else ""
            raise ValueError(f"pairs sampler: no identity has two images{need}; lower "
                             "data.min_age_gap or data.positive_fraction")
        if len(self.by_class) < 2:
            raise ValueError("pairs sampler: negatives need at least 2 identities")
        self.steps_per_epoch = max(1, len(self.labels) // batch_size)

    def _has_pair(self, idx) -> bool:
        if len(idx) < 2:
            return False
        if self.ages is None:
            return True
        a = self.ages[idx]
        return a.max() - a.min() >= self.min_age_gap

    def _positive(self, rng) -> tuple[int, int]:
        idx = self.by_class[self.pos_classes[rng.integers(len(self.pos_classes))]]
        if self.ages is None:
            a, b = rng.choice(idx, 2, replace=False)
            return int(a), int(b)
        while True:  # an anchor that has a partner far enough in age, then that partner
            a = idx[rng.integers(len(idx))]
            far = idx[np.abs(self.ages[idx] - self.ages[a]) >= self.min_age_gap]
            if len(far):
                return int(a), int(far[rng.integers(len(far))])

    def _negative(self, rng) -> tuple[int, int]:
        ca, cb = rng.choice(len(self.by_class), 2, replace=False)
        a, b = self.by_class[ca], self.by_class[cb]
        return int(a[rng.integers(len(a))]), int(b[rng.integers(len(b))])

    def global_batches(self, rng):
        batches = []
        for _ in range(self.steps_per_epoch):
            pairs = [self._positive(rng) for _ in range(self.num_pos)]
            pairs += [self._negative(rng) for _ in range(self.batch_size - self.num_pos)]
            order = rng.permutation(self.batch_size)  # mix positives and negatives over ranks
            batches.append([pairs[i] for i in order])
        return batches


class PairView(torch.utils.data.Dataset):
    """`dataset[(a, b)] -> (image_a, image_b, issame, label_a, label_b)` for a DataLoader."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __getitem__(self, pair):
        a, b = pair
        img_a, label_a = self.dataset[a]
        img_b, label_b = self.dataset[b]
        return img_a, img_b, label_a == label_b, label_a, label_b

    def __len__(self):
        return len(self.dataset)


def make_sampler(data_cfg, labels, batch_size: int, seed: int, rank: int = 0,
                 world_size: int = 1, ages=None) -> _EpochBatches:
    """The sampler named by `DataConfig.sampler` for a data set with these labels (and ages)."""
    labels = torch.as_tensor(labels).cpu().numpy()
    if data_cfg.sampler == "pairs" and data_cfg.cross_age and ages is None:
        raise ValueError("data.cross_age=True needs per-image ages: the data set's "
                         "meta['age']; use a data set with ages or set data.cross_age=false")
    if data_cfg.sampler == "pk":
        return PKBatchSampler(labels, data_cfg.P, data_cfg.K, seed, rank, world_size)
    if data_cfg.sampler == "pairs":
        return PairBatchSampler(labels, batch_size, data_cfg.positive_fraction,
                                ages if data_cfg.cross_age else None,
                                data_cfg.min_age_gap, seed, rank, world_size)
    return RandomBatchSampler(len(labels), batch_size, seed, rank, world_size)
