"""Teachers for distillation that `fit` feeds by index: `EmbeddingTable`, and dlib on LFW (`dlib_teacher`).

A teacher too slow to run inside a training step (dlib's ResNet, `facecourse.models.DlibResNet`:
~85 ms a face on one CPU core) embeds every training image once, cached on disk
(`facecourse.eval.embedding_cache.dlib_embeddings`); `EmbeddingTable` then hands `fit` the
teacher's embedding of each batch image by its index. The table ignores the training flip:
dlib's embedding of a mirrored face has cos 0.985 (min 0.974, 20 LFW faces) with the
original's. Lesson 08 distils dlib this way.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


class EmbeddingTable(nn.Module):
    """A teacher whose embeddings were computed before training: row i is the teacher's
    embedding of training image i. `fit` passes it the batch's indices (`takes_indices`)."""

    takes_indices = True

    def __init__(self, embeddings):
        super().__init__()
        table = torch.as_tensor(np.asarray(embeddings), dtype=torch.float32)
        if table.ndim != 2 or not torch.isfinite(table).all():
            raise ValueError(f"EmbeddingTable needs finite embeddings (N, D), got shape "
                             f"{tuple(table.shape)}{'' if table.ndim != 2 else ' with NaN/Inf rows'}"
                             ": compute the teacher's embedding of every training image")
        self.register_buffer("embeddings", table)  # (N, D)

    @property
    def embedding_dim(self) -> int:
        return self.embeddings.shape[1]

    def __len__(self) -> int:
        return self.embeddings.shape[0]

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        return self.embeddings[indices]  # (B, D)


def dlib_teacher(data_cfg, image_size: int, workers: int = 2, progress: bool = True):
    """(train set, EmbeddingTable) for `teacher="dlib"`: the DevTrain images of the prepared
    LFW `data_cfg.root` at `image_size`, and dlib's embeddings of them (of the 112 px crops)."""
    from facecourse.data import load_lfw
    from facecourse.eval.embedding_cache import dlib_embeddings
    if data_cfg.source != "lfw":
        raise ValueError(f"teacher='dlib' needs data.source='lfw' (its embeddings are cached for "
                         f"a prepared LFW), not {data_cfg.source!r}")
    root = data_cfg.root or None
    table = dlib_embeddings(load_lfw(root, image_size=112), workers=workers, progress=progress)
    lfw = load_lfw(root, image_size=image_size)
    keep = lfw.devtrain_indices(data_cfg.hold_out)
    return lfw.dataset.subset(keep), EmbeddingTable(centre_embeddings(table[keep]))


def centre_embeddings(embeddings) -> np.ndarray:
    """Embeddings (N, D) minus their mean, so that cosine compares what differs between faces.

    dlib's descriptors all lie in one narrow cone: on the LFW DevTrain images two photos of
    *different* people have a mean cosine of ~0.84 (dlib compares them by Euclidean distance,
    threshold 0.6, where the offset does not matter). A student pulled towards them by
    1 - cos(student, teacher) then spends its capacity on the shared offset: distilling the raw
    table gave 51 % DevTest accuracy in a 4-epoch probe. Minus the training mean, random pairs
    have cos ~0 and the cosine target keeps only the identity signal.
    """
    embeddings = np.asarray(embeddings, np.float32)
    if embeddings.ndim != 2 or not np.isfinite(embeddings).all():
        raise ValueError("centre_embeddings needs finite embeddings (N, D): compute the teacher's "
                         "embedding of every training image first")
    return embeddings - embeddings.mean(0, keepdims=True)
