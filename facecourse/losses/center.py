"""Center loss with Wen et al.'s own centre update.

Taught in lesson 02 (center loss).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class CenterLoss(nn.Module):
    """Center loss L_C = 1/2 Σ_i |x_i - c_{y_i}|² / B (Wen et al. 2016, "A Discriminative Feature
    Learning Approach for Deep Face Recognition", ECCV 2016, Eqs. (2)-(4)).

    Used beside softmax: L = L_S + λ·L_C (λ is the training loop's weight). The centres c_j are a
    buffer, NOT optimizer parameters; they follow the paper's rule (Eq. (4))
        Δc_j = Σ_i δ(y_i = j)(c_j - x_i) / (1 + Σ_i δ(y_i = j)),   c_j <- c_j - α·Δc_j,
    α -> ``alpha`` (paper 0.5). The training loop calls, after its optimizer step,
        ``center_loss.update_centers(embeddings.detach(), labels)``
    or passes ``update=True`` to ``forward`` to do it right after computing the loss.
    """

    def __init__(self, num_classes: int, embedding_dim: int, alpha: float = 0.5):
        super().__init__()
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"CenterLoss: alpha (the centre learning rate) must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self.register_buffer("centers", torch.zeros(num_classes, embedding_dim))  # (C, D)

    def forward(self, embeddings: Tensor, labels: Tensor, update: bool = False) -> Tensor:
        if embeddings.shape[1] != self.centers.shape[1]:
            raise ValueError(f"CenterLoss: embeddings have {embeddings.shape[1]} dims, centres "
                             f"{self.centers.shape[1]}; build it with embedding_dim={embeddings.shape[1]}")
        diff = embeddings - self.centers[labels].to(embeddings.dtype)  # (B, D)
        loss = 0.5 * diff.pow(2).sum(dim=1).mean()  # Eq. (2), averaged over the batch
        if update and self.training:
            self.update_centers(embeddings.detach(), labels)
        return loss

    @torch.no_grad()
    def update_centers(self, embeddings: Tensor, labels: Tensor) -> None:
        """Eq. (4): move each centre towards the mean of its samples in the batch."""
        embeddings = embeddings.to(self.centers.dtype)
        counts = torch.bincount(labels, minlength=len(self.centers)).to(self.centers.dtype)  # (C,)
        sums = torch.zeros_like(self.centers).index_add_(0, labels, embeddings)  # Σ x_i per class
        delta = (counts[:, None] * self.centers - sums) / (1 + counts[:, None])  # Δc_j
        self.centers -= self.alpha * delta
