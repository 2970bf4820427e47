"""From a backbone to scores: `embed` (with flip TTA), `pair_scores`, `all_pairs_scores`.

Scores follow one convention: higher = more similar. ``metric="cosine"`` gives cos θ between
L2-normalized embeddings; ``metric="sqeuclidean"`` gives the NEGATIVE squared L2 distance
(FaceNet, arXiv:1503.03832), so thresholds stay "accept when score >= threshold".

Every lesson (00-11) embeds its test faces with `embed`.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


METRICS = ("cosine", "sqeuclidean")


class NonFiniteEmbeddingError(ValueError):
    """The backbone gave NaN/Inf embeddings: its weights are broken (e.g. a diverged run).

    Metrics on such embeddings are meaningless (every score NaN: AUC 0.5, threshold -inf), so
    `embed` refuses them. `n_bad` of `n_images` images were affected; `about(data, checkpoint)`
    returns the same error naming the data and the checkpoint, for a command line."""

    def __init__(self, n_bad: int, n_images: int, data: str | None = None, checkpoint=None):
        self.n_bad, self.n_images, self.data, self.checkpoint = n_bad, n_images, data, checkpoint
        of = f" of {data}" if data else ""
        broken = f"the checkpoint {checkpoint} is broken" if checkpoint else "its weights are broken"
        super().__init__(f"the model produced NaN/Inf embeddings for {n_bad} of {n_images} images{of}: "
                         f"{broken} (e.g. saved from a diverged run); retrain or use an earlier checkpoint")

    def __reduce__(self):  # picklable, like any exception
        return type(self), (self.n_bad, self.n_images, self.data, self.checkpoint)

    def about(self, data: str | None = None, checkpoint=None) -> "NonFiniteEmbeddingError":
        """The same error, naming `data` and `checkpoint` (those not given stay as they were)."""
        return NonFiniteEmbeddingError(self.n_bad, self.n_images, data or self.data,
                                       checkpoint or self.checkpoint)


def _batches(data, batch_size: int):
    """Yield float image batches (B, 3, H, W) in [-1, 1] from a dataset, tensor or array."""
    is_array = isinstance(data, (torch.Tensor, np.ndarray))
    images = data if is_array else getattr(data, "images", None)
    if images is None:  # a lazily loading Dataset: go through __getitem__
        if not isinstance(data, Dataset):
            raise TypeError(f"embed: expected a FaceDataset, a Dataset or an image tensor, "
                            f"got {type(data).__name__}")
        for x, *_ in DataLoader(data, batch_size=batch_size, shuffle=False):
            yield x
        return
    if not isinstance(images, torch.Tensor):
        images = torch.as_tensor(np.asarray(images))
    if images.ndim != 4:
        raise ValueError(f"images must be (N, 3, H, W), got shape {tuple(images.shape)}")
    for i in range(0, images.shape[0], batch_size):
        x = images[i:i + batch_size]
        yield x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x.float()


def embed(backbone: torch.nn.Module, data, batch_size: int = 256, flip: bool = False,
          device=None, progress: bool = False, amp: bool = False) -> torch.Tensor:
    """L2-normalized embeddings (N, D) of a `FaceDataset`, a Dataset or an image tensor.

    Images are uint8 (N, 3, H, W) (scaled to [-1, 1] here) or float already in [-1, 1].
    ``flip=True``: the embedding of the image plus that of its horizontal mirror, then
    normalized (insightface's test-time augmentation). The backbone runs in eval mode under
    `torch.inference_mode` (its train/eval mode is restored after); `device` defaults to
    the backbone's; ``amp=True`` uses float16 autocast on CUDA. Returned on the CPU, float32.
    Raises `NonFiniteEmbeddingError` (a ValueError) when the backbone gives NaN/Inf for any image.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    params = next(backbone.parameters(), None)
    device = torch.device(device) if device is not None else (
        params.device if params is not None else torch.device("cpu"))
    was_training = backbone.training
    backbone.eval()
    use_amp = amp and device.type == "cuda"
    autocast = torch.autocast("cuda", dtype=torch.float16) if use_amp else contextlib.nullcontext()
    batches = _batches(data, batch_size)
    if progress:
        from tqdm.auto import tqdm
        batches = tqdm(batches, desc="embed", unit="batch")
    out, n_bad = [], 0
    try:
        with torch.inference_mode(), autocast:
            for x in batches:
                x = x.to(device, non_blocking=True)
                e = backbone(x).float()  # (B, D)
                if flip:
                    e = e + backbone(torch.flip(x, dims=[3])).float()
                n_bad += int((~torch.isfinite(e)).any(dim=1).sum())
                out.append(F.normalize(e, dim=1).cpu())
    finally:
        backbone.train(was_training)
    if not out:
        raise ValueError("embed got no images: the dataset or tensor is empty")
    emb = torch.cat(out)
    if n_bad:
        raise NonFiniteEmbeddingError(n_bad, emb.shape[0], getattr(data, "name", None))
    return emb


def _prepare(embeddings, metric: str) -> torch.Tensor:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    e = embeddings if isinstance(embeddings, torch.Tensor) else torch.as_tensor(
        np.asarray(embeddings))
    if e.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got shape {tuple(e.shape)}")
    e = e.float()
    return F.normalize(e, dim=1) if metric == "cosine" else e


def _score(x: torch.Tensor, y: torch.Tensor, metric: str) -> torch.Tensor:
    if metric == "cosine":
        return (x * y).sum(1)
    return -((x - y) ** 2).sum(1)


def pair_scores(embeddings, pairs, metric: str = "cosine") -> torch.Tensor:
    """Scores (P,) of index pairs: `pairs` is a `Pairs` (``.a``, ``.b``) or a tuple ``(a, b)``.

    cosine: cos θ (embeddings are normalized here); sqeuclidean: ``-||x_a - x_b||²``.
    """
    a, b = (pairs.a, pairs.b) if hasattr(pairs, "a") else pairs
    e = _prepare(embeddings, metric)
    a = torch.as_tensor(np.asarray(a), dtype=torch.long, device=e.device)
    b = torch.as_tensor(np.asarray(b), dtype=torch.long, device=e.device)
    if a.shape != b.shape:
        raise ValueError(f"pair index arrays differ in length: a has {a.numel()}, b {b.numel()}")
    for name, idx in (("a", a), ("b", b)):
        if idx.numel() and (idx.min() < 0 or idx.max() >= e.shape[0]):
            raise ValueError(f"pair index {name} out of range for {e.shape[0]} embeddings")
    return _score(e[a], e[b], metric)


def all_pairs_scores(embeddings, labels, metric: str = "cosine",
                     chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores and issame of every unordered pair i < j of a test set: ``(scores, issame)``.

    N images give N(N-1)/2 pairs (e.g. 2,000 images: 1,999,000 pairs, ~2 M impostors), enough
    for TAR@FAR=1e-4. Rows are processed `chunk` at a time so the similarity block stays
    (chunk, N). Pair order: row-major over the upper triangle (as ``torch.triu_indices``).
    """
    e = _prepare(embeddings, metric)
    y = torch.as_tensor(np.asarray(labels)).to(e.device)
    n = e.shape[0]
    if y.shape != (n,):
        raise ValueError(f"labels has {y.numel()} entries but there are {n} embeddings")
    sq = (e * e).sum(1)
    scores, issame = [], []
    for i in range(0, n - 1, chunk):
        rows = e[i:i + chunk]  # (c, D)
        sim = rows @ e[i:].T  # (c, N - i)
        if metric == "sqeuclidean":
            sim = 2 * sim - sq[i:i + chunk, None] - sq[None, i:]  # -||x - y||²
        upper = torch.ones_like(sim, dtype=torch.bool).triu(1)  # keep j > i only
        scores.append(sim[upper])
        issame.append((y[i:i + chunk, None] == y[None, i:])[upper])
    if not scores:
        raise ValueError("all_pairs_scores needs at least two embeddings")
    return torch.cat(scores), torch.cat(issame)


def evaluate_verification(backbone: torch.nn.Module, dataset, pairs, flip: bool = False,
                          metric: str = "cosine", fars=(1e-1, 1e-2, 1e-3, 1e-4),
                          batch_size: int = 256, device=None, progress: bool = False,
                          amp: bool = False, keep_scores: bool = False) -> dict:
    """Embed the images `pairs` refers to, score the pairs, and return `verification_metrics`.

    `pairs.fold` (if present) gives the folds, so LFW View 2 follows its official split.
    Only the images used by some pair are embedded. `keep_scores`: also return the pair
    scores and `issame` (numpy), for ROC curves and score histograms.
    """
    from .verification import verification_metrics

    a, b = np.asarray(pairs.a), np.asarray(pairs.b)
    used, inverse = np.unique(np.r_[a, b], return_inverse=True)
    images = getattr(dataset, "images", None)
    if images is not None:
        subset = images[torch.as_tensor(used)]
    else:
        subset = torch.utils.data.Subset(dataset, used.tolist())
    try:
        emb = embed(backbone, subset, batch_size=batch_size, flip=flip, device=device,
                    progress=progress, amp=amp)
    except NonFiniteEmbeddingError as e:
        raise e.about(data=getattr(dataset, "name", None)) from None
    scores = pair_scores(emb, (inverse[:a.size], inverse[a.size:]), metric=metric)
    folds = getattr(pairs, "fold", None)
    out = verification_metrics(scores, pairs.issame, folds=folds, fars=fars)
    out.update(metric=metric, flip=flip, embedding_dim=int(emb.shape[1]))
    if keep_scores:
        out.update(scores=scores.numpy(), issame=np.asarray(pairs.issame))
    return out
