"""A tiny backbone registry in the style of timm: ``@register_backbone`` on a factory function.

Every factory takes the same keyword arguments (``embedding_dim``, ``image_size``, ``width``,
``neck``, ``dropout``) plus its own (``blocks`` for the depth), and returns an ``nn.Module`` that
maps images ``(B, 3, H, W)`` to embeddings ``(B, embedding_dim)`` (not normalized).

Lessons 00, 04, 05, 07, 08 and 10 build their backbones by name here.
"""
from __future__ import annotations

from typing import Callable

from torch import nn

_BACKBONES: dict[str, Callable[..., nn.Module]] = {}


def register_backbone(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register ``fn`` under its function name (``@register_backbone def iresnet18(...)``)."""
    if fn.__name__ in _BACKBONES:
        raise ValueError(f"backbone {fn.__name__!r} is already registered; pick another function name")
    _BACKBONES[fn.__name__] = fn
    return fn


def list_backbones() -> list[str]:
    """The registered backbone names, sorted."""
    return sorted(_BACKBONES)


def create_backbone(
    name: str,
    embedding_dim: int = 512,
    image_size: int = 112,
    width: float = 1.0,
    neck: str = "gdc",
    dropout: float = 0.0,
    **kw,
) -> nn.Module:
    """Build the backbone ``name`` (see ``list_backbones()``); extra ``kw`` go to its factory."""
    if name not in _BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; create_backbone knows: {', '.join(list_backbones())}")
    if width <= 0:
        raise ValueError(f"width must be > 0 (a channel multiplier such as 0.25, 0.5, 1.0), got {width}")
    return _BACKBONES[name](
        embedding_dim=embedding_dim, image_size=image_size, width=width, neck=neck, dropout=dropout, **kw
    )


def scaled_channels(channels: int, width: float, divisor: int = 8) -> int:
    """``channels * width`` rounded to a multiple of ``divisor`` (at least ``divisor``)."""
    return max(divisor, int(round(channels * width / divisor)) * divisor)


def feature_map_size(image_size: int, num_stride2: int, name: str) -> int:
    """Side of the last feature map after ``num_stride2`` stride-2 convolutions (k=3, p=1)."""
    if image_size < 2**num_stride2:
        raise ValueError(
            f"{name}: image_size={image_size} is too small for {num_stride2} stride-2 stages; "
            f"use image_size >= {2 ** num_stride2} (e.g. 64 or 112)"
        )
    size = image_size
    for _ in range(num_stride2):
        size = (size - 1) // 2 + 1  # (size + 2*1 - 3) // 2 + 1
    return size
