"""Distillation from a frozen teacher: `TeacherTerm` (with any objective) and `distill` (alone).

The term is `distill.weight` * mean_i (1 - cos(s_i, t_i)) between the student's embedding s_i
and the teacher's t_i of the same image: feature consistency distillation (the FCD baseline of
CoupleFace, Liu et al., arXiv:2204.05502; lesson 08). The teacher is a frozen backbone fed the
batch's images, or an `EmbeddingTable` (embeddings computed once, e.g. dlib's on LFW) fed the
batch's indices into the training set (`takes_indices`). Objective `distill` is the term alone,
with no head (the LFW track's lfw-distill recipe).

`distill.relation_weight` > 0 adds relation distillation within the batch: the student's
matrix of cosines between the batch's images should be the teacher's, mean over i != j of
(cos(s_i, s_j) - cos(t_i, t_j))^2 (the relations verification thresholds; CoupleFace's MRD
matches relations to mined class prototypes instead, facecourse.losses.CoupleFaceLoss).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Batch, Objective, StepLoss, register_objective


class TeacherTerm:
    """distill.weight * (1 - cos(student, teacher)), plus distill.relation_weight * the batch's
    relation gap (module docstring), added by fit to the objective's loss."""

    def __init__(self, teacher, weight: float, num_images: int, embedding_dim: int, device,
                 memory_format=torch.contiguous_format, relation_weight: float = 0.0):
        if weight <= 0:
            raise ValueError("fit(teacher=...) needs cfg.distill.weight > 0 (the weight of "
                             "1 - cos(student, teacher)); set it, or pass no teacher")
        if relation_weight < 0:
            raise ValueError(f"distill.relation_weight must be >= 0 (0 = off), got {relation_weight}")
        self.teacher, self.weight, self.relation_weight = teacher, weight, relation_weight
        self.by_index = getattr(teacher, "takes_indices", False)
        if self.by_index and len(teacher) != num_images:
            raise ValueError(f"the teacher's table has {len(teacher)} rows but the training set "
                             f"has {num_images} images: row i must be the teacher's embedding "
                             "of image i")
        if self.by_index and teacher.embedding_dim != embedding_dim:
            raise ValueError(f"the teacher's embeddings have {teacher.embedding_dim} dimensions, "
                             f"the student's {embedding_dim}: set model.embedding_dim="
                             f"{teacher.embedding_dim}")
        teacher.to(device, memory_format=memory_format).eval().requires_grad_(False)

    def __call__(self, out: StepLoss, batch: Batch) -> torch.Tensor:
        with torch.no_grad():
            target = self.teacher(batch.index if self.by_index else out.images).float()  # (B, D)
        cos = F.cosine_similarity(out.embeddings.float(), target, dim=1)  # (B,)
        loss = self.weight * (1 - cos).mean()
        if self.relation_weight > 0 and len(target) > 1:
            s = F.normalize(out.embeddings.float(), dim=1)
            t = F.normalize(target, dim=1)
            off = ~torch.eye(len(s), dtype=torch.bool, device=s.device)  # pairs i != j
            loss = loss + self.relation_weight * (s @ s.T - t @ t.T)[off].pow(2).mean()
        return loss


@register_objective("distill")
class Distill(Objective):
    """No loss of its own: the teacher's term (fit requires a teacher) is the whole loss."""

    def loss(self, net, batch: Batch) -> StepLoss:
        images, targets = batch.images[0], batch.labels[0]
        embeddings, _, extras = net(images, targets)  # (B, D)
        zero = embeddings.new_zeros((), dtype=torch.float32)
        return StepLoss(zero, embeddings, targets, images, extras)
