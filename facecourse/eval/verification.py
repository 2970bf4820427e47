"""1:1 verification metrics: ROC, AUC, EER, TAR@FAR and the LFW 10-fold accuracy.

Convention used throughout: a higher score means "more likely the same person", and a pair is
accepted when ``score >= threshold``. Cosine similarity fits as is; for squared L2 distances
(FaceNet) `pair_scores(..., metric="sqeuclidean")` returns the *negative* distance, so the same
code and thresholds apply (a threshold of -1.1 means "accept when distance <= 1.1").

References:
  - Huang et al., "Labeled Faces in the Wild", UMass TR 07-49, 2007 (View 2: 10 folds).
  - Schroff et al., "FaceNet", arXiv:1503.03832 (VAL(d) = TA(d)/P_same, FAR(d) = FA(d)/P_diff).
  - Deng et al., "ArcFace", arXiv:1801.07698 (the insightface 10-fold evaluation).

Every lesson with a verification claim (00-06, 08-11) reads its figures off these functions.
"""
from __future__ import annotations

import warnings

import numpy as np

from ._checks import check_scores, to_numpy


class FARResolutionWarning(UserWarning):
    """A FAR below 1 / (number of impostor pairs) cannot be measured, only bounded."""


def roc(scores, issame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve ``(fpr, tpr, thresholds)`` with one point per distinct score.

    Matches ``sklearn.metrics.roc_curve(issame, scores, drop_intermediate=False)``: the first
    threshold is ``inf`` (accept nothing), tied scores move together (one point per distinct
    value), ``fpr`` = FAR = FA / impostor pairs, ``tpr`` = TAR = TA / genuine pairs.
    """
    scores, issame = check_scores(scores, issame)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], issame[order]  # (P,) descending
    last_of_value = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # end of each tie group
    tps = np.cumsum(y)[last_of_value]
    fps = last_of_value + 1 - tps
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return fpr, tpr, np.r_[np.inf, s[last_of_value]]


def auc(scores, issame) -> float:
    """Area under the ROC curve (trapezoids; ties count one half, as in roc_auc_score)."""
    fpr, tpr, _ = roc(scores, issame)
    return float(np.trapezoid(tpr, fpr))


def eer(scores, issame, return_threshold: bool = False):
    """Equal error rate: the FAR where FAR = FRR (= 1 - TAR), linearly interpolated on the ROC.

    With ``return_threshold=True`` returns ``(eer, threshold)``, the threshold being the ROC
    point on the crossing (the larger of the two neighbouring thresholds).
    """
    fpr, tpr, thr = roc(scores, issame)
    diff = (1.0 - tpr) - fpr  # FRR - FAR, decreasing from 1 to -1 along the curve
    j = int(np.argmax(diff <= 0))  # first point with FRR <= FAR
    i = max(j - 1, 0)
    d0, d1 = diff[i], diff[j]
    w = 0.0 if d0 == d1 else d0 / (d0 - d1)  # where the segment crosses FRR = FAR
    value = float(fpr[i] + w * (fpr[j] - fpr[i]))
    return (value, float(thr[j])) if return_threshold else value


def tar_at_far(scores, issame, far: float, return_threshold: bool = False):
    """TAR at a FAR no larger than `far` (FaceNet calls it VAL@FAR).

    The operating point is the highest TAR whose measured FAR is <= `far`; its threshold is
    returned with ``return_threshold=True``. When there are fewer than ``1 / far`` impostor
    pairs the smallest measurable non-zero FAR is ``1 / n_impostor`` > `far`, so the value is
    the TAR at FAR = 0 (threshold above every impostor score): it is reported, and a
    `FARResolutionWarning` says so. Use `all_pairs_scores` to get enough impostor pairs.
    """
    if not 0.0 < far <= 1.0:
        raise ValueError(f"far must be in (0, 1], got {far}")
    fpr, tpr, thr = roc(scores, issame)
    n_impostor = int((~to_numpy(issame, "issame").astype(bool)).sum())
    if far * n_impostor < 1.0:
        warnings.warn(
            f"FAR={far:g} is below the resolution 1/{n_impostor} of {n_impostor} impostor "
            "pairs; reporting the TAR at FAR=0. Use more impostor pairs "
            "(facecourse.eval.all_pairs_scores) for low-FAR numbers.",
            FARResolutionWarning,
            stacklevel=2,
        )
    j = int(np.flatnonzero(fpr <= far)[-1])  # tpr is non-decreasing: last point is best
    return (float(tpr[j]), float(thr[j])) if return_threshold else float(tpr[j])


val_at_far = tar_at_far  # FaceNet's name for the same quantity


def _fold_ids(folds, n: int) -> np.ndarray:
    if isinstance(folds, (int, np.integer)):
        if not 2 <= folds <= n:
            raise ValueError(f"folds must be between 2 and the number of pairs ({n}), got {folds}")
        return np.arange(n) * int(folds) // n  # contiguous, as LFW's pairs file is ordered
    fold = to_numpy(folds, "folds").reshape(-1)
    if fold.shape != (n,):
        raise ValueError(f"folds has {fold.size} fold ids but there are {n} pairs")
    if np.unique(fold).size < 2:
        raise ValueError("folds must contain at least two distinct fold ids")
    return fold


def _best_thresholds(s: np.ndarray, y: np.ndarray, train: np.ndarray, balanced: bool = False):
    """Best-accuracy threshold for each row of `train` (F, P), all at once.

    `s` is sorted ascending with labels `y`. Splitting before position i predicts "different"
    for s[:i] and "same" for s[i:]; accuracy(i) = (#impostors in s[:i] + #genuine in s[i:]) / n.
    Cumulative sums give it for every i with no loop over thresholds. `balanced` weighs each
    kind by one over its count (the mean of the two kinds' accuracies).
    """
    n_f, p = train.shape
    imp, gen = (train & ~y).astype(float), (train & y).astype(float)
    if balanced:
        imp /= np.maximum(imp.sum(1, keepdims=True), 1)
        gen /= np.maximum(gen.sum(1, keepdims=True), 1)
    imp_before = np.zeros((n_f, p + 1))
    gen_before = np.zeros((n_f, p + 1))
    np.cumsum(imp, axis=1, out=imp_before[:, 1:])  # (F, P+1)
    np.cumsum(gen, axis=1, out=gen_before[:, 1:])
    correct = imp_before + (gen_before[:, -1:] - gen_before)  # (F, P+1)
    valid = np.r_[True, s[1:] > s[:-1], True]  # split only between distinct scores
    correct[:, ~valid] = -1
    best = np.argmax(correct, axis=1)  # (F,) first (lowest) best split
    # The threshold sits midway between the nearest *training* scores around the split.
    below = np.maximum.accumulate(np.where(train, s, -np.inf), axis=1)  # (F, P)
    above = np.minimum.accumulate(np.where(train, s, np.inf)[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(n_f)
    low = np.where(best > 0, below[rows, np.maximum(best - 1, 0)], -np.inf)
    high = np.where(best < p, above[rows, np.minimum(best, p - 1)], np.inf)
    return np.where(np.isinf(low) | np.isinf(high), low + high, (low + high) / 2)  # ±inf ends


def kfold_accuracy(scores, issame, folds=10) -> tuple[float, float, np.ndarray]:
    """LFW / insightface k-fold accuracy: ``(mean, std, thresholds (F,))``.

    For each fold the threshold with the best accuracy on the *other* folds is applied to it
    (exact best over all distinct scores, midpoint between neighbouring training scores; -inf /
    inf when accepting / rejecting every training pair is best). `folds` is either the
    number of contiguous folds or one fold id per pair (e.g. `Pairs.fold`). `std` is the
    population standard deviation over folds (``np.std``, as insightface reports it).
    """
    scores, issame = check_scores(scores, issame, need_both=False)
    fold = _fold_ids(folds, scores.size)
    names = np.unique(fold)  # (F,)
    order = np.argsort(scores, kind="stable")  # sort once for all folds
    s, y, f = scores[order], issame[order], fold[order]
    thr = _best_thresholds(s, y, f[None, :] != names[:, None])  # (F,)
    accs = np.array([((scores[fold == k] >= t) == issame[fold == k]).mean()
                     for k, t in zip(names, thr)])
    return float(accs.mean()), float(accs.std()), thr


def best_threshold(scores, issame, balanced: bool = False) -> float:
    """The threshold with the best accuracy on these pairs (the lowest if several tie), midway
    between the neighbouring scores; -inf / inf when accepting / rejecting every pair is best.
    `balanced`: the best mean of the matched and the mismatched pairs' accuracies, as if there
    were as many of each."""
    scores, issame = check_scores(scores, issame, need_both=False)
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], issame[order]
    return float(_best_thresholds(s, y, np.ones((1, s.size), bool), balanced)[0])


def accuracy_at(scores, issame, threshold: float, balanced: bool = False) -> float:
    """Share of pairs decided right when accepting ``score >= threshold``; `balanced`: the
    mean of the matched and the mismatched pairs' shares."""
    scores, issame = check_scores(scores, issame, need_both=False)
    right = (scores >= threshold) == issame
    if balanced:
        return float(np.mean([right[k].mean() for k in (issame, ~issame) if k.any()]))
    return float(right.mean())


def far_key(far: float) -> str:
    """Dictionary key for a FAR: 1e-3 -> 'tar@far=1e-3', 0.25 -> 'tar@far=2.5e-1'."""
    mantissa, exponent = f"{far:.6e}".split("e")
    return f"tar@far={mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def verification_metrics(scores, issame, folds=None, fars=(1e-1, 1e-2, 1e-3, 1e-4)) -> dict:
    """Every verification number of the papers in one dict.

    Keys: ``n_pairs``, ``n_genuine``, ``n_impostor``, ``auc``, ``eer``, ``eer_threshold``,
    ``acc_mean``, ``acc_std``, ``threshold`` (mean of the fold thresholds), ``thresholds``,
    ``tar@far=1e-1`` ... and ``far_resolution`` = 1 / n_impostor: TAR values at a FAR below it
    are TAR at FAR=0 (see `tar_at_far`). `folds` defaults to 10 contiguous folds.
    """
    scores, issame = check_scores(scores, issame)
    n_imp = int((~issame).sum())
    acc_mean, acc_std, thr = kfold_accuracy(scores, issame, 10 if folds is None else folds)
    eer_value, eer_thr = eer(scores, issame, return_threshold=True)
    out = {
        "n_pairs": int(scores.size), "n_genuine": int(issame.sum()), "n_impostor": n_imp,
        "auc": auc(scores, issame), "eer": eer_value, "eer_threshold": eer_thr,
        "acc_mean": acc_mean, "acc_std": acc_std,
        "threshold": float(thr.mean()), "thresholds": [float(t) for t in thr],
        "far_resolution": 1.0 / n_imp,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FARResolutionWarning)  # flagged by far_resolution
        for far in fars:
            out[far_key(far)] = tar_at_far(scores, issame, far)
    return out
