"""Optimizers with separate parameter groups for the head, and warmup + cosine/step schedules.

The head (the class-weight matrix W of a margin head) gets its own learning rate and weight
decay: with a large scale s its gradients are much larger than the backbone's, and decaying
W shrinks nothing useful because W is normalized in the logits (arcface_torch sets these by
hand; here they are two config fields, `head_lr` and `head_weight_decay`).
"""
from __future__ import annotations

import math

import torch
from torch import nn


def param_groups(backbone: nn.Module, head: nn.Module | None, cfg) -> list[dict]:
    """Three groups: backbone weights (decayed), backbone norms + biases (not), the head.

    `cfg` is an `OptimConfig`; the head group uses `head_lr` / `head_weight_decay` when set.
    """
    decay, no_decay = [], []
    for p in backbone.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)  # BN/PReLU weights and biases: 1-D
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay, "lr": cfg.lr, "name": "backbone"},
        {"params": no_decay, "weight_decay": 0.0, "lr": cfg.lr, "name": "backbone_no_decay"},
    ]
    if head is not None:
        head_params = [p for p in head.parameters() if p.requires_grad]
        wd = cfg.weight_decay if cfg.head_weight_decay is None else cfg.head_weight_decay
        lr = cfg.lr if cfg.head_lr is None else cfg.head_lr
        groups.append({"params": head_params, "weight_decay": wd, "lr": lr, "name": "head"})
    return [g for g in groups if g["params"]]


def build_optimizer(groups: list[dict], cfg) -> torch.optim.Optimizer:
    """SGD (momentum, ArcFace's choice) or AdamW, from an `OptimConfig`."""
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas))
    raise ValueError(f"optim.name={cfg.name!r}: use 'sgd' or 'adamw'")


class WarmupSchedule:
    """lr factor at a step: linear warmup to 1, then cosine to `min_ratio`, steps, or constant.

    A plain object (not a lambda) so `LambdaLR.state_dict()` stores it and a resumed run gets
    the same schedule.
    """

    def __init__(self, total_steps: int, warmup_steps: int = 0, schedule: str = "cosine",
                 milestone_steps=(), gamma: float = 0.1, min_ratio: float = 0.0):
        self.total_steps, self.warmup_steps, self.schedule = total_steps, warmup_steps, schedule
        self.milestone_steps, self.gamma = sorted(milestone_steps), gamma
        self.min_ratio = min_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.schedule == "cosine":
            span = max(1, self.total_steps - self.warmup_steps)
            t = min(1.0, (step - self.warmup_steps) / span)
            return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * t))
        if self.schedule == "step":
            return self.gamma ** sum(step >= m for m in self.milestone_steps)
        return 1.0


def build_scheduler(optimizer, cfg, total_steps: int, steps_per_epoch: int):
    """A `LambdaLR` stepping once per optimizer step; epochs in the config become steps."""
    warmup = cfg.warmup_steps or int(round(cfg.warmup_epochs * steps_per_epoch))
    milestones = [int(round(e * steps_per_epoch)) for e in cfg.milestones]
    schedule = WarmupSchedule(total_steps, warmup, cfg.schedule, milestones, cfg.gamma,
                              cfg.min_lr_ratio)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
