"""Plain softmax head and NormFace."""
from __future__ import annotations

from torch import Tensor, nn

from .base import MarginHead, register_head


@register_head("softmax")
class SoftmaxHead(nn.Module):
    """Plain softmax classifier: logits = W x + b (a linear layer with bias); labels unused.

    The baseline of DeepFace / DeepID: nothing bounds the feature or weight norms, so the
    training loss can drop by growing norms instead of separating angles.
    """

    def __init__(self, embedding_dim: int, num_classes: int):
        super().__init__()
        self.embedding_dim, self.num_classes = embedding_dim, num_classes
        self.fc = nn.Linear(embedding_dim, num_classes)  # weight (C, D), bias (C,)

    @property
    def weight(self) -> Tensor:
        return self.fc.weight

    def forward(self, embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.fc(embeddings)  # (B, C)

    @classmethod
    def partial_fc_refusal(cls) -> str:
        return "it is not a margin head (W x + b, no margin_logits); use normface, softmax on cosines"


@register_head("normface")
class NormFaceHead(MarginHead):
    """NormFace: softmax on cosines, logits = s·cos θ_j (Wang et al. 2017, "NormFace: L2
    Hypersphere Embedding for Face Verification", arXiv:1704.06369, Eq. (7)).

    Symbols: s -> ``s`` (the paper's scale; it shows s must be large enough, Sec. 3.3, default 30).
    """

    def __init__(self, embedding_dim: int, num_classes: int, s: float = 30.0):
        super().__init__(embedding_dim, num_classes, s=s)
