"""SphereFace / A-Softmax with the annealing λ of the paper."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import MarginHead, angle, register_head


@register_head("sphereface")
class SphereFaceHead(MarginHead):
    """A-Softmax: target logit |x|·(λ cos θ + ψ(θ)) / (1 + λ), ψ(θ) = (-1)^k cos(mθ) - 2k for
    θ in [kπ/m, (k+1)π/m] (Liu et al. 2017, "SphereFace: Deep Hypersphere Embedding for Face
    Recognition", arXiv:1704.08063, Eq. (7) and Sec. 3.4 / appendix G for λ).

    Symbols: m -> ``m1`` (integer, paper default 4), λ -> ``lambda_``, s -> ``s`` (1: the paper
    has no scale). Like the paper (and pytorch-metric-learning's ``SphereFaceLoss``) the feature
    norm |x| is KEPT: the logit is multiplied by |x| (``feature_norm=True``); with
    ``feature_norm=False`` it is s·(...) on normalized features like the other heads.
    λ anneals from A-Softmax back towards softmax to make training converge:
    λ = max(λ_min, base·(1 + γ·it)^(-power)), it = training forward passes so far (paper/Caffe
    defaults base 1000, γ 0.12, power 1, λ_min 5); ``lambda_base=0, lambda_min=0`` gives λ = 0.
    The clock ticks in ``advance_schedule``, which PartialFC calls too: sharded, λ anneals alike.
    """

    def __init__(self, embedding_dim: int, num_classes: int, s: float = 1.0, m1: int = 4,
                 feature_norm: bool = True, lambda_base: float = 1000.0, gamma: float = 0.12,
                 power: float = 1.0, lambda_min: float = 5.0):
        super().__init__(embedding_dim, num_classes, s=s)
        if int(m1) != m1 or m1 < 1:
            raise ValueError(f"sphereface: m1 must be a positive integer (the paper uses 4), got {m1}")
        self.m1, self.feature_norm = int(m1), feature_norm
        self.lambda_base, self.gamma, self.power, self.lambda_min = lambda_base, gamma, power, lambda_min
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))

    @property
    def lambda_(self) -> float:
        it = int(self.iteration)
        return max(self.lambda_min, self.lambda_base * (1.0 + self.gamma * it) ** (-self.power))

    def psi(self, cos_theta: Tensor) -> Tensor:
        """ψ(θ) = (-1)^k cos(mθ) - 2k, monotonically decreasing over [0, π] (Eq. (7))."""
        k = torch.floor(angle(cos_theta.detach()) * self.m1 / math.pi)  # integer, no gradient
        t_prev, t = torch.ones_like(cos_theta), cos_theta  # Chebyshev: cos(mθ) = T_m(cos θ)
        for _ in range(self.m1 - 1):
            t_prev, t = t, 2 * cos_theta * t - t_prev
        return (1 - 2 * (k % 2)) * t - 2 * k

    def target_logit(self, cos_theta: Tensor) -> Tensor:
        lam = self.lambda_
        return (lam * cos_theta + self.psi(cos_theta)) / (1 + lam)

    def logit_scale(self, embeddings: Tensor) -> Tensor | float:
        if not self.feature_norm:
            return self.s
        return self.s * embeddings.norm(dim=1, keepdim=True)  # (B, 1)

    def advance_schedule(self) -> None:
        self.iteration += 1  # λ's clock, a counter like BatchNorm's num_batches_tracked
