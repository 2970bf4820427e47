"""Sub-center ArcFace.

Taught in lesson 09 (noisy labels: sub-centres absorb the noisy images).
"""
from __future__ import annotations

from torch import Tensor

from .arcface import ArcFaceHead
import torch

from .base import MarginHead, register_head


@register_head("subcenter_arcface")
class SubCenterArcFaceHead(ArcFaceHead):
    """Sub-center ArcFace: K centres per class, cos θ_j = max_k cos θ_{j,k}, then ArcFace (Deng et
    al. 2020, "Sub-center ArcFace: Boosting Face Recognition by Large-scale Noisy Web Faces",
    ECCV 2020, Eq. (2)).

    Symbols: K -> ``k`` (paper default 3), m -> ``m`` (0.5), s -> ``s`` (64). ``weight`` has
    C·K rows, class j's centres are rows j·K .. j·K + K-1 (pytorch-metric-learning's layout).
    Noisy samples gather at non-dominant sub-centres; ``dominant_centers()`` gives each class's
    most used one.
    """

    def __init__(self, embedding_dim: int, num_classes: int, s: float = 64.0, m: float = 0.5, k: int = 3,
                 easy_margin: bool = False):
        if k < 1:
            raise ValueError(f"subcenter_arcface: k (sub-centres per class) must be >= 1, got {k}")
        MarginHead.__init__(self, embedding_dim, num_classes, s=s, num_centers=k)  # weight (C*K, D)
        self.m, self.easy_margin, self.k = m, easy_margin, k

    def cosine(self, embeddings: Tensor, weight: Tensor) -> Tensor:
        cos_all = super().cosine(embeddings, weight)  # (B, C*K)
        return cos_all.view(cos_all.shape[0], -1, self.k).amax(dim=2)  # Eq. (2): (B, C)

    def dominant_centers(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """Index 0..K-1 of the sub-centre closest to each sample's own class (B,)."""
        cos_all = super().cosine(embeddings, self.weight).view(embeddings.shape[0], -1, self.k)
        return cos_all[torch.arange(len(labels)), labels].argmax(dim=1)
