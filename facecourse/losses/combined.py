"""The combined margin cos(m1·θ + m2) - m3 of ArcFace."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import MarginHead, angle, register_head


@register_head("combined")
class CombinedMarginHead(MarginHead):
    """Combined margin: target logit s·(cos(m1·θ_y + m2) - m3) (Deng et al. 2019, "ArcFace:
    Additive Angular Margin Loss for Deep Face Recognition", arXiv:1801.07698, Eq. (4)).

    Symbols: m1 -> ``m1`` (SphereFace's multiplicative), m2 -> ``m2`` (ArcFace's additive
    angular), m3 -> ``m3`` (CosFace's additive cosine), s -> ``s``. insightface's setting is
    (m1, m2, m3) = (1.0, 0.3, 0.2), s = 64. Where m1·θ + m2 > π the logit continues as
    cos θ - m2·sin(m2) - m3, as for ArcFace: with m1 = 1 this head equals ArcFace (m3 = 0) and
    CosFace (m2 = 0) exactly; with m1 > 1 the continuation is not monotonic (use m1 = 1).
    """

    def __init__(self, embedding_dim: int, num_classes: int, s: float = 64.0,
                 m1: float = 1.0, m2: float = 0.3, m3: float = 0.2):
        super().__init__(embedding_dim, num_classes, s=s)
        if m1 < 1.0:
            raise ValueError(f"combined head: m1 must be >= 1 (a multiplicative angular margin), got {m1}")
        self.m1, self.m2, self.m3 = m1, m2, m3

    def target_logit(self, cos_theta: Tensor) -> Tensor:
        margin_angle = self.m1 * angle(cos_theta) + self.m2  # m1·θ + m2
        fallback = cos_theta - self.m2 * math.sin(self.m2)
        return torch.where(margin_angle <= math.pi, torch.cos(margin_angle), fallback) - self.m3  # Eq. (4)
