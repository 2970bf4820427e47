"""Input checks shared by the metrics: finite scores, matching shapes, both classes present."""
from __future__ import annotations

import numpy as np
import torch


def to_numpy(x, name: str, dtype=None) -> np.ndarray:
    """A tensor, list or array as a 1-D or 2-D NumPy array (detached, on the CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        x = x.numpy()
    x = np.asarray(x)
    if dtype is not None:
        x = x.astype(dtype, copy=False)
    return x


def check_finite(values: np.ndarray, name: str) -> None:
    """Raise a ValueError that says how many entries of `name` are NaN/Inf and where."""
    bad = ~np.isfinite(values)
    if bad.any():
        where = np.flatnonzero(bad)
        shown = ", ".join(str(i) for i in where[:5]) + (", ..." if where.size > 5 else "")
        n_nan = int(np.isnan(values).sum())
        raise ValueError(
            f"{name} contains {where.size} non-finite value(s) ({n_nan} NaN, "
            f"{where.size - n_nan} Inf) at index {shown}; check the embeddings "
            f"(a diverged model or a zero-norm embedding gives NaN) before computing metrics"
        )


def check_scores(scores, issame, need_both: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Validate verification inputs and return (scores float64 (P,), issame bool (P,))."""
    scores = to_numpy(scores, "scores", np.float64).reshape(-1)
    issame = to_numpy(issame, "issame")
    if issame.dtype != bool:
        if not np.isin(issame, (0, 1)).all():
            raise ValueError("issame must be boolean (or 0/1): True for a genuine pair")
        issame = issame.astype(bool)
    issame = issame.reshape(-1)
    if scores.shape != issame.shape:
        raise ValueError(
            f"scores has {scores.size} entries but issame has {issame.size}; "
            "pass one score per pair"
        )
    if scores.size == 0:
        raise ValueError("scores is empty: there are no pairs to evaluate")
    check_finite(scores, "scores")
    if need_both:
        n_gen = int(issame.sum())
        if n_gen == 0 or n_gen == issame.size:
            kind = "genuine" if n_gen else "impostor"
            raise ValueError(
                f"all {issame.size} pairs are {kind}: ROC, AUC, EER and TAR@FAR need both "
                "genuine (issame=True) and impostor (issame=False) pairs"
            )
    return scores, issame
