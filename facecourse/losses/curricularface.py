"""CurricularFace: adaptive curriculum on hard negatives."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import MarginHead, arcface_target, register_head


@register_head("curricularface")
class CurricularFaceHead(MarginHead):
    """CurricularFace (Huang et al. 2020, "CurricularFace: Adaptive Curriculum Learning Loss for
    Deep Face Recognition", arXiv:2004.00288, Eqs. (7), (8), (10)).

    Target logit s·cos(θ_y + m) as ArcFace (Eq. (7)); a negative j is *hard* when
    cos θ_j > cos(θ_y + m) and its logit becomes s·cos θ_j·(t + cos θ_j) (Eq. (8)), easy ones
    keep s·cos θ_j. t starts at 0 and follows the mean target cosine r of each training batch,
    t <- α·r + (1 - α)·t (Eq. (10), α = ``momentum`` = 0.01): early on t ≈ 0 and hard negatives
    are down-weighted (easy samples first), later t grows and they are emphasised.
    Symbols: m -> ``m`` (0.5), s -> ``s`` (64), t -> buffer ``t``. Overrides
    ``non_target_logits`` as well as ``target_logit``.
    """

    def __init__(self, embedding_dim: int, num_classes: int, s: float = 64.0, m: float = 0.5, momentum: float = 0.01):
        super().__init__(embedding_dim, num_classes, s=s)
        self.m, self.momentum = m, momentum
        self.register_buffer("t", torch.zeros(()))

    def target_logit(self, cos_theta: Tensor) -> Tensor:
        return arcface_target(cos_theta, self.m)  # Eq. (7)

    def non_target_logits(self, cos_theta: Tensor, target: Tensor) -> Tensor:
        hard = cos_theta > target  # (B, C), compared with the margin-modified target (B, 1)
        return torch.where(hard, cos_theta * (self.t + cos_theta), cos_theta)  # Eq. (8)

    @classmethod
    def partial_fc_refusal(cls) -> str:
        return ("its hard negatives are compared with the target logit and its t follows the "
                "batch's target cosines, both known only on the rank that holds the class; use "
                "arcface under PartialFC, or curricularface without PartialFC")

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        if self.training:  # Eq. (10), a running statistic like BatchNorm's, updated before use
            e, w = F.normalize(embeddings.detach(), dim=1), F.normalize(self.weight.detach()[labels], dim=1)
            cos_target = (e * w).sum(dim=1)  # (B,)
            self.t = self.momentum * cos_target.mean() + (1 - self.momentum) * self.t
        return super().forward(embeddings, labels)
