"""Verification pairs and open-set splits: `Pairs`, `make_pairs`, `split_by_identity`.

Folds follow LFW's View 2: 10 folds whose identities are disjoint, each with as many matched as
mismatched pairs, so 10-fold accuracy picks its threshold on 9 folds and tests on unseen people.
Cross-factor protocols (CALFW-style cross-age, masked-vs-unmasked) draw image a from group A
and image b from group B for matched and mismatched pairs alike, so only the factor differs.

Lessons 03 and 09 draw their verification pairs here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dataset import FaceDataset


@dataclass
class Pairs:
    """Pairs of images of one dataset: indices `a`, `b` (P,) int64, `issame` (P,) bool, `fold` (P,)."""
    a: np.ndarray
    b: np.ndarray
    issame: np.ndarray
    fold: np.ndarray

    def __post_init__(self):
        self.a, self.b = np.asarray(self.a, np.int64), np.asarray(self.b, np.int64)
        self.issame, self.fold = np.asarray(self.issame, bool), np.asarray(self.fold, np.int64)
        if not len(self.a) == len(self.b) == len(self.issame) == len(self.fold):
            raise ValueError(f"Pairs: a, b, issame and fold must have one entry per pair, got lengths "
                             f"{len(self.a)}, {len(self.b)}, {len(self.issame)}, {len(self.fold)}.")

    def __len__(self) -> int:
        return len(self.a)

    @property
    def num_folds(self) -> int:
        return int(self.fold.max()) + 1 if len(self.fold) else 0

    def select(self, mask) -> "Pairs":
        """The pairs where `mask` (P,) is true (or at the given indices)."""
        return Pairs(self.a[mask], self.b[mask], self.issame[mask], self.fold[mask])

    def __repr__(self) -> str:
        return (f"Pairs({len(self)} pairs, {int(self.issame.sum())} matched, "
                f"{self.num_folds} folds)")


def split_by_identity(dataset: FaceDataset, test_fraction: float = 0.2, seed: int = 0):
    """Open-set split: (train, test) FaceDatasets whose identities are disjoint."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"split_by_identity: test_fraction must be in (0, 1), got {test_fraction}.")
    labels = dataset.labels.numpy()
    ids = np.unique(labels[labels >= 0])
    n_test = int(round(len(ids) * test_fraction))
    if n_test < 1 or n_test >= len(ids):
        raise ValueError(f"split_by_identity: {len(ids)} identities cannot be split with test_fraction="
                         f"{test_fraction}; each side needs at least one identity.")
    test_ids = np.random.default_rng([seed, 55]).permutation(ids)[:n_test]
    is_test = np.isin(labels, test_ids)
    return dataset.subset(np.flatnonzero(~is_test & (labels >= 0))), dataset.subset(np.flatnonzero(is_test))


def _groups(dataset: FaceDataset, cross_factor: str | None, thresholds) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (N,) of the images allowed as image a and as image b."""
    n = len(dataset)
    if cross_factor is None:
        return np.ones(n, bool), np.ones(n, bool)
    if cross_factor not in dataset.meta:
        raise ValueError(f"make_pairs: cross_factor={cross_factor!r} is not in dataset.meta "
                         f"(it has {sorted(dataset.meta)}); pick one of those.")
    x = dataset.meta[cross_factor]
    if x.dtype == bool:
        return ~x, x
    lo, hi = thresholds if thresholds is not None else (0.35, 0.65)
    return x <= lo, x >= hi


def make_pairs(dataset: FaceDataset, num_pairs: int = 6000, seed: int = 0, folds: int = 10,
               cross_factor: str | None = None, thresholds: tuple | None = None) -> Pairs:
    """Matched and mismatched pairs in `folds` identity-disjoint folds (half matched in each).

    cross_factor: None, or a `meta` key: image a comes from the "low" group and image b from the
        "high" group. Boolean factors (e.g. "mask"): a unmasked, b masked. Numeric factors
        (e.g. "age"): a has value <= thresholds[0], b >= thresholds[1] (default (0.35, 0.65)).
    """
    if folds < 1 or num_pairs < 2 * folds:
        raise ValueError(f"make_pairs: num_pairs={num_pairs} is too few for {folds} folds (need at least "
                         f"{2 * folds}: one matched and one mismatched pair in each fold).")
    labels = dataset.labels.numpy()
    in_a, in_b = _groups(dataset, cross_factor, thresholds)
    rng = np.random.default_rng([seed, 77])
    ids = np.unique(labels[labels >= 0])
    if len(ids) < 2 * folds:
        raise ValueError(f"make_pairs: {len(ids)} identities are too few for {folds} identity-disjoint "
                         f"folds (need at least {2 * folds}); lower `folds` or use more identities.")
    fold_of = dict(zip(rng.permutation(ids).tolist(), np.arange(len(ids)) % folds))
    by_id_a = {i: np.flatnonzero((labels == i) & in_a) for i in ids}
    by_id_b = {i: np.flatnonzero((labels == i) & in_b) for i in ids}
    per_fold = num_pairs // folds
    rows = []
    for k in range(folds):
        members = [i for i in ids if fold_of[int(i)] == k]
        pos_ids = [i for i in members if len(by_id_a[i]) and len(by_id_b[i])
                   and len(np.union1d(by_id_a[i], by_id_b[i])) >= 2]
        neg_a = [i for i in members if len(by_id_a[i])]
        neg_b = [i for i in members if len(by_id_b[i])]
        if not pos_ids or not neg_a or not neg_b or len(set(neg_a) | set(neg_b)) < 2:
            raise ValueError(f"make_pairs: fold {k} has no identity with images in both groups of "
                             f"cross_factor={cross_factor!r}; widen the factor's range or add images.")
        seen = set()
        n_pos = per_fold - per_fold // 2
        for want_same, count in ((True, n_pos), (False, per_fold // 2)):
            made, tries = 0, 0
            while made < count and tries < 50 * count + 100:
                tries += 1
                if want_same:
                    i = pos_ids[rng.integers(len(pos_ids))]
                    a, b = rng.choice(by_id_a[i]), rng.choice(by_id_b[i])
                else:
                    i, j = neg_a[rng.integers(len(neg_a))], neg_b[rng.integers(len(neg_b))]
                    if i == j:
                        continue
                    a, b = rng.choice(by_id_a[i]), rng.choice(by_id_b[j])
                key = (min(a, b), max(a, b))
                if a == b or key in seen:
                    continue
                seen.add(key)
                rows.append((a, b, want_same, k))
                made += 1
            if made < count:
                raise ValueError(f"make_pairs: fold {k} allows only {made} distinct "
                                 f"{'matched' if want_same else 'mismatched'} pairs, {count} asked; "
                                 "ask for fewer pairs or use more images per identity.")
    a, b, same, fold = (np.array(c) for c in zip(*rows))
    return Pairs(a, b, same, fold)


def make_cross_age_pairs(dataset: FaceDataset, num_pairs: int = 6000, seed: int = 0, folds: int = 10,
                         young: float = 0.35, old: float = 0.65) -> Pairs:
    """CALFW-style pairs: image a young (age <= young), image b old (age >= old)."""
    return make_pairs(dataset, num_pairs, seed, folds, cross_factor="age", thresholds=(young, old))


def make_masked_pairs(dataset: FaceDataset, num_pairs: int = 6000, seed: int = 0, folds: int = 10) -> Pairs:
    """Masked-face pairs: image a unmasked (gallery), image b masked (probe)."""
    return make_pairs(dataset, num_pairs, seed, folds, cross_factor="mask")
