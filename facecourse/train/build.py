"""Build the pieces of a run from its config: data set, backbone, head (batch augmentation is
facecourse.models.augment)."""
from __future__ import annotations

from pathlib import Path

import torch
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
        return data.load_lfw(root, image_size=image_size).devtrain(data_cfg.hold_out)
    if data_cfg.source == "folder":
        if root is None:
            raise ValueError("data.source='folder' needs data.root: a folder with one "
                             "sub-folder of images per identity")
        faces = data.ImageFolderFaces(root, image_size=image_size, on_error=data_cfg.on_error)
        if faces.skipped:
            from facecourse.data.folder import describe_skipped
            print(describe_skipped(faces.skipped).replace("--on-error skip", "data.on_error=skip"))
        return faces
    if data_cfg.source == "rec":  # insightface's CASIA-WebFace / MS1M: decoded lazily, so
        # batches come through a DataLoader (data.workers > 0 decodes in parallel)
        return data.load_rec(find_rec(data_cfg.root), image_size=image_size)
    raise ValueError(f"data.source={data_cfg.source!r}: use synthetic, lfw, folder or rec")


REC_FOLDERS = ("faces_webface_112x112", "faces_emore", "ms1m-retinaface-t1")  # insightface's names


def find_rec(root: str = "") -> Path:
    """The training .rec that `data.root` names: a .rec file, a folder holding train.rec, or ""
    for the first of $FACECOURSE_DATA/<insightface folder>/train.rec (REC_FOLDERS)."""
    from facecourse.data.paths import default_data_root
    if root:
        path = Path(root)
        path = path / "train.rec" if path.is_dir() else path
        if not path.is_file():
            raise FileNotFoundError(f"data.root={root!r}: no {path}; pass an insightface .rec (with "
                                    "its .idx beside it) or the folder that holds train.rec")
        return path
    base = default_data_root()
    for name in REC_FOLDERS if base is not None else ():
        if (base / name / "train.rec").is_file():
            return base / name / "train.rec"
    raise FileNotFoundError(f"data.source=rec: no train.rec in {base or '$FACECOURSE_DATA'}/"
                            f"{{{','.join(REC_FOLDERS)}}}; download CASIA-WebFace or MS1M as "
                            "insightface packs it (datasets/insightface_rec.md), or set data.root "
                            "to a .rec")


def build_backbone(model_cfg) -> nn.Module:
    """The backbone a `ModelConfig` describes (the same call rebuilds it from a checkpoint)."""
    from facecourse.models.loading import backbone_from_config

    return backbone_from_config(model_cfg)


def build_head(head_cfg, embedding_dim: int, num_classes: int) -> nn.Module:
    """The head `head_cfg` names; with `partial_fc` > 0, that head inside PartialFC (this
    process's shard of the centres; its forward returns the loss itself)."""
    from facecourse.losses import PartialFC, create_head

    if head_cfg.partial_fc > 0:
        return PartialFC(embedding_dim, num_classes, sample_rate=head_cfg.partial_fc,
                         head=head_cfg.name, **head_cfg.kwargs())
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
