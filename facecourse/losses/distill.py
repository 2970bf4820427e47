"""Distillation losses from a frozen teacher, for `fit(..., extra_loss=...)` (lesson 08).

Each is an ``nn.Module`` called as ``loss(images, labels, embeddings, extras)`` on the batch
`fit` just trained on (``embeddings`` (B, D) are the student's, ``extras`` the side outputs
its forward returned, see `facecourse.models.BackboneOutput`): the teacher embeds the same
``images``. CoupleFace's relation loss is in ``coupleface.py``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class TeacherLoss(nn.Module):
    """Base of the distillation losses: holds the teacher frozen and in eval mode."""

    keyed_settings = True  # fit_cached keys a run by the loss's weights (extra_repr) too

    def __init__(self, teacher: nn.Module):
        super().__init__()
        self.teacher = teacher.eval().requires_grad_(False)

    @torch.no_grad()
    def teacher_embeddings(self, images: Tensor, student: Tensor | None = None) -> Tensor:
        """The teacher's embeddings (B, D) of ``images`` (checked to match ``student``'s shape)."""
        self.teacher.eval()
        target = self.teacher(images).float()
        if student is not None and target.shape != student.shape:
            raise ValueError(f"{type(self).__name__}: the teacher gives embeddings of shape "
                             f"{tuple(target.shape)}, the student {tuple(student.shape)}; give the "
                             "student the teacher's embedding_dim")
        return target


class FeatureDistillLoss(TeacherLoss):
    """Feature consistency distillation: ``weight`` · mean_i ||ŝ_i - t̂_i||², the squared L2
    distance between the student's and the teacher's embeddings of the same image (the FCD
    baseline of CoupleFace, Liu et al. 2022, arXiv:2204.05502). With ``normalize=True`` (the
    default) both are L2-normalized first, so the loss is 2·(1 - cos) per image: the same
    objective as ``fit(teacher=..., distill_weight=w)`` with w = 2·weight."""

    def __init__(self, teacher: nn.Module, weight: float = 1.0, normalize: bool = True):
        super().__init__(teacher)
        self.weight, self.normalize = weight, normalize

    def forward(self, images: Tensor, labels: Tensor, embeddings: Tensor, extras=None) -> Tensor:
        s = embeddings.float()  # (B, D)
        t = self.teacher_embeddings(images, s)  # (B, D)
        if self.normalize:
            s, t = F.normalize(s, dim=1), F.normalize(t, dim=1)
        return self.weight * (s - t).pow(2).sum(1).mean()

    def extra_repr(self) -> str:
        return f"weight={self.weight}, normalize={self.normalize}"


class AttentionSimilarityLoss(TeacherLoss):
    """A-SKD (Shin et al. 2022, "Teaching Where to Look: Attention Similarity Knowledge
    Distillation for Low Resolution Face Recognition", ECCV 2022, arXiv:2209.14498):

        L_A-SKD = ``weight`` · Σ_l [ (1 - cos(C^S_l, C^T_l)) + (1 - cos(M^S_l, M^T_l)) ]

    averaged over the batch, where C_l and M_l are the channel and spatial attention maps of the
    l-th `CBAM` (flattened per image) of the student S, fed low-resolution faces, and of the
    teacher T, fed the originals. As in the authors' code the maps are taken before the sigmoid,
    and ``weight`` = 5 is its default. Both nets need the same CBAM layout (e.g. the same
    `CBAMBackbone` architecture); put a `RandomLowResolution` in front of the student. The
    student's maps are the ones its training forward returned (``extras["attention"]``), the
    teacher's come from its ``forward_with_attention``.
    """

    def __init__(self, teacher: nn.Module, weight: float = 5.0):
        super().__init__(teacher)
        self.weight = weight

    def forward(self, images: Tensor, labels: Tensor, embeddings: Tensor, extras: dict) -> Tensor:
        student = (extras or {}).get("attention") or []
        if not hasattr(self.teacher, "forward_with_attention"):
            raise ValueError(f"AttentionSimilarityLoss: the teacher is a {type(self.teacher).__name__}"
                             "; it must be a CBAMBackbone (same architecture as the student)")
        self.teacher.eval()
        with torch.no_grad():
            teacher = self.teacher.forward_with_attention(images)[1]
        if not student or len(student) != len(teacher):
            raise ValueError(f"AttentionSimilarityLoss: the student has {len(student)} CBAM maps "
                             f"and the teacher {len(teacher)}; wrap both in CBAMBackbone (same "
                             "architecture) and train the student in training mode")
        loss = embeddings.new_zeros((), dtype=torch.float32)
        for maps_s, maps_t in zip(student, teacher):
            for s, t in zip(maps_s, maps_t):  # channel, then spatial
                if s.shape != t.shape:
                    raise ValueError(f"AttentionSimilarityLoss: attention maps {tuple(s.shape)} "
                                     f"(student) and {tuple(t.shape)} (teacher) differ; use the "
                                     "same architecture and width for both")
                loss = loss + (1 - F.cosine_similarity(s.flatten(1).float(), t.flatten(1).float(), dim=1)).mean()
        return self.weight * loss

    def extra_repr(self) -> str:
        return f"weight={self.weight}"
