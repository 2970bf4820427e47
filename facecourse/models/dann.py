"""Masked-face domain adaptation: gradient reversal, a self-attention refinement layer, and a
backbone wrapper with a mask-domain classifier (lesson 10; the loss is
`facecourse.losses.DomainAdversarialLoss`).

What is implemented, and from where. The lesson's seed describes a masked-face model made of a
backbone, a self-attention refinement layer, and a mask-domain classifier trained through a
gradient reversal layer, with an "attention score" loss. We could not pin that paper down, so
this is our own documented version of that recipe, built from standard parts:

- gradient reversal and domain-adversarial training: Ganin & Lempitsky 2015, "Unsupervised
  Domain Adaptation by Backpropagation", ICML 2015, arXiv:1409.7495 (Eq. (9)-(10) and the
  schedule λ_p = 2 / (1 + exp(-γ p)) - 1, γ = 10, of Sec. 5);
- the refinement layer: self-attention over the positions of the last feature map with a
  learned residual gate γ that starts at 0 (Zhang et al. 2019, "Self-Attention Generative
  Adversarial Networks", arXiv:1805.08318, Eq. (1)-(3); scores scaled by 1/sqrt(d) as in
  Transformers);
- the attention score loss (ours): the share of attention a masked image puts on the positions
  its mask covers, to be made small (see `DomainAdversarialLoss`).

The domain labels come from the wrapper itself: in training a `RandomFaceMask` masks a share of
every batch, so the model knows which images are masked and where the mask lies.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .augment import RandomFaceMask
from .outputs import BackboneOutput


class _GradientReversal(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by -λ (Ganin & Lempitsky, Eq. (9)-(10))."""

    @staticmethod
    def forward(ctx, x: Tensor, lam) -> Tensor:
        ctx.lam = lam  # a float, or a () tensor (a scheduled λ, no host sync)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return (-ctx.lam * grad).to(grad.dtype), None


def grad_reverse(x: Tensor, lam: float | Tensor = 1.0) -> Tensor:
    """x in the forward pass; -lam * (the incoming gradient) in the backward pass."""
    return _GradientReversal.apply(x, lam)


class GradientReversal(nn.Module):
    """The gradient reversal layer R_λ as a module (λ -> ``lam``)."""

    def __init__(self, lam: float = 1.0):
        super().__init__()
        self.lam = lam

    def forward(self, x: Tensor) -> Tensor:
        return grad_reverse(x, self.lam)

    def extra_repr(self) -> str:
        return f"lam={self.lam}"


class SelfAttention2d(nn.Module):
    """Self-attention over the N = H·W positions of a feature map f (B, C, H, W) (SAGAN):

        q, k, v = W_q f, W_k f, W_v f (1x1 convs; q, k with d = max(4, C // 8) channels)
        A = softmax_j(q_i · k_j / sqrt(d))   (B, N, N), row i = where position i looks
        out = f + γ · v A^T,  γ a learned scalar starting at 0 (the layer starts as the identity)

    Returns ``(out, scores)``: scores (B, H, W) = the attention each position *receives*
    (the mean of A's columns), summing to 1 over the positions.
    """

    def __init__(self, channels: int):
        super().__init__()
        d = max(4, channels // 8)
        self.q, self.k = nn.Conv2d(channels, d, 1), nn.Conv2d(channels, d, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, f: Tensor) -> tuple[Tensor, Tensor]:
        B, C, H, W = f.shape
        q, k = self.q(f).flatten(2), self.k(f).flatten(2)  # (B, d, N)
        attn = torch.softmax(q.transpose(1, 2) @ k / math.sqrt(q.shape[1]), dim=-1)  # (B, N, N)
        out = (self.v(f).flatten(2) @ attn.transpose(1, 2)).view(B, C, H, W)  # Σ_j A_ij v_j
        return f + self.gamma * out, attn.mean(1).view(B, H, W)


class DomainState(NamedTuple):
    """What the last training forward of `MaskedFaceDANN` leaves for its loss."""

    logits: Tensor  # (B,) the domain classifier's logit of "masked", through the GRL
    is_masked: Tensor  # (B,) float 0/1, the domain labels
    scores: Tensor  # (B, h, w) attention received by each feature position (sums to 1)
    coverage: Tensor  # (h, w) how much of each feature position the mask covers, in [0, 1]


class MaskedFaceDANN(nn.Module):
    """backbone.body -> SelfAttention2d -> backbone.neck -> embedding, plus, in training, a
    mask-domain classifier on the embedding behind a gradient reversal layer.

        images --RandomFaceMask(p)--> body --> refinement --> neck --> embedding (B, D)
                                                                   `--> GRL(λ) --> MLP --> logit "masked"

    The domain classifier learns to tell masked from unmasked embeddings; the reversed gradient
    pushes the backbone to make them indistinguishable. λ follows Ganin & Lempitsky's schedule
    over ``lam_steps`` training steps (0 = constant λ = ``lam``). ``mask_prob``: the share of
    each training batch that gets a mask (``landmarks`` as in `RandomFaceMask`). In training
    the forward returns ``BackboneOutput(embeddings, {"domain": DomainState})`` for
    `DomainAdversarialLoss`; in eval the embeddings. ``attention_maps(images)`` gives the
    refinement layer's scores for plots.
    """

    keyed_settings = True  # fit_cached keys a run by λ and its schedule too

    def __init__(self, backbone: nn.Module, mask_prob: float = 0.5, lam: float = 1.0,
                 lam_steps: int = 0, landmarks=None, seed: int = 0):
        super().__init__()
        if not isinstance(getattr(backbone, "body", None), nn.Module) or not hasattr(backbone, "neck"):
            raise TypeError(f"MaskedFaceDANN needs a backbone with a `body` and a `neck` "
                            f"(create_backbone's), got {type(backbone).__name__}")
        self.body, self.neck = backbone.body, backbone.neck
        channels = _out_channels(self.body)
        embedding_dim = self.neck.fc.out_features
        self.refine = SelfAttention2d(channels)
        self.domain_classifier = nn.Sequential(nn.Linear(embedding_dim, embedding_dim), nn.ReLU(),
                                               nn.Linear(embedding_dim, 1))
        self.masker = RandomFaceMask(mask_prob, landmarks, seed)
        self.lam, self.lam_steps = lam, lam_steps
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    def current_lambda(self) -> Tensor:
        """λ_p = λ · (2 / (1 + exp(-10 p)) - 1), p = step / lam_steps (Ganin & Lempitsky, Sec. 5)."""
        if self.lam_steps <= 0:
            return torch.full((), float(self.lam), device=self.step.device)
        p = (self.step.float() / self.lam_steps).clamp(max=1.0)
        return self.lam * (2 / (1 + torch.exp(-10 * p)) - 1)

    def forward(self, images: Tensor):
        if self.training:
            images, is_masked = self.masker.apply(images)
        f, scores = self.refine(self.body(images))  # (B, C, h, w), (B, h, w)
        embeddings = self.neck(f)  # (B, D)
        if self.training:
            logits = self.domain_classifier(grad_reverse(embeddings, self.current_lambda()))
            coverage = F.adaptive_avg_pool2d(self.masker.coverage(images.shape[-1])[None, None],
                                             scores.shape[-2:])[0, 0].to(scores)  # (h, w)
            self.step += 1
            domain = DomainState(logits[:, 0], is_masked.to(logits.dtype), scores, coverage)
            return BackboneOutput(embeddings, {"domain": domain})
        return embeddings

    @torch.no_grad()
    def attention_maps(self, images: Tensor) -> Tensor:
        """The refinement layer's scores (B, h, w) for float images in [-1, 1] (no masking)."""
        was = self.training
        self.eval()
        try:
            return self.refine(self.body(images))[1]
        finally:
            self.train(was)

    def extra_repr(self) -> str:
        return f"lam={self.lam}, lam_steps={self.lam_steps}"


def _out_channels(body: nn.Module) -> int:
    """Channels of the body's output, from a probe forward (eval mode, 64 px, no gradients)."""
    was = body.training
    body.eval()
    with torch.no_grad():
        channels = body(torch.zeros(2, 3, 64, 64, device=next(body.parameters()).device)).shape[1]
    body.train(was)
    return channels
