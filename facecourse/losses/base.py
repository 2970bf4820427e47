"""One base for the margin heads, and the head registry.

A head maps ``(embeddings (B, D), labels (B,))`` to logits ``(B, C)``; cross-entropy stays outside.
``MarginHead`` owns the class centres ``weight`` (C, D) and the scale ``s``, and computes

    logits = s * where(j == y_i, target_logit(cos θ_{y_i}), non_target_logits(cos θ_ij)),
    cos θ_ij = <x_i / |x_i|, W_j / |W_j|>.

A head overrides ``target_logit`` (its margin, on any tensor of cosines, so the viz module can
draw the curves over θ) and, rarely, ``non_target_logits`` (CurricularFace), ``logit_scale``
(SphereFace multiplies by |x|) or ``advance_schedule`` (SphereFace's λ). No in-place edits, no
``torch.no_grad`` tricks: plain autograd. ``partial_fc_refusal()`` says whether PartialFC can
shard the head (derived from which hooks it overrides).

Lesson 03 draws every head's margin from these hooks; lessons 09 and 11 build heads by name
(`create_head`).
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

EPS = 1e-7
_HEADS: dict[str, Callable[..., nn.Module]] = {}


class HeadOutput(NamedTuple):
    """What a head that corrects labels returns in training (BoundaryFace) instead of logits:
    `fit` takes the cross-entropy against ``labels`` and adds ``loss``."""

    logits: Tensor  # (B, C)
    labels: Tensor  # (B,) the labels the cross-entropy should use
    loss: Tensor  # () a term added to the cross-entropy


def register_head(name: str):
    """Class decorator: ``@register_head("arcface")``."""
    def deco(cls):
        if name in _HEADS:
            raise ValueError(f"head {name!r} is already registered")
        _HEADS[name] = cls
        return cls
    return deco


def list_heads() -> list[str]:
    """The registered head names, sorted."""
    return sorted(_HEADS)


def head_class(name: str) -> Callable[..., nn.Module]:
    """The class registered as ``name`` (to ask it what it supports before building one)."""
    if name not in _HEADS:
        raise ValueError(f"unknown head {name!r}; create_head knows: {', '.join(list_heads())}")
    return _HEADS[name]


def create_head(name: str, embedding_dim: int, num_classes: int, **kw) -> nn.Module:
    """Build the head ``name`` (see ``list_heads()``); ``kw`` are its margins / scale."""
    cls = head_class(name)
    if embedding_dim < 1 or num_classes < 1:
        raise ValueError(f"create_head({name!r}): embedding_dim and num_classes must be >= 1, "
                         f"got {embedding_dim} and {num_classes}")
    return cls(embedding_dim, num_classes, **kw)


def angle(cos_theta: Tensor) -> Tensor:
    """θ = arccos(cos θ), clamped into [-1+eps, 1-eps] first: d arccos/dx is infinite at ±1."""
    return torch.acos(cos_theta.clamp(-1.0 + EPS, 1.0 - EPS))


class MarginHead(nn.Module):
    """Normalized-softmax head with a hook for the target logit (NormFace when not overridden)."""

    def __init__(self, embedding_dim: int, num_classes: int, s: float = 64.0, num_centers: int = 1):
        super().__init__()
        self.embedding_dim, self.num_classes, self.num_centers = embedding_dim, num_classes, num_centers
        self.s = s
        self.weight = nn.Parameter(torch.empty(num_classes * num_centers, embedding_dim))  # (C*K, D)
        nn.init.normal_(self.weight, std=0.01)

    def cosine(self, embeddings: Tensor, weight: Tensor) -> Tensor:
        """cos θ (B, C) between normalized embeddings and normalized rows of ``weight``."""
        return F.linear(F.normalize(embeddings, dim=1), F.normalize(weight, dim=1))  # (B, C)

    def target_logit(self, cos_theta: Tensor) -> Tensor:
        """The target-class logit before the scale; identity = NormFace. Works on any tensor."""
        return cos_theta

    def non_target_logits(self, cos_theta: Tensor, target: Tensor) -> Tensor:
        """Logits of the other classes (B, C) given the modified target (B, 1); identity here."""
        return cos_theta

    def logit_scale(self, embeddings: Tensor) -> Tensor | float:
        """The scale s (a float, or (B, 1) for heads that keep the feature norm)."""
        return self.s

    def advance_schedule(self) -> None:
        """One training step of the head's schedule (SphereFace's λ); nothing here. Called after
        the logits of every training forward, by ``forward`` and by PartialFC alike."""

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        logits = self.margin_logits(embeddings, labels, self.weight)  # (B, C)
        if self.training:
            self.advance_schedule()
        return logits

    @classmethod
    def partial_fc_refusal(cls) -> str | None:
        """None when PartialFC can shard this head, else why not and what to use instead.

        PartialFC calls ``margin_logits`` on its shard of the centres (label -1: the class lives
        on another rank) and then ``advance_schedule``; it never calls ``forward``. So the head
        shards when those two are the whole head: by default, when it keeps the base's
        ``forward`` (no label correction, no state updated from the batch) and the base's
        ``non_target_logits`` (negatives that read the target logit, which only the rank that
        holds the class has). A head overrides this to refuse with its own reason.
        """
        if cls.forward is not MarginHead.forward:
            return ("its forward does more than margin_logits + advance_schedule, and PartialFC "
                    "never calls forward; use the full head, without PartialFC")
        if cls.non_target_logits is not MarginHead.non_target_logits:
            return ("its non_target_logits read the target logit, which lives on one rank only; "
                    "use the full head, without PartialFC")
        return None

    def margin_logits(self, embeddings: Tensor, labels: Tensor, weight: Tensor) -> Tensor:
        """Logits (B, C) against the centres ``weight``; a label < 0 means "no target column"
        (PartialFC: the sample's class lives on another rank or was not sampled)."""
        if embeddings.dim() != 2 or labels.shape != embeddings.shape[:1]:
            raise ValueError(f"{type(self).__name__}: expected embeddings (B, D) and labels (B,), "
                             f"got {tuple(embeddings.shape)} and {tuple(labels.shape)}")
        cos_theta = self.cosine(embeddings, weight)  # (B, C)
        classes = torch.arange(cos_theta.shape[1], device=labels.device)
        is_target = labels[:, None] == classes  # (B, C)
        cos_target = cos_theta.gather(1, labels.clamp_min(0)[:, None])  # (B, 1)
        target = self.target_logit(cos_target)  # (B, 1)
        logits = torch.where(is_target, target, self.non_target_logits(cos_theta, target))
        return logits * self.logit_scale(embeddings)  # (B, C)

    def extra_repr(self) -> str:
        return f"embedding_dim={self.embedding_dim}, num_classes={self.num_classes}, s={self.s}"


def arcface_target(cos_theta: Tensor, m: float, easy_margin: bool = False) -> Tensor:
    """cos(θ + m), kept monotonically decreasing in θ over [0, π] (ArcFace, arXiv:1801.07698).

    cos(θ + m) turns back up once θ + m > π, so a sample pushed far from its centre would get a
    *larger* target logit. insightface (and pytorch-metric-learning) switch, for θ > π - m, to
    cos θ - m·sin(m): the first-order expansion cos(θ + m) ≈ cos θ - m·sin θ taken where the
    switch happens (sin(π - m) = sin m), i.e. a CosFace-like additive margin m·sin m.
    ``easy_margin`` instead applies the margin only where cos θ > 0 (θ < π/2).
    """
    theta = angle(cos_theta)
    if easy_margin:
        return torch.where(cos_theta > 0, torch.cos(theta + m), cos_theta)
    return torch.where(theta <= math.pi - m, torch.cos(theta + m), cos_theta - m * math.sin(m))
