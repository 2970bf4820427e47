"""Classification: a margin head + cross-entropy, optionally + lambda * center loss.

The margin heads are in facecourse.losses (ArcFace, arXiv:1801.07698, and its family; lessons
01-03). Center loss (Wen et al., "A Discriminative Feature Learning Approach for Deep Face
Recognition", ECCV 2016; lesson 02): L = L_CE + lambda * L_C, the centers moving by their own
rate alpha (Eq. 4) after each step. A head may return a `HeadOutput` in training (BoundaryFace,
lesson 09, corrects labels): the cross-entropy then uses its labels and adds its loss. PartialFC
(`head.partial_fc`, arXiv:2203.15565) returns its own cross-entropy over the sharded centres.
"""
from __future__ import annotations

import torch.nn.functional as F

from .base import Batch, Objective, StepLoss, register_objective


@register_objective("classification")
class Classification(Objective):
    def __init__(self, cfg, num_classes, device):
        super().__init__(cfg, num_classes, device)
        s = cfg.classification
        self.center_loss = None
        if s.center_loss_weight > 0:
            from facecourse.losses import CenterLoss
            self.center_loss = CenterLoss(num_classes, cfg.model.embedding_dim,
                                          alpha=s.center_alpha).to(device)

    @classmethod
    def uses_head(cls, cfg) -> bool:
        return True

    def modules(self):
        return {} if self.center_loss is None else {"center_loss": self.center_loss}

    def loss(self, net, batch: Batch) -> StepLoss:
        from facecourse.losses import HeadOutput
        images, targets = batch.images[0], batch.labels[0]
        embeddings, logits, extras = net(images, targets)  # (B, D), (B, C)
        head_loss = 0.0
        if isinstance(logits, HeadOutput):  # the head corrected labels (BoundaryFace)
            logits, targets, head_loss = logits
        if logits.ndim == 0:  # PartialFC: the head took its (sharded) cross-entropy itself
            loss = logits
        else:
            loss = F.cross_entropy(logits.float(), targets) + head_loss
        if self.center_loss is not None:
            weight = self.cfg.classification.center_loss_weight
            loss = loss + weight * self.center_loss(embeddings.float(), targets)
        return StepLoss(loss, embeddings, targets, images, extras)

    def after_step(self, out: StepLoss, info) -> None:
        if self.center_loss is None:
            return
        from .. import distributed
        # Wen et al. Eq. (4): c_j -= alpha * delta c_j, then the same centers on every process
        self.center_loss.update_centers(out.embeddings.detach().float(), out.targets)
        if info.world_size > 1:
            for buf in self.center_loss.buffers():
                buf.copy_(distributed.all_reduce_mean(buf, info))
