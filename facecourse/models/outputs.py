"""`BackboneOutput`: a backbone's embeddings plus the side outputs a loss reads, returned in
training instead of left on modules for the loss to find.

A plain backbone returns embeddings (B, D). A backbone whose training needs more returns, in
training mode, ``BackboneOutput(embeddings, extras)``: `MaskedFaceDANN` its domain logits
(``extras["domain"]``, lesson 10), `CBAMBackbone` its attention maps (``extras["attention"]``,
lesson 08's A-SKD). `fit` hands ``extras`` to ``extra_loss(images, labels, embeddings,
extras)``; in eval mode every backbone returns embeddings only.
"""
from __future__ import annotations

from typing import NamedTuple

from torch import Tensor


class BackboneOutput(NamedTuple):
    embeddings: Tensor  # (B, D)
    extras: dict  # name -> side output (e.g. "domain": DomainState, "attention": [(C, S)])


def split_output(out) -> tuple[Tensor, dict]:
    """(embeddings, extras) of a backbone's output, whichever kind it returned."""
    if isinstance(out, BackboneOutput):
        return out.embeddings, out.extras
    return out, {}
