"""CBAM attention, and a wrapper that adds it to any course backbone (A-SKD distils its maps).

Taught in lesson 08 (attention distillation).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .outputs import BackboneOutput


class CBAM(nn.Module):
    """Convolutional Block Attention Module (Woo et al. 2018, "CBAM: Convolutional Block
    Attention Module", ECCV 2018, arXiv:1807.06521, Eqs. (1)-(3)): channel, then spatial.

        M_c(F) = σ(MLP(AvgPool(F)) + MLP(MaxPool(F)))          (B, C, 1, 1)   Eq. (2)
        M_s(F') = σ(conv_k([AvgPool_c(F'); MaxPool_c(F')]))      (B, 1, H, W)   Eq. (3)
        F' = M_c(F) ⊗ F,  F'' = M_s(F') ⊗ F'                                    Eq. (1)

    Symbols: r -> ``reduction`` (16; the hidden width is at least 4), the k x k conv ->
    ``kernel_size`` (7). `forward_with_maps` returns the maps *before* the sigmoid as well
    (A-SKD, arXiv:2209.14498, distils these, as its code does); the last forward's maps are
    also kept, detached, in ``channel_logits`` / ``spatial_logits`` for plots
    (``channel_attention`` / ``spatial_attention`` in [0, 1]); switching train/eval clears them.
    """

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7):
        super().__init__()
        hidden = max(4, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(),
                                 nn.Conv2d(hidden, channels, 1, bias=False))
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.channel_logits: Tensor | None = None
        self.spatial_logits: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_with_maps(x)[0]

    def forward_with_maps(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(refined features, channel map, spatial map), the maps before the sigmoid."""
        avg, mx = x.mean((2, 3), keepdim=True), x.amax((2, 3), keepdim=True)  # (B, C, 1, 1)
        channel = self.mlp(avg) + self.mlp(mx)  # Eq. (2) before σ
        x = x * torch.sigmoid(channel)
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)  # (B, 2, H, W)
        spatial = self.conv(pooled)  # Eq. (3) before σ
        # kept for plots (cbam_attention); losses get the maps returned, never read these
        self.channel_logits, self.spatial_logits = channel.detach(), spatial.detach()
        return x * torch.sigmoid(spatial), channel, spatial  # Eq. (1)

    @property
    def channel_attention(self) -> Tensor | None:
        return None if self.channel_logits is None else torch.sigmoid(self.channel_logits)

    @property
    def spatial_attention(self) -> Tensor | None:
        return None if self.spatial_logits is None else torch.sigmoid(self.spatial_logits)

    def train(self, mode: bool = True):
        self.channel_logits = self.spatial_logits = None
        return super().train(mode)


def _stage_ends(body: nn.Sequential) -> dict[int, int]:
    """{index of the last layer of each stride-2 stage: its channels}, from a probe forward
    (the body is fully convolutional, so any input size works; 64 px leaves 4 stages >= 4x4)."""
    ends, strided = {}, False
    was = body.training
    body.eval()
    x = torch.zeros(2, 3, 64, 64, device=next(body.parameters()).device)
    with torch.no_grad():
        for i, layer in enumerate(body):
            y = layer(x)
            if y.shape[-1] < x.shape[-1]:  # a new resolution starts at layer i
                if strided:
                    ends[i - 1] = x.shape[1]
                strided = True
            x = y
    body.train(was)
    if strided:
        ends[len(body) - 1] = x.shape[1]
    return ends


class CBAMBackbone(nn.Module):
    """A course backbone (``body`` + ``neck``, as every registered one) with a `CBAM` after each
    of its stride-2 stages (A-SKD puts one in every residual block; one per stage is enough
    for the course's small nets). Maps images (B, 3, H, W) to embeddings like the original;
    ``attention()`` lists the last forward's maps, one (channel, spatial) pair per stage."""

    def __init__(self, backbone: nn.Module, reduction: int = 16, kernel_size: int = 7):
        super().__init__()
        if not isinstance(getattr(backbone, "body", None), nn.Sequential) or not hasattr(backbone, "neck"):
            raise TypeError(f"CBAMBackbone needs a backbone with an nn.Sequential `body` and a "
                            f"`neck` (create_backbone's), got {type(backbone).__name__}")
        ends = _stage_ends(backbone.body)
        layers = []
        for i, layer in enumerate(backbone.body):
            layers.append(layer)
            if i in ends:
                layers.append(CBAM(ends[i], reduction, kernel_size))
        self.body, self.neck = nn.Sequential(*layers), backbone.neck

    def forward(self, images: Tensor):
        """Embeddings (B, D); in training a `BackboneOutput` whose extras["attention"] lists
        each CBAM's (channel, spatial) maps before the sigmoid (what A-SKD distils)."""
        embeddings, maps = self.forward_with_attention(images)
        return BackboneOutput(embeddings, {"attention": maps}) if self.training else embeddings

    def forward_with_attention(self, images: Tensor) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
        """(embeddings (B, D), [(channel (B, C, 1, 1), spatial (B, 1, H, W))] per CBAM), in
        any mode: the teacher's maps for `AttentionSimilarityLoss`."""
        x, maps = images, []
        for layer in self.body:
            if isinstance(layer, CBAM):
                x, channel, spatial = layer.forward_with_maps(x)
                maps.append((channel, spatial))
            else:
                x = layer(x)
        return self.neck(x), maps  # (B, embedding_dim)

    def attention(self, logits: bool = False) -> list[tuple[Tensor, Tensor]]:
        return cbam_attention(self, logits)


def cbam_attention(module: nn.Module, logits: bool = False) -> list[tuple[Tensor, Tensor]]:
    """(channel (B, C, 1, 1), spatial (B, 1, H, W)) maps of every `CBAM` inside `module`, in
    order, from its last forward: in [0, 1], or before the sigmoid with ``logits=True``."""
    out = []
    for m in module.modules():
        if isinstance(m, CBAM) and m.channel_logits is not None:
            out.append((m.channel_logits, m.spatial_logits) if logits
                       else (m.channel_attention, m.spatial_attention))
    return out
