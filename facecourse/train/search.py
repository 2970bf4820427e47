"""A small "comprehensive search" of a face-recognition recipe: the combined margin and a
data-cleaning threshold, tuned with optuna under a fixed budget (lesson 11).

Wang et al. 2020, "Loss Function Search for Face Recognition" (arXiv:2007.06542) and the
AutoML work it builds on search the margin function; the lesson's "comprehensive search" paper
also searches how the data are cleaned. This module searches, per trial,

    the combined margin cos(m1·θ + m2) - m3 and its scale s  (ArcFace, arXiv:1801.07698, Eq. (4))
    a cleaning threshold t: train only on images with centre_similarity >= t under a model
        trained before (`facecourse.eval.centre_similarity`)

with optuna's TPE sampler (Bergstra et al. 2011), seeded: the same seed, budget in trials and
data give the same trials. Every trial trains with `fit` (or the `train` function given, e.g.
`fit_cached`) and is scored on *held-out identities* (`score`, by default TAR at FAR=1e-3 over
all pairs). Compare the best setting with ArcFace's on a third, untouched set of identities.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .config import HeadConfig, TrainConfig


@dataclass
class SearchSpace:
    """Ranges of the searched values (uniform; s log-uniform)."""
    m1: tuple = (1.0, 1.3)  # SphereFace's multiplicative margin (1 = none; > 1.3 rarely trains)
    m2: tuple = (0.0, 0.5)  # ArcFace's additive angular margin (radians)
    m3: tuple = (0.0, 0.35)  # CosFace's additive cosine margin
    s: tuple = (8.0, 64.0)  # the scale
    threshold: tuple = (-0.2, 0.6)  # cleaning: keep images with centre similarity >= t


@dataclass
class MarginSearch:
    trials: list = field(default_factory=list)  # one dict per trial (params, kept, score, seconds)
    best: dict = field(default_factory=dict)  # the best trial's dict
    study: object = None  # the optuna Study (plots: optuna.visualization)


def verification_score(backbone, dataset, far: float = 1e-3) -> float:
    """TAR at `far` over all pairs of `dataset` (its identities unseen in training)."""
    from facecourse.eval import all_pairs_scores, embed, tar_at_far

    scores, issame = all_pairs_scores(embed(backbone, dataset), dataset.labels)
    return float(tar_at_far(scores.numpy(), issame.numpy(), far))


def search_combined_margin(cfg: TrainConfig, train_set, val_set, similarity=None, *,
                           n_trials: int = 20, timeout_s: float | None = None, seed: int = 0,
                           space: SearchSpace | None = None, score=verification_score,
                           train=None, quiet: bool = True) -> MarginSearch:
    """Search (m1, m2, m3, s) and, when `similarity` (N,) is given, the cleaning threshold t.

    cfg: the recipe each trial trains with (its head is replaced by the combined margin).
    similarity: each training image's cos to its class centre under an earlier model
        (`centre_similarity(embed(model, train_set), train_set.labels)`); None = no cleaning.
    n_trials / timeout_s: the budget (timeout_s stops after the trial running at that time,
        so the number of trials then depends on the machine; n_trials alone is reproducible).
    score(backbone, val_set) -> float, higher is better. train(cfg, data) -> a FitResult;
        default `fit` (pass `fit_cached` to reuse trials across runs).
    A trial whose training diverges scores -inf. Returns a `MarginSearch`.
    """
    import optuna

    from .fit import TrainingDiverged, fit

    space, train = space or SearchSpace(), train or fit
    if quiet:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    if similarity is not None:
        similarity = np.asarray(similarity, dtype=np.float64)
        if similarity.shape != (len(train_set),):
            raise ValueError(f"search_combined_margin: similarity must have one value per training "
                             f"image ({len(train_set)}), got shape {similarity.shape}")
    rows = []

    def objective(trial) -> float:
        t0 = time.perf_counter()
        p = {"m1": trial.suggest_float("m1", *space.m1), "m2": trial.suggest_float("m2", *space.m2),
             "m3": trial.suggest_float("m3", *space.m3),
             "s": trial.suggest_float("s", *space.s, log=True)}
        data, kept = train_set, 1.0
        if similarity is not None:
            p["threshold"] = trial.suggest_float("threshold", *space.threshold)
            keep = np.flatnonzero(similarity >= p["threshold"])
            data, kept = train_set.subset(keep), len(keep) / len(train_set)
        head = HeadConfig(name="combined", s=p["s"], m1=p["m1"], m2=p["m2"], m3=p["m3"])
        try:
            value = score(train(dataclasses.replace(cfg, head=head), data).backbone, val_set)
        except TrainingDiverged:
            value = -math.inf
        rows.append({"trial": trial.number, **p, "kept": kept, "score": value,
                     "seconds": round(time.perf_counter() - t0, 2)})
        return value

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials, timeout=timeout_s)
    best = max(rows, key=lambda r: r["score"]) if rows else {}
    return MarginSearch(rows, best, study)
