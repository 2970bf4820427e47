"""Tiny deterministic pieces shared by the train tests (and run as a script by some of them).

`python tests/train/_train_tiny.py OUT_DIR [key=value ...]` trains a tiny run with `fit` and saves
the final weights to OUT_DIR/final.pt; under torchrun each process joins the gloo group.
"""
from __future__ import annotations

import json
import sys

import torch
from torch import nn

from facecourse.data.dataset import FaceDataset
from facecourse.train import TrainConfig
from facecourse.train.config import apply_overrides, parse_value


class NoImages(torch.utils.data.Dataset):
    """The same faces, served one by one (no `.images`): fit falls back to a DataLoader."""

    def __init__(self, data):
        self.data, self.labels = data, data.labels

    def __getitem__(self, i):
        return self.data[i]

    def __len__(self):
        return len(self.data)


def tiny_faces(num_classes=8, per_class=8, size=32, seed=0) -> FaceDataset:
    """Random uint8 images whose class shifts the mean colour (so a model can learn a bit)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_classes).repeat_interleave(per_class)  # (N,)
    noise = torch.randint(0, 120, (len(labels), 3, size, size), generator=g)
    colour = (labels * 131 % 136)[:, None, None, None]
    images = (noise + colour).clamp(0, 255).to(torch.uint8)  # (N, 3, H, W)
    ages = torch.rand(len(labels), generator=g).numpy() * 60 + 10
    names = [f"id{c}" for c in range(num_classes)]
    return FaceDataset(images, labels, names, meta={"age": ages}, name="tiny")


def tiny_config(**overrides) -> TrainConfig:
    """convnet (width 0.25) at 32 px, ArcFace, 16 images a batch, no progress bar."""
    d = TrainConfig().to_dict()
    d = apply_overrides(d, {
        "model.backbone": "convnet", "model.image_size": 32, "model.embedding_dim": 16,
        "model.width": 0.25, "head.name": "arcface", "head.s": 16.0, "head.m": 0.2,
        "optim.lr": 0.05, "batch_size": 16, "epochs": 2, "log_every": 2, "progress": False,
        "device": "cpu", "amp": "off", "channels_last": False,
    })
    return TrainConfig.from_dict(apply_overrides(d, overrides))


class NoBatchNorm(nn.Module):
    """A backbone with no batch statistics: DDP over 2 processes then equals 1 process exactly."""

    def __init__(self, size=32, embedding_dim=16):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8 * (size // 2) ** 2, embedding_dim)

    def forward(self, images):
        return self.fc(torch.relu(self.conv(images)).flatten(1))  # (B, D)


def main(argv) -> None:
    from facecourse.train import fit

    out, sets = argv[0], dict(a.split("=", 1) for a in argv[1:])
    custom = sets.pop("_backbone", "") == "nobn"
    torch.manual_seed(0)
    backbone = NoBatchNorm() if custom else None
    cfg = tiny_config(out_dir=out, **{k: parse_value(v) for k, v in sets.items()})
    result = fit(cfg, tiny_faces(), backbone=backbone)
    if int(__import__("os").environ.get("RANK", "0")) == 0:
        torch.save({"backbone": result.backbone.state_dict(), "head": result.head.state_dict()},
                   f"{out}/final.pt")
        with open(f"{out}/history_returned.json", "w") as f:
            json.dump(result.history, f)


if __name__ == "__main__":
    main(sys.argv[1:])
    from facecourse.train.distributed import exit_process
    exit_process(0)  # a torchrun worker ends without the interpreter's teardown
