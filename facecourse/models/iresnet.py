"""IResNet, the "improved" ResNet of insightface used in ArcFace (Deng et al. 2019, "ArcFace:
Additive Angular Margin Loss for Deep Face Recognition", arXiv:1801.07698, Sec. 3.2 / Fig. 7).

Stem conv3x3 s1 -> BN -> PReLU; four stages of 64/128/256/512 channels, each opening with a
stride-2 block; the block is BN -> conv3x3 -> BN -> PReLU -> conv3x3 -> BN (+ shortcut).
Total stride 16: 112 px -> 7x7, 64 px -> 4x4. insightface's output layer is the
``bn_dropout_fc_bn`` neck ("E"). ``width`` multiplies channels, ``blocks`` = blocks per stage.
"""
from __future__ import annotations

from torch import Tensor, nn

from .necks import Neck
from .registry import feature_map_size, register_backbone, scaled_channels

DEPTHS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 14, 3)}


class IBasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(c_in),
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.PReLU(c_out),
            nn.Conv2d(c_out, c_out, 3, stride, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.shortcut(x)


class IResNet(nn.Module):
    def __init__(self, blocks, embedding_dim=512, image_size=112, width=1.0, neck="gdc", dropout=0.0):
        super().__init__()
        if len(blocks) != 4 or min(blocks) < 1:
            raise ValueError(f"iresnet: blocks must be 4 positive ints (e.g. {DEPTHS[18]}), got {blocks}")
        c = scaled_channels(64, width)
        layers = [nn.Conv2d(3, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.PReLU(c)]
        for channels, n in zip((64, 128, 256, 512), blocks):
            c_out = scaled_channels(channels, width)
            for i in range(n):
                layers.append(IBasicBlock(c, c_out, 2 if i == 0 else 1))
                c = c_out
        self.body = nn.Sequential(*layers)
        self.neck = Neck(neck, c, feature_map_size(image_size, 4, "iresnet"), embedding_dim, dropout)

    def forward(self, images: Tensor) -> Tensor:
        return self.neck(self.body(images))  # (B, embedding_dim)


@register_backbone
def iresnet18(blocks=DEPTHS[18], **kw) -> IResNet:
    """IResNet-18 (insightface), blocks per stage (2, 2, 2, 2)."""
    return IResNet(blocks, **kw)


@register_backbone
def iresnet34(blocks=DEPTHS[34], **kw) -> IResNet:
    """IResNet-34 (insightface), blocks per stage (3, 4, 6, 3)."""
    return IResNet(blocks, **kw)


@register_backbone
def iresnet50(blocks=DEPTHS[50], **kw) -> IResNet:
    """IResNet-50 (insightface), blocks per stage (3, 4, 14, 3)."""
    return IResNet(blocks, **kw)
