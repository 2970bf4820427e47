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


def dlib_teacher(data_cfg, image_size: int, workers: int = 2, progress: bool = True, unlabeled: str = ""):
    """(train set, EmbeddingTable) for `teacher="dlib"`: the DevTrain images of the prepared
    LFW `data_cfg.root` at `image_size`, and dlib's embeddings of them (of the 112 px crops).
    `unlabeled="lag-devtrain"` appends `lag_devtrain_faces`, labelled as the LFW person."""
    from facecourse.data import load_lfw
    from facecourse.eval.embedding_cache import dlib_embeddings
    if data_cfg.source != "lfw":
        raise ValueError(f"teacher='dlib' needs data.source='lfw' (its embeddings are cached for "
                         f"a prepared LFW), not {data_cfg.source!r}")
    root = data_cfg.root or None
    table = dlib_embeddings(load_lfw(root, image_size=112), workers=workers, progress=progress)
    lfw = load_lfw(root, image_size=image_size)
    keep = lfw.devtrain_indices(data_cfg.hold_out)
    train, rows = lfw.dataset.subset(keep), table[keep]
    if unlabeled == "lag-devtrain":
        extra, extra_rows = lag_devtrain_faces(lfw, train.identity_names, image_size, workers, progress)
        train = _append(train, extra)
        rows = np.concatenate([rows, extra_rows])
    elif unlabeled:
        raise ValueError(f"dlib_teacher: unlabeled={unlabeled!r}: use '' or 'lag-devtrain'")
    return train, EmbeddingTable(centre_embeddings(rows))


def lag_devtrain_faces(lfw, identities, image_size: int, workers: int = 2, progress: bool = True):
    """(FaceDataset, dlib's embeddings (M, 128)) of the prepared LAG-dev photos of the people
    who are LFW DevTrain people and not DevTest ones (`LAG.lfw_overlap`), labelled by their
    place in `identities` (the training set's names; a person not there, e.g. held out, is left
    out): young and adult photos of people the model trains on anyway. The LAG
    figures are taken on the LAG people in no LFW list, so none of these is tested there.
    dlib embeds the 112 px crops into the cache `bench/lfw.py` uses for LAG."""
    from facecourse.data import FaceDataset, load_lag
    from facecourse.eval.embedding_cache import cached_embeddings, dlib_cache_path
    from facecourse.models import DlibResNet
    try:
        lag112 = load_lag(image_size=112)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"distill.unlabeled='lag-devtrain' needs a prepared LAG: {e} (or train "
                                "without those faces: --set distill.unlabeled='')") from None
    overlap = lag112.lfw_overlap(devtrain=lfw.devtrain_identities, devtest=lfw.devtest_identities)
    banned = {n.casefold() for n in overlap.devtest}
    label_of = {n.casefold(): c for c, n in enumerate(identities)}
    names = lag112.dataset.identity_names
    wanted = ({n.casefold() for n in overlap.devtrain} - banned) & set(label_of)
    lag_labels = lag112.dataset.labels.numpy()
    rows = np.flatnonzero([names[c].casefold() in wanted for c in lag_labels])
    if not len(rows):
        raise ValueError("distill.unlabeled='lag-devtrain': the prepared LAG holds no photo of an "
                         "LFW DevTrain person; prepare the full lag-dev.tgz (datasets/lag.md)")
    table = cached_embeddings(lag112.dataset.images, rows, dlib_cache_path(lag112), DlibResNet("landmarks"),
                              workers, progress=progress)[rows]
    lag = lag112 if image_size == 112 else load_lag(image_size=image_size)
    labels = [label_of[names[c].casefold()] for c in lag_labels[rows]]
    faces = FaceDataset(lag.dataset.images[torch.as_tensor(rows)], labels, list(identities), name="lag-devtrain")
    return faces, table


def _append(a, b):
    """The images of FaceDataset `b` after `a`'s (the same identity list)."""
    from facecourse.data import FaceDataset
    if a.identity_names != b.identity_names:
        raise ValueError("_append: the two sets name their identities differently")
    return FaceDataset(torch.cat([a.images, b.images]), torch.cat([a.labels, b.labels]),
                       a.identity_names, name=f"{a.name}+{b.name}")


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
