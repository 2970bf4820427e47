"""CosFace / Large Margin Cosine Loss."""
from __future__ import annotations

from torch import Tensor

from .base import MarginHead, register_head


@register_head("cosface")
class CosFaceHead(MarginHead):
    """CosFace: target logit s·(cos θ_y - m) (Wang et al. 2018, "CosFace: Large Margin Cosine Loss
    for Deep Face Recognition", arXiv:1801.09414, Eq. (4)).

    Symbols: m -> ``m`` (the additive cosine margin, m3 of the combined margin), s -> ``s``.
    Paper defaults s = 64, m = 0.35.
    """

    def __init__(self, embedding_dim: int, num_classes: int, s: float = 64.0, m: float = 0.35):
        super().__init__(embedding_dim, num_classes, s=s)
        self.m = m

    def target_logit(self, cos_theta: Tensor) -> Tensor:
        return cos_theta - self.m  # Eq. (4)
