"""The objective interface and its registry (timm-style: register / create / list)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

_OBJECTIVES: dict[str, type] = {}


class Batch(NamedTuple):
    """One step's data on the device: one entry per side (two for pairs)."""
    images: list  # [(B, 3, H, W)] or [(B, 3, H, W), (B, 3, H, W)] float in [-1, 1]
    labels: list  # [(B,)] int64 per side
    index: Tensor | None  # (B,) or (2B,) indices into the training set (for EmbeddingTable)


class StepLoss(NamedTuple):
    """What an objective returns for one batch."""
    loss: Tensor  # () float32, to backpropagate
    embeddings: Tensor  # (B, D) or (2B, D): every image of the batch, in `Batch` order
    targets: Tensor  # (B,) or (2B,) the labels the loss used (a head may correct them)
    images: Tensor  # (B, 3, H, W) or (2B, ...): the images behind `embeddings`
    extras: dict = {}  # side outputs of the backbone's forward (facecourse.models.BackboneOutput)


class Objective(ABC):
    """Base of the objectives. A subclass sets the class attributes and `loss`.

    `net(images, labels) -> (embeddings (B, D), logits (B, C) or None, extras)` is the backbone
    + head (wrapped by DDP when there are several processes): the objective calls it once per
    step and returns the extras in its `StepLoss` (for fit's extra_loss)."""

    name: ClassVar[str] = ""
    sampler: ClassVar[str | None] = None  # the data.sampler its batches need; None = any but pairs
    pairs: ClassVar[bool] = False  # batches of (a, b) image pairs

    def __init__(self, cfg, num_classes: int, device: torch.device):
        self.cfg = cfg

    @classmethod
    def check(cls, cfg) -> None:
        """Refuse settings this objective cannot train with (called by `validate`)."""
        if cls.sampler is not None and cfg.data.sampler != cls.sampler:
            raise ValueError(f"objective={cls.name!r} needs data.sampler={cls.sampler!r}; set "
                             f"data.sampler={cls.sampler}")

    @classmethod
    def uses_head(cls, cfg) -> bool:
        """Is a classification head trained (built by fit when none is given)?"""
        return False

    def modules(self) -> dict[str, nn.Module]:
        """State besides backbone and head that the checkpoint keeps (center-loss centers)."""
        return {}

    @abstractmethod
    def loss(self, net, batch: Batch) -> StepLoss:
        """The loss of one batch, with the embeddings and targets it used."""

    def after_step(self, out: StepLoss, info) -> None:
        """Called after the optimizer step (updates that are not gradient steps)."""


def register_objective(name: str) -> Callable[[type], type]:
    def deco(cls: type) -> type:
        if name in _OBJECTIVES:
            raise ValueError(f"objective {name!r} is registered twice")
        cls.name = name
        _OBJECTIVES[name] = cls
        return cls
    return deco


def list_objectives() -> list[str]:
    return list(_OBJECTIVES)


def objective_class(name: str) -> type:
    if name not in _OBJECTIVES:
        raise ValueError(f"config objective={name!r} is not one of {', '.join(_OBJECTIVES)}")
    return _OBJECTIVES[name]


def create_objective(cfg, num_classes: int, device: torch.device) -> Objective:
    """The objective `cfg.objective` names, built for this run."""
    return objective_class(cfg.objective)(cfg, num_classes, device)
