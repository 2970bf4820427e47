"""`FaceDataset`: the one dataset type every lesson trains and tests on (synthetic or real)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset


def to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 3, H, W) -> float in [-1, 1], the course's image convention."""
    return images_uint8.float().div_(127.5).sub_(1.0)


class _IndexedLoader:
    """loader(i) = base(indices[i]); a class (not a lambda) so DataLoader workers can pickle it."""

    def __init__(self, base: Callable[[int], torch.Tensor], indices: np.ndarray):
        self.base, self.indices = base, indices

    def __call__(self, i: int) -> torch.Tensor:
        return self.base(int(self.indices[i]))


class FaceDataset(Dataset):
    """Face images with identity labels and per-image factor metadata.

    images: uint8 tensor (N, 3, H, W), or None with `loader(i) -> uint8 (3, H, W)` for sets too
        large to hold in memory (MS1M, CASIA).
    labels: int64 (N,), identities 0..C-1 (-1 for "unknown", e.g. images of a `.bin` pair file).
    identity_names: list of C names. meta: dict of per-image numpy arrays (N,), e.g. `age`.
    landmarks: optional float (N, 5, 2) pixel coordinates (eyes, nose tip, mouth corners).
    identity_params: optional (C, P) array of what defines each identity (synthetic faces).
    `__getitem__(i)` returns (image float (3, H, W) in [-1, 1], label int).
    """

    def __init__(self, images: torch.Tensor | None, labels, identity_names: Sequence[str],
                 meta: dict | None = None, landmarks=None, identity_params=None,
                 loader: Callable[[int], torch.Tensor] | None = None, name: str = "faces"):
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        n = len(self.labels)
        if images is None and loader is None:
            raise ValueError(f"FaceDataset {name!r}: pass `images` (N, 3, H, W) uint8 or a `loader`.")
        if images is not None:
            if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
                raise ValueError(f"FaceDataset {name!r}: images must be uint8 (N, 3, H, W), got "
                                 f"{images.dtype} {tuple(images.shape)}; convert with "
                                 "(x * 255).round().to(torch.uint8).")
            if len(images) != n:
                raise ValueError(f"FaceDataset {name!r}: {len(images)} images but {n} labels.")
        self.images = images
        self.loader = loader
        self.identity_names = list(identity_names)
        self.meta = {k: np.asarray(a) for k, a in (meta or {}).items()}
        for k, a in self.meta.items():
            if len(a) != n:
                raise ValueError(f"FaceDataset {name!r}: meta[{k!r}] has {len(a)} values, expected {n}.")
        self.landmarks = None if landmarks is None else np.asarray(landmarks, dtype=np.float32)
        self.identity_params = identity_params
        self.name = name

    @property
    def num_classes(self) -> int:
        return len(self.identity_names)

    def __len__(self) -> int:
        return len(self.labels)

    def image_uint8(self, i: int) -> torch.Tensor:
        """The stored image (3, H, W) uint8."""
        return self.images[i] if self.images is not None else self.loader(int(i))

    def __getitem__(self, i):
        return to_float(self.image_uint8(i)), int(self.labels[i])

    def uint8_batch(self, indices) -> torch.Tensor:
        """Images at `indices` as one uint8 tensor (B, 3, H, W)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.int64)
        if self.images is not None:
            return self.images[idx]
        return torch.stack([self.loader(int(i)) for i in idx])

    def subset(self, indices) -> "FaceDataset":
        """The images at `indices`, labels re-numbered 0..C'-1 in order of first identity id."""
        idx = np.asarray(indices, dtype=np.int64)
        old = self.labels.numpy()[idx]
        known = np.unique(old[old >= 0])
        remap = {int(c): j for j, c in enumerate(known)}
        labels = np.array([remap.get(int(c), -1) for c in old], dtype=np.int64)
        names = [self.identity_names[c] for c in known] if self.identity_names else []
        params = None if self.identity_params is None else self.identity_params[known]
        images = None if self.images is None else self.images[torch.as_tensor(idx)]
        loader = None if images is None and self.loader is None else (
            _IndexedLoader(self.loader, idx) if images is None else None)
        return FaceDataset(images, labels, names, {k: a[idx] for k, a in self.meta.items()},
                           None if self.landmarks is None else self.landmarks[idx], params,
                           loader, self.name)

    def most_photographed(self, num_identities: int | None, per_identity: int,
                          min_images: int = 4) -> "FaceDataset":
        """The `num_identities` people with the most photos (ties: lower id first; None: all of
        them), dropping any with fewer than `min_images`, and the first `per_identity` photos of
        each, in the original order. How the lessons train on a set as long-tailed as LFW's
        DevTrain, where most people have one photo and a class of one photo teaches a margin
        head nothing.
        """
        labels = self.labels.numpy()
        counts = np.bincount(labels[labels >= 0], minlength=self.num_classes)
        keep = np.argsort(-counts, kind="stable")[:num_identities]
        keep = keep[counts[keep] >= min_images]
        if len(keep) == 0:
            raise ValueError(f"{self.name}: no identity has {min_images} or more images "
                             f"(the most is {counts.max() if len(counts) else 0}); lower min_images.")
        rows = np.concatenate([np.flatnonzero(labels == c)[:per_identity] for c in keep])
        return self.subset(np.sort(rows))

    def __repr__(self) -> str:
        shape = tuple(self.images.shape[1:]) if self.images is not None else "lazy"
        return (f"FaceDataset({self.name!r}, {len(self)} images, {self.num_classes} identities, "
                f"image {shape}, meta={sorted(self.meta)})")


def contact_sheet(images_uint8: torch.Tensor, cols: int = 8) -> np.ndarray:
    """Tile uint8 images (N, 3, H, W) into one (rows * H, cols * W, 3) array (blank padding)."""
    n, _, h, w = images_uint8.shape
    rows = -(-n // cols)
    grid = torch.full((rows * cols, 3, h, w), 255, dtype=torch.uint8)
    grid[:n] = images_uint8
    return grid.view(rows, cols, 3, h, w).permute(0, 3, 1, 4, 2).reshape(rows * h, cols * w, 3).numpy()
