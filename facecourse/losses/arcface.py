"""ArcFace / Additive Angular Margin Loss."""
from __future__ import annotations

from torch import Tensor

from .base import MarginHead, arcface_target, register_head


@register_head("arcface")
class ArcFaceHead(MarginHead):
    """ArcFace: target logit s·cos(θ_y + m) (Deng et al. 2019, "ArcFace: Additive Angular Margin
    Loss for Deep Face Recognition", arXiv:1801.07698, Eq. (3)).

    Symbols: m -> ``m`` (the additive angular margin, m2 of the combined margin, radians),
    s -> ``s``. Paper defaults s = 64, m = 0.5. When θ + m > π the curve is continued by
    cos θ - m·sin(m) (see ``base.arcface_target``); ``easy_margin=True`` uses the margin only
    for θ < π/2 instead.
    """

    def __init__(self, embedding_dim: int, num_classes: int, s: float = 64.0, m: float = 0.5,
                 easy_margin: bool = False):
        super().__init__(embedding_dim, num_classes, s=s)
        self.m, self.easy_margin = m, easy_margin

    def target_logit(self, cos_theta: Tensor) -> Tensor:
        return arcface_target(cos_theta, self.m, self.easy_margin)  # Eq. (3)
