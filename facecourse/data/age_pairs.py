"""Exhaustive age-aware pairs: every cross-age pair, every pair within an age-gap band.

`make_cross_age_pairs` samples a CALFW-style protocol (a fixed number of pairs, balanced folds).
A lesson that wants its figures to be stable wants *every* trial of the test identities
instead: all young-vs-old pairs (Zheng, Deng, Hu, "Cross-Age LFW: A Database for Studying
Cross-Age Face Recognition in Unconstrained Environments", arXiv:1708.08197, defines the
protocol; here the groups are young = age <= `young`, old = age >= `old`, as in
`make_cross_age_pairs`), or all pairs whose age gap lies in a band, to draw verification
accuracy against the age gap (AgeDB-30 reports a 30-year gap: Moschoglou et al., "AgeDB: the
first manually collected, in-the-wild age database", CVPRW 2017).

Ages are the data set's ``meta["age"]`` on its own scale (synthetic faces: 0 child .. 1 old).
Folds: each pair takes the fold of image a's identity (identities dealt into `folds` folds at
random), so matched pairs of one person never straddle folds; k-fold accuracy then chooses
its threshold on other people. Taught in lesson 06 (Siamese fine-tuning for cross-age faces).
"""
from __future__ import annotations

import numpy as np

from .dataset import FaceDataset
from .pairs import Pairs

__all__ = ["all_cross_age_pairs", "all_age_gap_pairs", "lag_pairs", "young_adult_split"]


def _ages(dataset: FaceDataset) -> np.ndarray:
    if "age" not in dataset.meta:
        raise ValueError(f"age pairs need per-image ages in dataset.meta['age']; this data set has "
                         f"{sorted(dataset.meta)} (synthetic faces have ages; real sets need labels)")
    return np.asarray(dataset.meta["age"], dtype=np.float64)


def _fold_of_identity(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    ids = np.unique(labels)
    fold = dict(zip(np.random.default_rng([seed, 61]).permutation(ids).tolist(),
                    np.arange(len(ids)) % folds))
    return np.array([fold[int(c)] for c in labels], np.int64)  # (N,)


def _collect(dataset, keep_row, folds: int, seed: int, what: str) -> Pairs:
    """Pairs (i, j) for which `keep_row(i, js)` keeps j, over all rows i (chunked: O(N) memory
    per row)."""
    labels = dataset.labels.numpy()
    image_fold = _fold_of_identity(labels, folds, seed)
    a, b = [], []
    for i in range(len(labels)):
        js = keep_row(i)
        if js.size:
            a.append(np.full(js.size, i, np.int64)), b.append(js.astype(np.int64))
    if not a:
        raise ValueError(f"{what}: no pair of images qualifies; widen the age groups or the band")
    a, b = np.concatenate(a), np.concatenate(b)
    issame = labels[a] == labels[b]
    if issame.all() or not issame.any():
        raise ValueError(f"{what}: the pairs are all {'matched' if issame.all() else 'mismatched'};"
                         " verification needs both (more identities, or wider age groups)")
    return Pairs(a, b, issame, image_fold[a])


def all_cross_age_pairs(dataset: FaceDataset, young: float = 0.35, old: float = 0.65,
                        folds: int = 10, seed: int = 0) -> Pairs:
    """Every (young, old) pair of images: a has age <= `young`, b has age >= `old`.

    Matched pairs are the same person at two ages; mismatched pairs cross the same age gap, so
    only identity differs between the two kinds (the CALFW design, arXiv:1708.08197).
    """
    if young >= old:
        raise ValueError(f"all_cross_age_pairs: young={young} must be below old={old}")
    age = _ages(dataset)
    olds = np.flatnonzero(age >= old)
    return _collect(dataset, lambda i: olds if age[i] <= young else olds[:0], folds, seed,
                    "all_cross_age_pairs")


def all_age_gap_pairs(dataset: FaceDataset, min_gap: float = 0.0, max_gap: float = np.inf,
                      folds: int = 10, seed: int = 0) -> Pairs:
    """Every unordered pair i < j whose age gap |age_i - age_j| lies in [min_gap, max_gap).

    ``max_gap=0.1`` gives same-age pairs; a sequence of bands draws accuracy against the gap.
    """
    if not 0 <= min_gap < max_gap:
        raise ValueError(f"all_age_gap_pairs: need 0 <= min_gap < max_gap, got {min_gap}, {max_gap}")
    age = _ages(dataset)

    def row(i):
        gap = np.abs(age[i + 1:] - age[i])  # pairs with j > i only
        return i + 1 + np.flatnonzero((gap >= min_gap) & (gap < max_gap))

    return _collect(dataset, row, folds, seed, "all_age_gap_pairs")


# The seed report's cross-age protocol on real faces (LAG: meta["young"] marks the y/ photos).

def _young_adult(dataset: FaceDataset, people, what: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(young (N,) bool, labels (N,), the label ids of `people` with young AND adult images)."""
    if "young" not in dataset.meta:
        raise ValueError(f"{what}: the data set has no meta['young'] (it has {sorted(dataset.meta)}); "
                         "load LAG with facecourse.data.load_lag")
    young, labels = np.asarray(dataset.meta["young"], bool), dataset.labels.numpy()
    if people is None:
        ids = range(dataset.num_classes)
    else:
        index = {n: i for i, n in enumerate(dataset.identity_names)}
        missing = [p for p in people if p not in index]
        if missing:
            raise ValueError(f"{what}: {len(missing)} of the people asked for are not in the data set, "
                             f"e.g. {missing[0]!r}")
        ids = sorted(index[p] for p in people)
    both = [int(c) for c in ids if (young & (labels == c)).any() and (~young & (labels == c)).any()]
    return young, labels, both


def young_adult_split(dataset: FaceDataset, people=None) -> tuple[np.ndarray, np.ndarray]:
    """(probe indices, gallery indices) for Rank-1 across age: the young images of `people`
    (names; None: everyone) as probes, their adult images as the gallery. People without both
    a young and an adult image are left out (a probe needs its identity in the gallery)."""
    young, labels, ids = _young_adult(dataset, people, "young_adult_split")
    mine = np.isin(labels, ids)
    return np.flatnonzero(mine & young), np.flatnonzero(mine & ~young)


def lag_pairs(dataset: FaceDataset, people=None, seed: int = 0, folds: int = 10) -> Pairs:
    """Cross-age verification pairs (the seed report's protocol on LAG), image a young and
    image b adult in every pair: matched = every (young, adult) pair of one person, mismatched
    = young of one person with adult of another, as many as matched in each of `folds`
    identity-disjoint folds (people dealt at random by `seed`; all mismatched pairs of a fold
    when it has fewer). `people`: names (None: everyone with young and adult images)."""
    young, labels, ids = _young_adult(dataset, people, "lag_pairs")
    if len(ids) < 2 * folds:
        raise ValueError(f"lag_pairs: {len(ids)} people with young and adult images are too few for "
                         f"{folds} identity-disjoint folds (need {2 * folds}: two per fold)")
    rng = np.random.default_rng([seed, 19])
    order = rng.permutation(ids)
    rows = []  # (a, b, issame, fold)
    for k in range(folds):
        members = order[k::folds]
        ys = {c: np.flatnonzero(young & (labels == c)) for c in members}
        ad = {c: np.flatnonzero(~young & (labels == c)) for c in members}
        pos = [(a, b) for c in members for a in ys[c] for b in ad[c]]
        neg = np.array([(a, b) for c in members for d in members if d != c for a in ys[c] for b in ad[d]])
        pick = neg[np.sort(rng.choice(len(neg), min(len(pos), len(neg)), replace=False))]
        rows += [(a, b, True, k) for a, b in pos] + [(a, b, False, k) for a, b in pick]
    a, b, same, fold = (np.array(c) for c in zip(*rows))
    return Pairs(a, b, same, fold)
