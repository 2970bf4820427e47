"""The seed report's cross-age protocol on real faces (LAG): Rank-1 young -> adult, ROC/AUC,
TAR@FAR=1e-2 (lesson 06's "Table 1 on real cross-age faces", the LFW track's LAG figures).

Protocol (after the seed report, which used CALFW): on the test people only, matched pairs are
every (young, adult) image pair of one person, mismatched pairs the young image of one person
with an adult image of another, as many as matched, in 10 identity-disjoint folds
(`facecourse.data.lag_pairs`); Rank-1 takes every young image as a probe against a gallery of
the adult images of all test people (`facecourse.data.young_adult_split`).
"""
from __future__ import annotations

import numpy as np

from .embeddings import embed, pair_scores
from .identification import identification
from .verification import verification_metrics


def cross_age_metrics(embeddings, dataset, people=None, seed: int = 0, folds: int = 10) -> dict:
    """The protocol's figures from precomputed embeddings (N, D) of `dataset` (a LAG dataset:
    `meta["young"]`). `people`: the test people (names; None = everyone).

    Returns rank1, auc, tar@far=1e-2 (and the other `verification_metrics`), n_pairs, n_probes,
    n_gallery, plus `scores`/`issame`/`pairs` for ROC plots and hardest-pair strips."""
    from facecourse.data import lag_pairs, young_adult_split
    pairs = lag_pairs(dataset, people, seed=seed, folds=folds)
    scores = pair_scores(embeddings, pairs).numpy()
    out = verification_metrics(scores, pairs.issame, folds=pairs.fold)
    probe, gallery = young_adult_split(dataset, people)
    labels = dataset.labels.numpy()
    ident = identification(embeddings[probe], labels[probe], embeddings[gallery], labels[gallery],
                           ks=(1, 5))
    out.update(rank1=ident["rank@1"], rank5=ident["rank@5"], n_pairs=len(pairs),
               n_probes=int(len(probe)), n_gallery=int(len(gallery)),
               n_people=int(len(np.unique(labels[probe]))), scores=scores,
               issame=pairs.issame, pairs=pairs)
    return out


def evaluate_cross_age(backbone, dataset, people=None, seed: int = 0, flip: bool = True,
                       batch_size: int = 256, device=None) -> dict:
    """Embed `dataset` with `backbone` (flip averaging, as in eval) and run the protocol."""
    return cross_age_metrics(embed(backbone, dataset, batch_size=batch_size, flip=flip,
                                   device=device), dataset, people, seed)


def hardest_pairs(result: dict, k: int = 6) -> dict:
    """The k matched pairs that score lowest (the same person looks like a stranger across
    age) and the k mismatched pairs that score highest: {"matched": (a, b), "mismatched": ...}
    index arrays into the dataset, for a strip of pictures."""
    pairs, scores, same = result["pairs"], np.asarray(result["scores"]), np.asarray(result["issame"])
    pos, neg = np.flatnonzero(same), np.flatnonzero(~same)
    worst_pos = pos[np.argsort(scores[pos])[:k]]
    worst_neg = neg[np.argsort(-scores[neg])[:k]]
    return {"matched": (pairs.a[worst_pos], pairs.b[worst_pos]),
            "mismatched": (pairs.a[worst_neg], pairs.b[worst_neg])}


__all__ = ["cross_age_metrics", "evaluate_cross_age", "hardest_pairs"]
