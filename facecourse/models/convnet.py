"""A small plain CNN for the smoke profile and toy experiments (trains in seconds on CPU).

Three stages of [conv3x3 s2 -> BN -> PReLU -> conv3x3 -> BN -> PReLU] with 32/64/128 channels
(times ``width``), total stride 8: 32 px -> 4x4, 64 px -> 8x8, 112 px -> 14x14; then a neck.
Not from a paper: it is the "LeNet of face recognition" the first lessons train.
"""
from __future__ import annotations

from torch import Tensor, nn

from .necks import Neck
from .registry import feature_map_size, register_backbone, scaled_channels


def _stage(c_in: int, c_out: int) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.PReLU(c_out),
        nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.PReLU(c_out),
    ]


class ConvNet(nn.Module):
    def __init__(self, embedding_dim=512, image_size=64, width=1.0, neck="gdc", dropout=0.0, channels=(32, 64, 128)):
        super().__init__()
        if len(channels) < 1:
            raise ValueError("convnet: channels must list at least one stage width, e.g. (32, 64, 128)")
        layers, c = [], 3
        for channels_out in channels:
            layers += _stage(c, scaled_channels(channels_out, width))
            c = scaled_channels(channels_out, width)
        self.body = nn.Sequential(*layers)
        self.neck = Neck(neck, c, feature_map_size(image_size, len(channels), "convnet"), embedding_dim, dropout)

    def forward(self, images: Tensor) -> Tensor:
        return self.neck(self.body(images))  # (B, embedding_dim)


@register_backbone
def convnet(**kw) -> ConvNet:
    """Small plain CNN; ``channels`` gives one width per stride-2 stage (the depth knob)."""
    return ConvNet(**kw)
