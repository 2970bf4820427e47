"""Triplet loss with online mining inside the batch.

Taught in lesson 05 (FaceNet triplets).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MININGS = ("semi_hard", "batch_hard", "batch_all")


def squared_distances(embeddings: Tensor) -> Tensor:
    """|f(a) - f(b)|² (B, B) between L2-normalized embeddings: 2 - 2·cos."""
    e = F.normalize(embeddings, dim=1)
    return (2 - 2 * e @ e.t()).clamp_min(0)


class TripletLoss(nn.Module):
    """Triplet loss max(0, d(a,p) - d(a,n) + α) with d = squared L2 of normalized embeddings
    (Schroff et al. 2015, "FaceNet: A Unified Embedding for Face Recognition and Clustering",
    arXiv:1503.03832, Eq. (1)); α -> ``margin`` (FaceNet: 0.2).

    ``mining`` picks triplets inside the batch:
    - ``semi_hard`` (FaceNet Eq. (4)): every (a, p, n) with d(a,p) < d(a,n) < d(a,p) + α. Anchors
      with no semi-hard negative contribute nothing, as in pytorch-metric-learning's
      ``TripletMarginMiner(type_of_triplets="semihard")``. Mean over the mined triplets.
    - ``batch_all`` (Hermans et al. 2017, arXiv:1703.07737): all valid triplets, mean over those
      with a non-zero loss ("BA≠0").
    - ``batch_hard`` (Hermans et al.): per anchor the farthest positive and the nearest negative,
      mean over the anchors that have both.
    After each call ``active_fraction`` is the fraction of all valid triplets with a non-zero loss.
    """

    def __init__(self, margin: float = 0.2, mining: str = "semi_hard"):
        super().__init__()
        if mining not in MININGS:
            raise ValueError(f"TripletLoss: unknown mining {mining!r}; choose one of: {', '.join(MININGS)}")
        self.margin, self.mining = margin, mining
        self.active_fraction = 0.0

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        d = squared_distances(embeddings)  # (B, B)
        same = labels[:, None] == labels[None, :]  # (B, B)
        pos = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)  # (a, p)
        neg = ~same  # (a, n)
        valid = pos[:, :, None] & neg[:, None, :]  # (a, p, n)
        loss_apn = (d[:, :, None] - d[:, None, :] + self.margin).clamp_min(0)  # Eq. (1), (B, B, B)
        active = valid & (loss_apn > 0)
        self.active_fraction = float(active.sum() / valid.sum().clamp_min(1))
        if self.mining == "batch_hard":
            has_both = pos.any(1) & neg.any(1)  # (B,)
            hardest_pos = d.masked_fill(~pos, float("-inf")).amax(dim=1)  # (B,)
            hardest_neg = d.masked_fill(~neg, float("inf")).amin(dim=1)  # (B,)
            losses = (hardest_pos - hardest_neg + self.margin).clamp_min(0)[has_both]
            return losses.mean() if len(losses) else embeddings.sum() * 0
        if self.mining == "semi_hard":
            gap = d[:, None, :] - d[:, :, None]  # d(a,n) - d(a,p), (B, B, B)
            selected = valid & (gap > 0) & (gap < self.margin)  # Eq. (4)
        else:
            selected = active
        losses = loss_apn[selected]
        return losses.mean() if len(losses) else embeddings.sum() * 0
