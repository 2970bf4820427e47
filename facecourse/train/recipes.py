"""Named training presets: a recipe is a dict of dotted overrides of `TrainConfig` defaults.

`python -m facecourse train --recipe synthetic-arcface --set optim.lr=0.05` applies the recipe,
then the `--set`s. Add a recipe by adding an entry (lessons and other tracks add theirs here).
"""
from __future__ import annotations

RECIPES: dict[str, dict] = {
    # ArcFace (arXiv:1801.07698: s=64, m=0.5, SGD momentum 0.9, wd 5e-4) on synthetic faces,
    # scaled to a laptop: a small CNN at 64 px, s=32 because 100 classes need less scale.
    "synthetic-arcface": {
        "model.backbone": "convnet", "model.image_size": 64, "model.embedding_dim": 128,
        "head.name": "arcface", "head.s": 32.0, "head.m": 0.5,
        "data.source": "synthetic", "data.num_identities": 100, "data.images_per_identity": 20,
        "optim.name": "sgd", "optim.lr": 0.1, "optim.weight_decay": 5e-4,
        "optim.warmup_epochs": 1, "optim.schedule": "cosine", "optim.clip_grad_norm": 5.0,
        "epochs": 10, "batch_size": 64, "log_every": 10, "checkpoint_every": 100,
    },
    # FaceNet triplets (arXiv:1503.03832) with P x K batches and semi-hard mining.
    "synthetic-triplet": {
        "model.backbone": "convnet", "model.image_size": 64, "model.embedding_dim": 128,
        "objective": "triplet", "triplet_margin": 0.2, "mining": "semi_hard",
        "data.sampler": "pk", "data.P": 16, "data.K": 4, "batch_size": 64,
        "optim.name": "adamw", "optim.lr": 1e-3, "optim.weight_decay": 1e-4,
        "epochs": 10, "log_every": 10, "checkpoint_every": 100,
    },
}


def get_recipe(name: str) -> dict:
    """The overrides of recipe `name` (a copy)."""
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; known recipes: {', '.join(sorted(RECIPES))}")
    return dict(RECIPES[name])
