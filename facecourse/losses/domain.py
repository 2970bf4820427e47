"""The loss of the masked-face domain-adaptation model (`facecourse.models.MaskedFaceDANN`).

Taught in lesson 10 (masked faces).
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class DomainAdversarialLoss(nn.Module):
    """Domain loss + attention score loss of a `MaskedFaceDANN` backbone, for
    ``fit(..., backbone=MaskedFaceDANN(...), extra_loss=DomainAdversarialLoss())``; it reads
    the `DomainState` that the backbone's training forward returned (``extras["domain"]``):

        L_domain = BCE(d_i, masked_i)  on the domain logits d_i behind the gradient reversal
                   layer (Ganin & Lempitsky 2015, arXiv:1409.7495, Eq. (9)): the classifier
                   minimises it, the reversed gradient makes the backbone maximise it;
        L_att    = mean over the masked images of Σ_p a_ip · c_p, the share of the refinement
                   layer's attention a_i (sums to 1) that falls on positions p the mask covers
                   (coverage c_p in [0, 1]) — our attention score loss (see models/dann.py);
        loss     = ``domain_weight`` · L_domain + ``attention_weight`` · L_att.
    """

    keyed_settings = True  # fit_cached keys a run by the weights too

    def __init__(self, domain_weight: float = 1.0, attention_weight: float = 1.0):
        super().__init__()
        self.domain_weight, self.attention_weight = domain_weight, attention_weight

    def forward(self, images: Tensor, labels: Tensor, embeddings: Tensor, extras: dict) -> Tensor:
        state = (extras or {}).get("domain")
        if state is None:
            raise ValueError("DomainAdversarialLoss needs a MaskedFaceDANN backbone in training "
                             "mode: its forward returns BackboneOutput(embeddings, {'domain': "
                             "...}), and fit passes those extras to the loss")
        domain = F.binary_cross_entropy_with_logits(state.logits.float(), state.is_masked.float())
        mass = (state.scores.float() * state.coverage.float()).flatten(1).sum(1)  # (B,)
        masked = state.is_masked.float()
        attention = (mass * masked).sum() / masked.sum().clamp(min=1.0)
        return self.domain_weight * domain + self.attention_weight * attention

    def extra_repr(self) -> str:
        return f"domain_weight={self.domain_weight}, attention_weight={self.attention_weight}"
