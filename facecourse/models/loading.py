"""From a training checkpoint to a model: `read_checkpoint` and `backbone_from_checkpoint`.

A checkpoint of `facecourse.train.fit` is one dict of tensors and plain values (see
`facecourse.train.checkpoint`), read here with `torch.load(..., weights_only=True)`: no
pickled classes, so loading one can never run code. Both `train` (resume, export, a teacher
checkpoint) and `eval` (`python -m facecourse eval`) load checkpoints through this module,
which needs nothing from `facecourse.train`: the config stays the plain dict the run saved
(`TrainConfig.from_dict(config)` turns it back into dataclasses). Lesson 04 reads the
checkpoint of its torchrun run.
"""
from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path

import torch
from torch import nn

from .registry import create_backbone

CHECKPOINT_NAME = "checkpoint.pt"
# the keys of a run's `model` config that decide the backbone (train's ModelConfig fields that
# create_backbone takes); the other fields (e.g. sync_bn) only change how it trains
BACKBONE_KEYS = ("embedding_dim", "image_size", "width", "neck", "dropout")


def read_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Load a checkpoint written by `save_checkpoint` (safe: `weights_only=True`).

    Every way a file can be wrong (missing, empty, truncated, holding pickled objects, not a
    facecourse checkpoint) is one `ValueError`/`FileNotFoundError` naming the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist; pass the "
                                f"{CHECKPOINT_NAME} written by a training run (its out_dir)")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"checkpoint {str(path)!r} is empty (0 bytes): its write never happened "
                         "or was cut off. Use an earlier checkpoint, or train again.")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:  # never pass torch's advice (weights_only=False) on
        raise ValueError(
            f"checkpoint {str(path)!r} holds pickled Python objects, which facecourse refuses to "
            "load (loading them could run any code). A facecourse checkpoint holds only tensors "
            "and plain values: use one written by `python -m facecourse train`, or save yours as "
            f"a plain dict of tensors. ({str(e).splitlines()[0][:120]})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"checkpoint {str(path)!r} ({size} bytes) is truncated or not a torch "
                         "checkpoint: it was cut off while being copied or written. Use an "
                         f"earlier checkpoint, or train again. ({str(e).splitlines()[0][:120]})"
                         ) from None
    if not isinstance(state, dict) or "backbone" not in state or "config" not in state:
        raise ValueError(f"{str(path)!r} is not a facecourse training checkpoint (it has no "
                         "'backbone' and 'config' entries)")
    return state


def backbone_from_config(model) -> nn.Module:
    """`create_backbone` from a run's `model` config: a dict (as saved) or a `ModelConfig`.

    Keys it does not hold take `create_backbone`'s defaults; `backbone` (the name) is needed."""
    model = asdict(model) if is_dataclass(model) else model
    if not isinstance(model, Mapping) or "backbone" not in model:
        raise ValueError(f"a model config names its backbone (e.g. {{'backbone': 'convnet', ...}}), "
                         f"got {model!r}")
    extra = model.get("extra") or {}
    if not isinstance(extra, Mapping):
        raise ValueError(f"model.extra holds keywords of the backbone's factory as a dict "
                         f"(e.g. {{'channels': [64, 128, 256]}}), got {extra!r}")
    kw = {k: model[k] for k in BACKBONE_KEYS if k in model}
    both = sorted(set(kw) & set(extra))
    if both:
        raise ValueError(f"model.extra repeats {both}: set them as model.<field>, not in extra")
    extra = {k: tuple(v) if isinstance(v, list) else v for k, v in extra.items()}  # JSON lists
    try:
        return create_backbone(model["backbone"], **kw, **extra)
    except TypeError as e:  # only the factory refusing one of extra's keywords is the config's fault
        if not any(f"unexpected keyword argument '{k}'" in str(e) for k in extra):
            raise
        raise ValueError(f"backbone {model['backbone']!r} does not take model.extra "
                         f"{sorted(extra)}: {e}") from None


def backbone_from_checkpoint(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """(backbone in eval mode, config dict) of a `fit` checkpoint: the backbone its config's
    `model` describes, with the checkpoint's weights. The config is the dict the run saved
    (`config["model"]["image_size"]`, `config["data"]["seed"]`, ...)."""
    state = read_checkpoint(path)
    config = state["config"]
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ValueError(f"checkpoint {str(path)!r}: its config has no 'model' section, so the "
                         "backbone cannot be rebuilt; use a checkpoint written by fit()")
    try:
        backbone = backbone_from_config(config["model"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"checkpoint {str(path)!r}: {e}") from None
    try:
        backbone.load_state_dict(state["backbone"])
    except RuntimeError as e:
        raise ValueError(f"checkpoint {str(path)!r}: its weights do not fit the backbone its "
                         f"config describes ({config['model']}); was it trained with a custom "
                         f"backbone passed to fit()? Export that module with export_onnx.\n{e}")
    return backbone.eval(), config
