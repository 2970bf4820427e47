"""Intra- and inter-class distances of embeddings: how tight each identity is, how far apart.

Wen et al., "A Discriminative Feature Learning Approach for Deep Face Recognition", ECCV 2016
(Sec. 3): discriminative features need *compact* classes (small intra-class variation) and
*separate* classes (large inter-class distance); softmax alone secures only the second.

Lesson 02 measures what center loss does to the spread; lessons 08 and 11 compare students and
degraded faces by it.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["class_spread", "class_centres", "centre_similarity"]


def class_spread(embeddings, labels, normalize: bool = True) -> dict:
    """Per-class spread and distances between class centres.

    `embeddings` (N, D), `labels` (N,) int. With ``normalize=True`` (the default) embeddings are
    L2-normalized first, so distances are those cosine scores see (0 .. 2).

    Returns a dict:
      - ``classes`` (C,) the label of each row below;
      - ``intra`` (C,) each class's mean distance of its samples to the class mean (its centre);
      - ``centers`` (C, D) the class means;
      - ``nearest`` (C,) each centre's distance to the nearest other centre (inf for C = 1);
      - ``inter`` (P,) every pairwise centre distance, P = C(C-1)/2;
      - ``intra_mean``, ``inter_mean``, ``nearest_mean`` and ``ratio`` = intra_mean /
        nearest_mean (smaller = more discriminative), as floats.
    """
    e = embeddings if isinstance(embeddings, torch.Tensor) else torch.as_tensor(np.asarray(embeddings))
    e = e.detach().float().cpu()
    y = torch.as_tensor(np.asarray(labels)).long().reshape(-1)
    if e.ndim != 2 or len(e) != len(y):
        raise ValueError(f"class_spread: embeddings must be (N, D) with one label each; got "
                         f"{tuple(e.shape)} and {len(y)} labels")
    if not torch.isfinite(e).all():
        raise ValueError("class_spread: embeddings contain NaN or Inf")
    if normalize:
        e = F.normalize(e, dim=1)
    classes, inverse = torch.unique(y, return_inverse=True)  # (C,), (N,)
    c = len(classes)
    counts = torch.bincount(inverse, minlength=c).float()  # (C,)
    centers = torch.zeros(c, e.shape[1]).index_add_(0, inverse, e) / counts[:, None]  # (C, D)
    dist = (e - centers[inverse]).norm(dim=1)  # (N,) distance to own centre
    intra = torch.zeros(c).index_add_(0, inverse, dist) / counts  # (C,)
    between = torch.cdist(centers.double(), centers.double()).float()  # (C, C)
    upper = torch.ones(c, c, dtype=torch.bool).triu(1)
    inter = between[upper]  # (P,)
    nearest = (between + torch.diag(torch.full((c,), float("inf")))).min(dim=1).values  # (C,)
    out = {"classes": classes.numpy(), "intra": intra.numpy(), "centers": centers.numpy(),
           "nearest": nearest.numpy(), "inter": inter.numpy(),
           "intra_mean": float(intra.mean()),
           "inter_mean": float(inter.mean()) if c > 1 else float("nan"),
           "nearest_mean": float(nearest.mean()) if c > 1 else float("inf")}
    out["ratio"] = out["intra_mean"] / out["nearest_mean"] if c > 1 else 0.0
    return out


def class_centres(embeddings, labels, num_classes: int | None = None) -> torch.Tensor:
    """Unit class centres (C, D): the normalized mean of each class's L2-normalized embeddings
    (rows of classes with no sample are zero). Labels < 0 are ignored; C = max label + 1."""
    e = F.normalize(torch.as_tensor(embeddings).detach().float(), dim=1)  # (N, D)
    y = torch.as_tensor(np.asarray(labels)).long().reshape(-1).to(e.device)
    if e.ndim != 2 or len(e) != len(y):
        raise ValueError(f"class_centres: embeddings must be (N, D) with one label each; "
                         f"got {tuple(e.shape)} and {len(y)} labels")
    known = y >= 0
    c = num_classes if num_classes is not None else (int(y.max()) + 1 if known.any() else 0)
    sums = torch.zeros(c, e.shape[1], device=e.device).index_add_(0, y[known], e[known])  # (C, D)
    return F.normalize(sums, dim=1)


def centre_similarity(embeddings, labels) -> torch.Tensor:
    """cos θ (N,) between each normalized embedding and its class centre (`class_centres`,
    the sample itself included). Low values mark likely label noise: a cleaning rule keeps
    ``centre_similarity(...) >= threshold``. Samples with a label < 0 get NaN."""
    e = F.normalize(torch.as_tensor(embeddings).detach().float(), dim=1)  # (N, D)
    y = torch.as_tensor(np.asarray(labels)).long().reshape(-1).to(e.device)
    centres = class_centres(e, y)  # (C, D)
    cos = (e * centres[y.clamp_min(0)]).sum(1)  # (N,)
    return torch.where(y >= 0, cos, torch.full_like(cos, float("nan")))
