"""`fit_cached`: `fit`, remembered on disk, so lessons that share a baseline train it once.

Several lessons train the same model (lesson 02's softmax baseline is lesson 01's model;
lessons 06–07 start from an ArcFace model). `fit_cached(cfg, train_set)` keys a run by
everything that determines its weights — the config (less its output and progress
fields), the training images and labels, any starting backbone/head/teacher weights, and the
torch version — and returns the saved run when that key was trained before. A run is reused
only when it finished (a `done` marker is written after `fit` returns); an interrupted one
resumes from its checkpoint. ``FACECOURSE_NO_CACHE=1`` turns the cache off.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path

import torch

from .build import build_backbone, build_head, labels_of
from .checkpoint import load_checkpoint
from .config import TrainConfig
from .fit import FitResult, fit

__all__ = ["fit_cached", "run_key"]

_IGNORED = ("out_dir", "resume", "overwrite", "progress", "log_every", "checkpoint_every",
            "device")
# The layout of TrainConfig, hashed into every key: bump it when fields are added, moved or
# renamed (2: per-objective sections, sync_bn, data.on_error; 3: val, head.partial_fc, data
# source rec; 4: data.hold_out; 5: data.gray_jitter), so an old cached run is never mistaken for a new config, and no
# list of "fields added later" has to be kept by hand.
SCHEMA_VERSION = 5


def _hash_tensor(h, t: torch.Tensor) -> None:
    t = t.detach().cpu().contiguous()
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    # flattened first: a 0-d tensor (a step counter) cannot be viewed as bytes; same bytes else
    h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")


def run_key(cfg: TrainConfig, train_set, *modules) -> str:
    """A hex key of everything that decides the weights `fit` will produce."""
    h = hashlib.sha256()
    d = cfg.to_dict()
    for name in _IGNORED:
        d.pop(name, None)
    h.update(f"schema {SCHEMA_VERSION}|".encode())
    h.update(json.dumps(d, sort_keys=True, default=str).encode())
    h.update(torch.__version__.encode())
    images = getattr(train_set, "images", None)
    fingerprint = getattr(getattr(train_set, "loader", None), "fingerprint", None)
    if isinstance(images, torch.Tensor):
        _hash_tensor(h, images)
    elif images is None and fingerprint is not None:  # a lazy .rec (load_rec): its files' fingerprint
        h.update(b"|lazy|" + fingerprint())
    else:
        raise TypeError("fit_cached needs a data set with an in-memory `images` tensor "
                        "(a FaceDataset) or a lazy one from load_rec; use fit() for other data sets")
    _hash_tensor(h, labels_of(train_set))
    for module in modules:
        h.update(b"|module|")
        if module is not None:
            for name, t in sorted(module.state_dict().items()):
                h.update(name.encode())
                _hash_tensor(h, t)
            # settings that are not weights (an augmentation's probability, a loss's weights):
            # modules that declare `keyed_settings = True` add their extra_repr to the key
            for m in module.modules():
                if getattr(m, "keyed_settings", False):
                    h.update(f"{type(m).__name__}({m.extra_repr()})".encode())
    return h.hexdigest()[:24]


def fit_cached(cfg: TrainConfig, train_set, *, backbone=None, head=None, teacher=None,
               extra_loss=None, cache_dir: str | Path | None = None) -> FitResult:
    """`fit(cfg, train_set, ...)`, or the finished run with the same key from the cache.

    `extra_loss` (see `fit`) must be an nn.Module here: its weights and settings join the key.

    The returned FitResult is the same in both cases (modules in eval mode, the history of
    the original run); ``result.out_dir`` is the cached run's folder.
    """
    if extra_loss is not None and not isinstance(extra_loss, torch.nn.Module):
        raise TypeError("fit_cached(extra_loss=...) needs an nn.Module (its weights and settings "
                        "key the cache); call fit() for a plain function")
    if os.environ.get("FACECOURSE_NO_CACHE"):
        return fit(cfg, train_set, backbone=backbone, head=head, teacher=teacher,
                   extra_loss=extra_loss)
    if cache_dir is None:
        from facecourse.data import default_cache_dir
        cache_dir = default_cache_dir() / "runs"
    extra = () if extra_loss is None else (extra_loss,)  # keys without one stay as they were
    out_dir = Path(cache_dir) / run_key(cfg, train_set, backbone, head, teacher, *extra)
    done = out_dir / "done"
    cfg = copy.deepcopy(cfg)
    cfg.out_dir, cfg.resume = str(out_dir), "auto"  # continue an interrupted run, if any
    if not done.is_file():
        result = fit(cfg, train_set, backbone=backbone, head=head, teacher=teacher,
                     extra_loss=extra_loss)
        done.write_text("finished\n")
        return result
    print(f"fit_cached: this exact run finished before; loading it from {out_dir}")
    state = load_checkpoint(out_dir / "checkpoint.pt")
    backbone = copy.deepcopy(backbone) if backbone is not None else build_backbone(cfg.model)
    backbone.load_state_dict(state["backbone"])
    if state.get("head") is not None:
        if head is None:
            num_classes = int(getattr(train_set, "num_classes", 0)
                              or int(labels_of(train_set).max()) + 1)
            head = build_head(cfg.head, cfg.model.embedding_dim, num_classes)
        else:
            head = copy.deepcopy(head)
        head.load_state_dict(state["head"])
        head.eval()
    history = [json.loads(line) for line in (out_dir / "history.jsonl").read_text().splitlines()
               if line.strip()]
    return FitResult(backbone.eval(), head, history, out_dir, out_dir / "checkpoint.pt")
