"""Triplet: FaceNet's triplet loss on P x K batches (Schroff et al., arXiv:1503.03832; lesson 05).

L = mean over the mined (a, p, n) of max(0, ||f_a - f_p||^2 - ||f_a - f_n||^2 + alpha), with
alpha = `triplet.margin` and the triplets mined inside the batch (`triplet.mining`: semi_hard,
batch_hard, batch_all; facecourse.losses.TripletLoss). No classification head.
"""
from __future__ import annotations

from .base import Batch, Objective, StepLoss, register_objective


@register_objective("triplet")
class Triplet(Objective):
    sampler = "pk"  # P identities x K images, so every anchor has a positive

    def __init__(self, cfg, num_classes, device):
        super().__init__(cfg, num_classes, device)
        from facecourse.losses import TripletLoss
        self.triplet_loss = TripletLoss(margin=cfg.triplet.margin, mining=cfg.triplet.mining)

    @classmethod
    def check(cls, cfg) -> None:
        if cfg.data.sampler != "pk":
            raise ValueError("objective='triplet' needs data.sampler='pk' (P identities x K "
                             "images per batch, so every anchor has a positive); set "
                             "data.sampler=pk")
        from facecourse.losses.triplet import MININGS
        if cfg.triplet.mining not in MININGS:
            raise ValueError(f"config triplet.mining={cfg.triplet.mining!r} is not one of "
                             f"{', '.join(MININGS)}")

    def loss(self, net, batch: Batch) -> StepLoss:
        images, targets = batch.images[0], batch.labels[0]
        embeddings, _, extras = net(images, targets)  # (B, D)
        loss = self.triplet_loss(embeddings.float(), targets)
        return StepLoss(loss, embeddings, targets, images, extras)
