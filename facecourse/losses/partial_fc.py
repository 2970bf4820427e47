"""PartialFC: a margin head whose class centres are sharded across DDP ranks, with sampling.

An, Deng et al. 2022, "Killing Two Birds with One Stone: Efficient and Robust Training of Face
Recognition CNNs by Partial FC", arXiv:2203.15565 (insightface's ``partial_fc_v2``).

Rank r holds classes [class_start, class_start + num_local) of ``num_classes``. Each step:
1. all-gather the embeddings (with autograd) and labels of the global batch (B_g = world·B);
2. keep every class of this shard that appears in the batch, fill up to ceil(r·num_local)
   with random other classes of the shard (r = ``sample_rate``; r = 1 keeps all);
3. margin logits (B_g, num_sampled) of the local shard with the chosen head's ``margin_logits``
   (its ``forward`` is never called), then, in training, its ``advance_schedule`` (SphereFace's λ);
4. softmax cross-entropy across the shards: the row max and the sum of exponentials are
   all-reduced, and the target logit comes from the one rank that holds it.
The returned loss is the mean over the global batch, identical on every rank; its gradients
wrt the local embeddings and the local weight shard are those of that scalar (with r = 1, the
same as an unsharded head + cross-entropy on one process). Under DDP the backbone's gradients
are then averaged over ranks, i.e. scaled by 1/world like insightface's. With no process group
it runs on one process (world size 1). Sampled-out rows of ``weight`` get a zero gradient.
Local batch sizes must be equal on all ranks (all_gather). Which heads it shards is the head's
own answer, ``partial_fc_refusal()`` (see ``MarginHead``), not a list kept here.
"""
from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import Tensor, nn

from .base import MarginHead, create_head, head_class


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _AllGather(torch.autograd.Function):
    """Concatenate every rank's (B, D) tensor; backward sums each rank's gradient of my slice."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)  # (world·B, D)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)  # every rank's logits depend on every embedding
        return grad.chunk(dist.get_world_size())[dist.get_rank()]


class _SumAcrossRanks(torch.autograd.Function):
    """all_reduce(SUM) for a loss replicated on every rank: the backward is the identity (each
    rank owns the gradient of its own summand; summing again would multiply it by world)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return grad


def partial_fc_refusal(head: str) -> str | None:
    """None when PartialFC can shard the head named `head`, else why not (the head's own answer)."""
    cls = head_class(head)
    ask = getattr(cls, "partial_fc_refusal", None)  # the head says; one outside MarginHead may not
    return ask() if ask is not None else "it is not a MarginHead (no margin_logits); use a margin head"


class PartialFC(nn.Module):
    """Sharded, sampled margin head that returns the cross-entropy loss (a scalar).

    ``head`` names a head of ``create_head`` whose ``partial_fc_refusal()`` is None (the others
    are refused with their reason); ``head_kw`` are its s / m arguments. ``self.head.weight`` is
    this rank's shard (num_local, D).
    """

    def __init__(self, embedding_dim: int, num_classes: int, sample_rate: float = 1.0, head: str = "arcface", **head_kw):
        super().__init__()
        refusal = partial_fc_refusal(head)
        if refusal is not None:
            raise ValueError(f"PartialFC: head={head!r} ({head_class(head).__name__}) is not supported: {refusal}")
        if not 0.0 < sample_rate <= 1.0:
            raise ValueError(f"PartialFC: sample_rate must be in (0, 1], got {sample_rate}")
        self.rank, self.world_size = _world()
        if num_classes < self.world_size:
            raise ValueError(f"PartialFC: num_classes={num_classes} < world size {self.world_size}: every rank needs a class")
        base, extra = divmod(num_classes, self.world_size)
        self.num_local = base + (self.rank < extra)
        self.class_start = self.rank * base + min(self.rank, extra)
        self.num_classes, self.sample_rate = num_classes, sample_rate
        self.num_sample = math.ceil(sample_rate * self.num_local)
        self.head: MarginHead = create_head(head, embedding_dim, self.num_local, **head_kw)

    def sample(self, labels: Tensor) -> tuple[Tensor, Tensor]:
        """(index of the kept local classes (S,), labels remapped to 0..S-1, -1 if not kept)."""
        local = labels - self.class_start
        is_local = (local >= 0) & (local < self.num_local)
        local = torch.where(is_local, local, -1)
        if self.num_sample >= self.num_local:
            return torch.arange(self.num_local, device=labels.device), local
        score = torch.rand(self.num_local, device=labels.device)  # random negatives ...
        score[local[is_local]] = 2.0  # ... after every positive class
        index = score.topk(max(self.num_sample, int((score > 1).sum()))).indices.sort().values  # (S,)
        remapped = torch.searchsorted(index, local.clamp_min(0))
        return index, torch.where(is_local, remapped, -1)

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        if self.world_size > 1:
            embeddings = _AllGather.apply(embeddings)  # (B_g, D)
            gathered = [torch.empty_like(labels) for _ in range(self.world_size)]
            dist.all_gather(gathered, labels.contiguous())
            labels = torch.cat(gathered)  # (B_g,)
        index, local_labels = self.sample(labels)
        weight = self.head.weight
        if len(index) < self.num_local:
            k = self.head.num_centers  # sub-centre heads keep K rows per class
            weight = weight.view(self.num_local, k, -1)[index].flatten(0, 1)
        logits = self.head.margin_logits(embeddings, local_labels, weight)  # (B_g, S)
        if self.head.training:
            self.head.advance_schedule()  # as the head's own forward does
        if logits.dtype in (torch.float16, torch.bfloat16):  # AMP: the softmax runs in fp32
            logits = logits.float()
        return distributed_cross_entropy(logits, local_labels, self.world_size)


def distributed_cross_entropy(logits: Tensor, labels: Tensor, world_size: int) -> Tensor:
    """Mean cross-entropy over rows whose classes are split over ranks (label -1: elsewhere)."""
    row_max = logits.detach().amax(dim=1)  # (B,), any constant per row works: no gradient
    if world_size > 1:
        dist.all_reduce(row_max, op=dist.ReduceOp.MAX)
    sum_exp = (logits - row_max[:, None]).exp().sum(dim=1)  # (B,)
    has_target = labels >= 0
    target = torch.where(has_target, logits.gather(1, labels.clamp_min(0)[:, None])[:, 0], 0.0)  # (B,)
    if world_size > 1:
        sum_exp, target = _SumAcrossRanks.apply(sum_exp), _SumAcrossRanks.apply(target)
    return (sum_exp.log() + row_max - target).mean()  # -log softmax of the target, Eq. (1)
