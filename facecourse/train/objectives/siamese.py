"""Siamese: contrastive loss on image pairs (+ ce_weight * the head's cross-entropy).

Hadsell, Chopra & LeCun, "Dimensionality Reduction by Learning an Invariant Mapping", CVPR 2006
(the contrastive loss, Eq. 1 of the seed report), plus the identification term of DeepID2
(arXiv:1406.4773; the report's Eq. 2) when `siamese.ce_weight` > 0. Lesson 06 fine-tunes a
stage-1 ArcFace model on cross-age pairs with it. Both sides of each pair go through the
network in one pass.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Batch, Objective, StepLoss, register_objective


@register_objective("siamese")
class Siamese(Objective):
    sampler = "pairs"
    pairs = True

    def __init__(self, cfg, num_classes, device):
        super().__init__(cfg, num_classes, device)
        from facecourse.losses import ContrastiveLoss
        s = cfg.siamese
        kw = {"margin": s.margin, "form": s.form, "normalize": s.normalize}
        self.contrastive_loss = ContrastiveLoss(**{k: v for k, v in kw.items() if v is not None})

    @classmethod
    def uses_head(cls, cfg) -> bool:
        return cfg.siamese.ce_weight > 0

    def loss(self, net, batch: Batch) -> StepLoss:
        images = torch.cat(batch.images)  # (2B, 3, H, W): both sides in one pass
        targets = torch.cat(batch.labels)  # (2B,)
        embeddings, logits, extras = net(images, targets)  # (2B, D), (2B, C) or None
        emb_a, emb_b = embeddings.float().chunk(2)  # (B, D) each
        loss = self.contrastive_loss(emb_a, emb_b, batch.labels[0] == batch.labels[1])
        if logits is not None:
            loss = loss + self.cfg.siamese.ce_weight * F.cross_entropy(logits.float(), targets)
        return StepLoss(loss, embeddings, targets, images, extras)
