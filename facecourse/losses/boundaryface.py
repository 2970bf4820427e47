"""BoundaryFace: label self-correction at the margin boundary, and boundary-sample mining.

Taught in lesson 09 (noisy labels).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .arcface import ArcFaceHead
from .base import HeadOutput, arcface_target, register_head


@register_head("boundaryface")
class BoundaryFaceHead(ArcFaceHead):
    """BoundaryFace (Wu & Gong 2022, "BoundaryFace: A Mining Framework with Noise Label
    Self-Correction for Face Recognition", ECCV 2022, arXiv:2210.04567, Sec. 3; the authors'
    code: SWJTU-3DVision/BoundaryFace, ``head/boundaryMargin.py``).

    Plain ArcFace, s·cos(θ_y + m), for the first ``warmup_steps`` training steps. After that,
    on every batch:

    1. closed-set noise self-correction: the margin also surrounds every *negative* centre; a
       sample that lies beyond the margin boundary of its nearest negative class k,
       cos(θ_k + m) > cos θ_y (it is closer to k than to y by more than m), is taken for a
       flipped label and relabelled y <- k for this step;
    2. boundary mining: with the corrected labels the loss adds
       λ · mean_i max(0, max_{j≠y} cos θ_j - cos(θ_y + m)),
       which is non-zero for the samples between the margin boundary and the decision
       boundary (and the misclassified ones): the hard samples get pulled to their class.

    Symbols: m -> ``m`` (0.5), s -> ``s`` (the paper: 32), λ -> ``lam`` (π; λ = 0 is the
    paper's "BoundaryF1", correction only), the paper's start epoch -> ``warmup_steps``
    (7 of 30 epochs on CASIA-WebFace, 10 of 24 on MS1M: about a quarter of the run).

    In training mode ``forward`` returns a ``HeadOutput`` (logits, corrected labels, λ·term)
    that `fit` turns into cross-entropy + term; in eval mode it returns ArcFace logits.
    ``corrected_labels`` applies rule 1 to any embeddings (e.g. a whole training set, to show
    which samples it would relabel); the buffer ``num_corrected`` counts the relabellings
    made in training.
    """

    keyed_settings = True  # fit_cached keys a run by m, λ and the warm-up too

    def __init__(self, embedding_dim: int, num_classes: int, s: float = 32.0, m: float = 0.5,
                 lam: float = math.pi, warmup_steps: int = 1000, easy_margin: bool = False):
        super().__init__(embedding_dim, num_classes, s=s, m=m, easy_margin=easy_margin)
        self.lam, self.warmup_steps = lam, warmup_steps
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_buffer("num_corrected", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def corrected_labels(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """Rule 1 (B,): k = argmax_{j≠y} cos(θ_j + m) where cos(θ_k + m) > cos θ_y, else y."""
        cos_theta = self.cosine(embeddings.float(), self.weight.float())  # (B, C)
        is_target = F.one_hot(labels.clamp_min(0), cos_theta.shape[1]).bool()  # (B, C)
        phi = arcface_target(cos_theta, self.m, self.easy_margin)  # cos(θ_j + m) for every j
        best, k = phi.masked_fill(is_target, -math.inf).max(dim=1)  # nearest negative (B,)
        cos_y = cos_theta.gather(1, labels.clamp_min(0)[:, None]).squeeze(1)  # cos θ_y (B,)
        return torch.where((best > cos_y) & (labels >= 0), k, labels)

    def forward(self, embeddings: Tensor, labels: Tensor):
        if not self.training:
            return super().forward(embeddings, labels)  # ArcFace logits (B, C)
        active = self.step >= self.warmup_steps  # a () tensor: no host sync in the loop
        corrected = torch.where(active, self.corrected_labels(embeddings, labels), labels)
        self.num_corrected += (corrected != labels).sum()
        self.step += 1
        logits = self.margin_logits(embeddings, corrected, self.weight)  # (B, C)
        z = logits / self.s  # cos(θ_y + m) in the (corrected) target column, cos θ_j elsewhere
        is_target = F.one_hot(corrected.clamp_min(0), z.shape[1]).bool()  # (B, C)
        hardest = z.masked_fill(is_target, -math.inf).amax(dim=1)  # max_{j≠y} cos θ_j (B,)
        target = z.gather(1, corrected.clamp_min(0)[:, None]).squeeze(1)  # cos(θ_y + m) (B,)
        boundary = F.relu(hardest - target).mean()  # rule 2
        return HeadOutput(logits, corrected, self.lam * boundary * active)

    @classmethod
    def partial_fc_refusal(cls) -> str:
        return ("it relabels each sample by its nearest negative centre among ALL classes and adds "
                "a boundary term, in forward, which PartialFC never calls (sharded, it would train "
                "as plain ArcFace); use subcenter_arcface for noisy labels under PartialFC, or "
                "boundaryface without PartialFC")

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, m={self.m}, lam={self.lam}, warmup_steps={self.warmup_steps}"
