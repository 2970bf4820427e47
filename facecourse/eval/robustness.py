"""Verification under degraded probes: a clean gallery against changed copies of its images.

The robustness lessons (10: masks, 11: resolution, JPEG, illumination) ask one question: how
much does TAR at a fixed FAR fall when the *probe* photo is worse than the enrolled one? A test
set of N images gives the gallery (the images as they are) and the probes (each image changed:
masked, compressed, ...). `gallery_probe_scores` scores every gallery image i against every
probe j != j's own source, so an image is never compared with its own changed copy;
`degradation_curves` sweeps a degradation over levels for several models at once.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from .embeddings import all_pairs_scores, embed
from .verification import FARResolutionWarning, roc

PROTOCOLS = ("probe", "both")


def gallery_probe_scores(gallery, probe, labels, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine scores and issame of every ordered pair (gallery i, probe j), i != j.

    gallery, probe: embeddings (N, D) of the same N images, clean and changed (row j of
    `probe` is a changed copy of image j); labels (N,). N images give N(N-1) pairs (each
    unordered pair twice, once per direction). Pair order: row-major over i, j skipping j = i.
    """
    g, p = (F.normalize(torch.as_tensor(np.asarray(e)).float(), dim=1) for e in (gallery, probe))
    y = torch.as_tensor(np.asarray(labels)).reshape(-1)
    if g.ndim != 2 or g.shape != p.shape or y.shape != (g.shape[0],):
        raise ValueError(f"gallery_probe_scores: gallery and probe must be (N, D) embeddings of the "
                         f"same N images with N labels, got {tuple(g.shape)}, {tuple(p.shape)} and "
                         f"{tuple(y.shape)}")
    if len(g) < 2:
        raise ValueError("gallery_probe_scores needs at least two images")
    scores, issame = [], []
    for i in range(0, len(g), chunk):
        sim = g[i:i + chunk] @ p.T  # (c, N)
        off = torch.ones_like(sim, dtype=torch.bool)
        rows = torch.arange(sim.shape[0])
        off[rows, rows + i] = False  # not image i against its own changed copy
        scores.append(sim[off])
        issame.append((y[i:i + chunk, None] == y[None])[off])
    return torch.cat(scores), torch.cat(issame)


def degradation_curves(backbones: dict, images: torch.Tensor, labels, degrade, levels,
                       far: float = 1e-3, protocol: str = "probe") -> dict:
    """TAR at `far` and AUC of each model as a degradation grows: ``{name: {"tar": (L,),
    "auc": (L,)}}`` for the L `levels`.

    backbones: {name: backbone}; images: uint8 (N, 3, H, W) of identities none of the models
    saw, labels (N,); ``degrade(images, level) -> images`` (uint8, same shape), e.g.
    ``lambda x, q: jpeg(x, q)``; a level of None means "no change".
    protocol "probe": clean gallery against degraded probes (`gallery_probe_scores`), the
    enrolment-photo case; "both": all pairs of degraded images (`all_pairs_scores`).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"degradation_curves: protocol must be one of {PROTOCOLS}, got {protocol!r}")
    labels = torch.as_tensor(np.asarray(labels))
    gallery = {name: embed(model, images) for name, model in backbones.items()} \
        if protocol == "probe" else {}
    out = {name: {"tar": np.zeros(len(levels)), "auc": np.zeros(len(levels))} for name in backbones}
    for k, level in enumerate(levels):
        changed = images if level is None else degrade(images, level)  # (N, 3, H, W) uint8
        for name, model in backbones.items():
            e = embed(model, changed)  # (N, D)
            if protocol == "probe":
                scores, issame = gallery_probe_scores(gallery[name], e, labels)
            else:
                scores, issame = all_pairs_scores(e, labels)
            out[name]["tar"][k], out[name]["auc"][k] = _tar_and_auc(scores.numpy(), issame.numpy(), far)
    return out


def _tar_and_auc(scores: np.ndarray, issame: np.ndarray, far: float) -> tuple[float, float]:
    """`tar_at_far` and `auc` from one ROC (one sort of millions of scores, not two)."""
    fpr, tpr, _ = roc(scores, issame)
    if far * int((~issame).sum()) < 1.0:
        warnings.warn(f"FAR={far:g} is below the resolution of {int((~issame).sum())} impostor pairs; "
                      "reporting the TAR at FAR=0", FARResolutionWarning, stacklevel=3)
    return float(tpr[np.flatnonzero(fpr <= far)[-1]]), float(np.trapezoid(tpr, fpr))
