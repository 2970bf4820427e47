"""Contrastive loss on pairs: Hadsell et al.'s form and the seed report's form.

Taught in lesson 06 (Siamese fine-tuning for cross-age faces).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

FORMS = ("hadsell", "report")


class ContrastiveLoss(nn.Module):
    """Contrastive loss on Euclidean distances d = |a - b| (y = 1 for a same-identity pair).

    form="hadsell" (Hadsell, Chopra, LeCun 2006, "Dimensionality Reduction by Learning an
    Invariant Mapping", CVPR 2006, Eq. (4); their Y=0 is our similar pair):
        L = y·½d² + (1 - y)·½·max(0, m - d)²
    form="report" (the course's seed report, margin m = 2.5 on unnormalized embeddings):
        L = y·d² + (1 - y)·max(0, m - d)²
    Both average over pairs; they differ by the factor ½ only, so "report" has twice the
    gradient at the same m. m -> ``margin``. ``normalize=True`` L2-normalizes embeddings first
    (then d <= 2, so m must be < 2 to matter).

    Call with pairs ``loss(emb_a, emb_b, issame)`` or in-batch ``loss(embeddings, labels)``
    (every ordered pair i != j, the pairs pytorch-metric-learning's ``ContrastiveLoss`` uses).
    """

    def __init__(self, margin: float = 2.5, form: str = "report", distance: str = "euclidean", normalize: bool = False):
        super().__init__()
        if form not in FORMS:
            raise ValueError(f"ContrastiveLoss: unknown form {form!r}; choose one of: {', '.join(FORMS)}")
        if distance != "euclidean":
            raise ValueError(f"ContrastiveLoss: distance={distance!r} is not supported; use 'euclidean'")
        self.margin, self.form, self.normalize = margin, form, normalize

    def pair_losses(self, d: Tensor, issame: Tensor) -> Tensor:
        """Per-pair loss for distances d (P,) and issame (P,) bool."""
        half = 0.5 if self.form == "hadsell" else 1.0
        return half * torch.where(issame, d.pow(2), (self.margin - d).clamp_min(0).pow(2))

    def forward(self, a: Tensor, b: Tensor, issame: Tensor | None = None) -> Tensor:
        if self.normalize:
            a = F.normalize(a, dim=1)
        if issame is not None:  # pairs: a (P, D), b (P, D), issame (P,)
            if a.shape != b.shape or issame.shape != a.shape[:1]:
                raise ValueError(f"ContrastiveLoss(emb_a, emb_b, issame): expected (P, D), (P, D), (P,), "
                                 f"got {tuple(a.shape)}, {tuple(b.shape)}, {tuple(issame.shape)}")
            b = F.normalize(b, dim=1) if self.normalize else b
            return self.pair_losses((a - b).pow(2).sum(1).clamp_min(1e-12).sqrt(), issame.bool()).mean()
        if b.dim() != 1 or b.shape[0] != a.shape[0]:  # in-batch: a = embeddings (B, D), b = labels (B,)
            raise ValueError(f"ContrastiveLoss(embeddings, labels): expected (B, D) and (B,), got "
                             f"{tuple(a.shape)} and {tuple(b.shape)}; for pairs pass (emb_a, emb_b, issame)")
        i, j = torch.where(~torch.eye(len(b), dtype=torch.bool, device=b.device))  # ordered pairs i != j
        d = (a[i] - a[j]).pow(2).sum(1).clamp_min(1e-12).sqrt()  # (P,)
        return self.pair_losses(d, b[i] == b[j]).mean()
