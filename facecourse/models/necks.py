"""Necks: last feature map (B, C, h, w) -> embedding (B, embedding_dim), not normalized.

- ``gdc``: global depthwise convolution (MobileFaceNets, Chen et al. 2018, arXiv:1804.07573,
  Sec. 3.2): an h x w depthwise conv + BN weighs every position separately (face centre vs
  corners), then a linear layer and BN.
- ``gap``: global average pooling, linear, BN (every position weighted the same).
- ``flatten``: flatten C*h*w, linear, BN.
- ``bn_dropout_fc_bn``: BN -> Dropout -> flatten -> FC -> BN, the output layer "E" of ArcFace
  (Deng et al. 2019, arXiv:1801.07698, Sec. 3.2) and insightface's IResNet.
Dropout (``dropout``) is applied just before the linear layer in every neck.
"""
from __future__ import annotations

from torch import Tensor, nn

NECKS = ("gdc", "gap", "flatten", "bn_dropout_fc_bn")


class Neck(nn.Module):
    """Map a (B, C, h, w) feature map to (B, embedding_dim) embeddings; ``kind`` in ``NECKS``."""

    def __init__(self, kind: str, channels: int, feature_size: int, embedding_dim: int, dropout: float = 0.0):
        super().__init__()
        if kind not in NECKS:
            raise ValueError(f"unknown neck {kind!r}; choose one of: {', '.join(NECKS)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.kind = kind
        if kind == "gdc":
            self.pool = nn.Sequential(
                nn.Conv2d(channels, channels, feature_size, groups=channels, bias=False),  # (B, C, 1, 1)
                nn.BatchNorm2d(channels),
            )
            in_features = channels
        elif kind == "gap":
            self.pool = nn.AdaptiveAvgPool2d(1)  # (B, C, 1, 1)
            in_features = channels
        elif kind == "flatten":
            self.pool = nn.Identity()
            in_features = channels * feature_size * feature_size
        else:  # bn_dropout_fc_bn
            self.pool = nn.BatchNorm2d(channels)
            in_features = channels * feature_size * feature_size
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, embedding_dim, bias=False)
        self.bn = nn.BatchNorm1d(embedding_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(x).flatten(1)  # (B, C) or (B, C*h*w)
        return self.bn(self.fc(self.dropout(x)))  # (B, embedding_dim)
