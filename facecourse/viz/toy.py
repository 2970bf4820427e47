"""The toy experiment behind `margin_explorer(mode="train")`: 2-D features for 8 identities.

Deng et al., "ArcFace", arXiv:1801.07698, Sec. 3 / Fig. 3: with 2-D features on the unit circle,
softmax leaves identities touching; an additive angular margin opens clear gaps between them.
Here each identity is a random prototype vector in `in_dim` dimensions, its "images" the
prototype plus Gaussian noise; a small MLP maps them to 2-D features (no bias in the head: the
margin head holds only class centres). A loop of a few hundred full-batch Adam steps trains
it in about a second on a CPU. A `FaceDataset` can replace the vectors (its images flattened).

Lessons 01 and 02 train this toy in front of the student.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class ToyMarginTrainer:
    """Train an MLP -> 2-D feature + `create_head("combined", 2, C, s, m1, m2, m3)`."""

    def __init__(self, num_classes: int = 8, per_class: int = 60, in_dim: int = 16,
                 noise: float = 2.0, seed: int = 0, dataset=None, lr: float = 0.01):
        g = torch.Generator().manual_seed(seed)
        if dataset is not None:
            x = dataset.images.float().div(127.5).sub(1.0).flatten(1)  # (N, 3*H*W)
            y = torch.as_tensor(dataset.labels, dtype=torch.long)
        else:
            protos = torch.randn(num_classes, in_dim, generator=g)  # (C, in_dim)
            y = torch.arange(num_classes).repeat_interleave(per_class)  # (N,)
            x = protos[y] + noise * torch.randn(len(y), in_dim, generator=g)
        self.inputs, self.labels = x, y
        self.num_classes = int(y.max()) + 1
        self.seed, self.lr = seed, lr
        self.reset()

    def reset(self, m1: float = 1.0, m2: float = 0.0, m3: float = 0.0, s: float = 16.0,
              head: str = "combined", center_loss_weight: float = 0.0,
              center_alpha: float = 0.5) -> None:
        """A fresh model and head with this margin (same initial weights for every margin).

        ``head="softmax"``: a plain linear softmax head (W x + b, the margins are ignored), the
        unnormalized baseline of lesson 01. ``center_loss_weight`` λ > 0 adds λ·center loss with
        centre rate ``center_alpha`` α (Wen et al., ECCV 2016, Eq. (5)) on the raw 2-D features.
        """
        from facecourse.losses import CenterLoss, create_head

        torch.manual_seed(self.seed)
        d = self.inputs.shape[1]
        self.model = nn.Sequential(nn.Linear(d, 64), nn.PReLU(), nn.Linear(64, 64), nn.PReLU(),
                                   nn.Linear(64, 2))  # (N, 2) features
        if head == "softmax":
            self.head = create_head("softmax", 2, self.num_classes)
        else:
            self.head = create_head(head, 2, self.num_classes, s=s, m1=m1, m2=m2, m3=m3)
        self.center_loss_weight = center_loss_weight
        self.center_loss = (CenterLoss(self.num_classes, 2, alpha=center_alpha)
                            if center_loss_weight > 0 else None)
        with torch.no_grad():  # spread the initial centres, as a trained head ends up
            angles = torch.arange(self.num_classes) * 2 * math.pi / self.num_classes + 0.3
            self.head.weight.copy_(torch.stack([angles.cos(), angles.sin()], 1))
        params = list(self.model.parameters()) + list(self.head.parameters())
        self.optimizer = torch.optim.Adam(params, lr=self.lr)
        self.history: list[float] = []

    def step(self) -> float:
        """One full-batch step of cross-entropy on the margin logits."""
        self.model.train()
        features = self.model(self.inputs)  # (N, 2)
        loss = F.cross_entropy(self.head(features, self.labels), self.labels)
        if self.center_loss is not None:  # Eq. (5): L = L_S + λ L_C
            loss = loss + self.center_loss_weight * self.center_loss(features, self.labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.center_loss is not None:  # Eq. (4), after the step
            self.center_loss.update_centers(features.detach(), self.labels)
        self.history.append(loss.item())
        return self.history[-1]

    def run(self, steps: int, draw_every: int = 0, callback=None) -> list[float]:
        """`steps` steps; `callback()` every `draw_every` steps (to redraw a figure)."""
        for i in range(steps):
            self.step()
            if callback is not None and draw_every and (i + 1) % draw_every == 0:
                callback()
        return self.history

    @torch.no_grad()
    def features(self) -> np.ndarray:
        """The raw (not normalized) 2-D features (N, 2)."""
        return self.model(self.inputs).numpy()

    @torch.no_grad()
    def features_on_circle(self) -> tuple[np.ndarray, np.ndarray]:
        """Normalized features (N, 2) and normalized class centres (C, 2)."""
        f = F.normalize(self.model(self.inputs), dim=1)
        return f.numpy(), F.normalize(self.head.weight, dim=1).numpy()

    @torch.no_grad()
    def accuracy(self) -> float:
        """Training accuracy of the nearest centre (no margin at test time)."""
        f, w = self.features_on_circle()
        return float(((f @ w.T).argmax(1) == self.labels.numpy()).mean())

    @torch.no_grad()
    def angular_spread(self) -> float:
        """Mean angle (radians) between a feature and its own class centre."""
        f, w = self.features_on_circle()
        cos = (f * w[self.labels.numpy()]).sum(1).clip(-1, 1)
        return float(np.arccos(cos).mean())
