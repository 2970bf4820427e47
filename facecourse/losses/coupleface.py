"""CoupleFace: feature distillation plus mutual relation distillation on mined prototypes.

Taught in lesson 08 (distillation).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .distill import TeacherLoss


def mine_prototypes(prototypes: Tensor, labels: Tensor, k: int, queries: Tensor | None = None) -> Tensor:
    """Informative prototype mining: for each sample the k negative prototypes nearest (by
    cosine) to its query, nearest first; (B, k) class indices. ``prototypes`` (C, D) are
    teacher class centres, ``labels`` (B,) exclude each sample's own class, ``queries`` (B, D)
    default to the sample's own class centre (the k hardest negative *identities*)."""
    num_classes = prototypes.shape[0]
    if not 1 <= k < num_classes:
        raise ValueError(f"mine_prototypes: k must be in 1..{num_classes - 1} (C - 1), got {k}")
    p = F.normalize(prototypes.float(), dim=1)
    q = p[labels] if queries is None else F.normalize(queries.float(), dim=1)  # (B, D)
    cos = q @ p.T  # (B, C)
    own = F.one_hot(labels, num_classes).bool()
    return cos.masked_fill(own, -float("inf")).topk(k, dim=1).indices  # (B, k)


class CoupleFaceLoss(TeacherLoss):
    """CoupleFace (Liu et al. 2022, "CoupleFace: Relation Matters for Face Recognition
    Distillation", ECCV 2022, arXiv:2204.05502): feature consistency distillation (FCD) plus
    mutual relation distillation (MRD) on informative prototypes.

        FCD = mean_i ||ŝ_i - t̂_i||²                     (unit embeddings of student / teacher)
        P_i = {y_i} ∪ top-k negative prototypes nearest to t̂_i   (`mine_prototypes`)
        r^S_ij = cos(ŝ_i, p_j),  r^T_ij = cos(t̂_i, p_j),  j ∈ P_i   (mutual relations: student
                 features against the *teacher's* prototypes p_j, the teacher's class centres)
        RAD = mean_i Σ_{j ∈ P_i} (r^S_ij - r^T_ij)²
        loss = ``fcd_weight`` · FCD + ``rad_weight`` · RAD

    ``prototypes`` (C, D): the teacher's class centres of the training set, e.g.
    ``class_centres(embed(teacher, train_set), train_set.labels)``; ``k``: mined negatives.
    Simplification: the paper's Relation-Aware Distillation weighs the relations it transfers;
    here every mined relation counts the same (a squared difference), which keeps the idea
    (match the teacher's similarities to the hardest other identities) in a few lines.
    """

    def __init__(self, teacher: nn.Module, prototypes: Tensor, k: int = 8, fcd_weight: float = 1.0,
                 rad_weight: float = 1.0):
        super().__init__(teacher)
        if not 1 <= k < len(prototypes):
            raise ValueError(f"CoupleFaceLoss: k must be in 1..{len(prototypes) - 1}, got {k}")
        self.register_buffer("prototypes", F.normalize(torch.as_tensor(prototypes).float(), dim=1))
        self.k, self.fcd_weight, self.rad_weight = k, fcd_weight, rad_weight

    def forward(self, images: Tensor, labels: Tensor, embeddings: Tensor, extras=None) -> Tensor:
        s = F.normalize(embeddings.float(), dim=1)  # (B, D)
        t = F.normalize(self.teacher_embeddings(images, s), dim=1)  # (B, D)
        fcd = (s - t).pow(2).sum(1).mean()
        negatives = mine_prototypes(self.prototypes, labels, self.k, queries=t)  # (B, k)
        chosen = self.prototypes[torch.cat([labels[:, None], negatives], 1)]  # (B, 1 + k, D)
        r_s = torch.einsum("bd,bjd->bj", s, chosen)  # (B, 1 + k)
        r_t = torch.einsum("bd,bjd->bj", t, chosen)
        rad = (r_s - r_t).pow(2).sum(1).mean()
        return self.fcd_weight * fcd + self.rad_weight * rad

    def extra_repr(self) -> str:
        return (f"num_classes={len(self.prototypes)}, k={self.k}, fcd_weight={self.fcd_weight}, "
                f"rad_weight={self.rad_weight}")
