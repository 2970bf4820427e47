"""MobileFaceNet (Chen et al. 2018, "MobileFaceNets: Efficient CNNs for Accurate Real-Time Face
Verification on Mobile Devices", arXiv:1804.07573), Table 1:

    conv3x3 s2 64 -> depthwise 3x3 64 -> bottlenecks (t, c, n, s) = (2, 64, 5, 2), (4, 128, 1, 2),
    (2, 128, 6, 1), (4, 128, 1, 2), (2, 128, 2, 1) -> conv1x1 512 -> neck (GDC in the paper).

PReLU everywhere (Sec. 3.3). ``width`` multiplies every channel count, ``blocks`` replaces the
n column (depth). Total stride 16: 112 px -> 7x7, 64 px -> 4x4 feature map.
"""
from __future__ import annotations

from torch import Tensor, nn

from .necks import Neck
from .registry import feature_map_size, register_backbone, scaled_channels

# (expansion t, channels c, stride s) of each bottleneck stage; n is ``blocks``.
STAGES = ((2, 64, 2), (4, 128, 2), (2, 128, 1), (4, 128, 2), (2, 128, 1))
BLOCKS = (5, 1, 6, 1, 2)


def conv_bn(c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    if act:
        layers.append(nn.PReLU(c_out))
    return nn.Sequential(*layers)


class Bottleneck(nn.Module):
    """Inverted residual (MobileNetV2): 1x1 expand -> 3x3 depthwise -> 1x1 linear projection."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int):
        super().__init__()
        hidden = c_in * expansion
        self.residual = stride == 1 and c_in == c_out
        self.body = nn.Sequential(
            conv_bn(c_in, hidden),
            conv_bn(hidden, hidden, 3, stride, groups=hidden),
            conv_bn(hidden, c_out, act=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x) if self.residual else self.body(x)


class MobileFaceNet(nn.Module):
    def __init__(self, embedding_dim=512, image_size=112, width=1.0, neck="gdc", dropout=0.0, blocks=BLOCKS):
        super().__init__()
        if len(blocks) != len(STAGES) or min(blocks) < 1:
            raise ValueError(f"mobilefacenet: blocks must be {len(STAGES)} positive ints (default {BLOCKS}), got {blocks}")
        c = scaled_channels(64, width)
        layers = [conv_bn(3, c, 3, 2), conv_bn(c, c, 3, 1, groups=c)]
        for (t, c_out, s), n in zip(STAGES, blocks):
            c_out = scaled_channels(c_out, width)
            for i in range(n):
                layers.append(Bottleneck(c, c_out, s if i == 0 else 1, t))
                c = c_out
        c_last = scaled_channels(512, width)
        layers.append(conv_bn(c, c_last))
        self.body = nn.Sequential(*layers)
        self.neck = Neck(neck, c_last, feature_map_size(image_size, 4, "mobilefacenet"), embedding_dim, dropout)

    def forward(self, images: Tensor) -> Tensor:
        return self.neck(self.body(images))  # (B, embedding_dim)


@register_backbone
def mobilefacenet(**kw) -> MobileFaceNet:
    """MobileFaceNet with GDC (Chen et al. 2018, arXiv:1804.07573); ``blocks`` = n per stage."""
    return MobileFaceNet(**kw)
