"""Build the pieces of a run from its config: data set, backbone, head, batches on the device."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from facecourse.data.dataset import to_float  # noqa: F401  (fit converts batches on the device)


def build_train_set(data_cfg, image_size: int):
    """The training set named by `DataConfig.source` (used when fit() is given none).

    lfw: `data.root` is a prepared LFW folder ("" = the cache `load_lfw` defaults to)."""
    from facecourse import data

    if data_cfg.source == "synthetic":
        return data.SyntheticFaces(data_cfg.num_identities, data_cfg.images_per_identity,
                                   image_size=image_size, difficulty=data_cfg.difficulty,
                                   seed=data_cfg.seed)
    root = Path(data_cfg.root) if data_cfg.root else None
    if data_cfg.source == "lfw":  # a prepared LFW (python -m facecourse.data prepare lfw ...);
        # train on the DevTrain identities only: they are disjoint from the DevTest pairs
        return data.load_lfw(root, image_size=image_size).devtrain()
    if data_cfg.source == "folder":
        if root is None:
            raise ValueError("data.source='folder' needs data.root: a folder with one "
                             "sub-folder of images per identity")
        faces = data.ImageFolderFaces(root, image_size=image_size, on_error=data_cfg.on_error)
        if faces.skipped:
            from facecourse.data.folder import describe_skipped
            print(describe_skipped(faces.skipped).replace("--on-error skip", "data.on_error=skip"))
        return faces
    raise ValueError(f"data.source={data_cfg.source!r}: use synthetic, lfw or folder")


def build_backbone(model_cfg) -> nn.Module:
    """The backbone a `ModelConfig` describes (the same call rebuilds it from a checkpoint)."""
    from facecourse.models.loading import backbone_from_config

    return backbone_from_config(model_cfg)


def build_head(head_cfg, embedding_dim: int, num_classes: int) -> nn.Module:
    from facecourse.losses import create_head

    return create_head(head_cfg.name, embedding_dim, num_classes, **head_cfg.kwargs())


def labels_of(dataset) -> torch.Tensor:
    """The int64 labels (N,) of a FaceDataset, a TensorDataset, or any (image, label) set."""
    if hasattr(dataset, "labels"):
        return torch.as_tensor(dataset.labels, dtype=torch.int64)
    if hasattr(dataset, "tensors"):
        return dataset.tensors[1].long()
    return torch.tensor([int(dataset[i][1]) for i in range(len(dataset))], dtype=torch.int64)


def in_memory_images(dataset) -> torch.Tensor | None:
    """The (N, 3, H, W) uint8 tensor of an in-memory FaceDataset, else None."""
    images = getattr(dataset, "images", None)
    if isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and images.ndim == 4:
        return images
    return None


def flip_mask(seed: int, step: int, global_batch: int, lo: int, n: int) -> torch.Tensor:
    """Which of this process's n images to mirror at `step`: a slice of a global draw, so the
    augmentation is the same for any world size and for a resumed run."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return (torch.rand(global_batch, generator=g) < 0.5)[lo:lo + n]


def flip(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mirror the images where `mask` is True (B, 3, H, W); out of place."""
    mask = mask.to(images.device).view(-1, 1, 1, 1)
    return torch.where(mask, images.flip(-1), images)


def jitter(images: torch.Tensor, seed: int, step: int, global_batch: int, lo: int,
           scale: float = 0.0, shift: float = 0.0, color: float = 0.0) -> torch.Tensor:
    """Random zoom, shift, contrast and brightness of float images (B, 3, H, W) in [-1, 1].

    Per image, u ~ U[-1, 1) five times: zoom by 1 + scale * u0 about the centre, shift by
    (shift * u1, shift * u2) of the side (edges reflected), then x * (1 + color * u3) +
    color * u4, clamped to [-1, 1]. Like `flip_mask`, the draws are a slice of one global draw
    seeded by (seed, step): the same for any world size and for a resumed run."""
    n = images.shape[0]
    g = torch.Generator().manual_seed(seed * 1_000_003 + step + 500_009)  # not flip_mask's stream
    u = (torch.rand(global_batch, 5, generator=g) * 2 - 1)[lo:lo + n].to(images.device)  # (n, 5)
    out = images
    if scale > 0 or shift > 0:
        theta = torch.zeros(n, 2, 3, device=images.device)  # output (x, y, 1) -> input (x, y)
        theta[:, 0, 0] = theta[:, 1, 1] = 1 / (1 + scale * u[:, 0])  # > 1 zooms out
        theta[:, :, 2] = 2 * shift * u[:, 1:3]  # normalized coordinates span 2 per side
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        out = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="reflection",
                            align_corners=False).to(images.dtype)
    if color > 0:
        contrast = (1 + color * u[:, 3]).view(-1, 1, 1, 1)
        brightness = (color * u[:, 4]).view(-1, 1, 1, 1)
        out = (out * contrast + brightness).clamp(-1.0, 1.0)
    return out
