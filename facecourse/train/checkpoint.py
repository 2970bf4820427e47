"""Checkpoints: written atomically, loaded with `torch.load(..., weights_only=True)`.

A checkpoint is one dict of tensors and plain Python values (no pickled classes), holding
everything a resumed run needs to end with the same weights as an uninterrupted one:
model, head, center-loss centers, optimizer, scheduler, GradScaler, the global step, the
epoch and the step inside it, the RNG states (torch, CUDA, numpy, python) and the config.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

# Reading a checkpoint lives in facecourse.models.loading, below train, so that eval may use it
# too; train keeps the name load_checkpoint, beside save_checkpoint.
from facecourse.models.loading import CHECKPOINT_NAME
from facecourse.models.loading import read_checkpoint as load_checkpoint  # noqa: F401


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """Write `state` to `path` via a temporary file + rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    finally:
        tmp.unlink(missing_ok=True)  # only left when the write failed
    return path


def non_finite(modules: dict, optimizer=None) -> list[str]:
    """Names of the parameters, buffers and optimizer-state tensors holding NaN or Inf.

    A checkpoint is written only when this is empty: batch-norm running statistics (buffers)
    and the optimizer's moments go bad as surely as weights do, and silently."""
    tensors = [(f"{name}.{key}", t) for name, module in modules.items() if module is not None
               for key, t in module.state_dict().items()]
    if optimizer is not None:
        tensors += [(f"optimizer.state[{i}].{key}", t)
                    for i, st in enumerate(optimizer.state.values())
                    for key, t in st.items() if isinstance(t, torch.Tensor)]
    tensors = [(n, t) for n, t in tensors if t.is_floating_point()]
    if not tensors:
        return []
    finite = torch.stack([torch.isfinite(t).all() for _, t in tensors]).tolist()  # one sync
    return [n for (n, _), ok in zip(tensors, finite) if not ok]


def remove_orphans(folder: str | os.PathLike, prefix: str = f".{CHECKPOINT_NAME}",
                   mine=None) -> list[Path]:
    """Delete `<prefix>.<pid>.tmp` files (`.checkpoint.pt.<pid>.tmp` unless told) left by writes
    whose process was killed. `mine(path)`, when given, must also say the file is this machine's
    (a PID means nothing on another host)."""
    removed = []
    for tmp in Path(folder).glob(f"{prefix}.*.tmp"):
        pid = tmp.name[len(prefix) + 1:-len(".tmp")]
        if pid.isdigit() and (mine is None or mine(tmp)) and not pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def pid_alive(pid: int) -> bool:
    """Is process `pid` running on this machine?"""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def training_state(config: dict, step: int, steps_per_epoch: int, world_size: int, backbone,
                   head, center_loss, optimizer, scheduler, scaler) -> dict:
    """Everything a resumed run needs; global (not per rank), loadable with weights_only."""
    epoch, in_epoch = divmod(step, steps_per_epoch)
    return {
        "step": step, "epoch": epoch, "step_in_epoch": in_epoch,
        "steps_per_epoch": steps_per_epoch, "world_size": world_size,
        "backbone": backbone.state_dict(),
        "head": None if head is None else head.state_dict(),
        "center_loss": None if center_loss is None else center_loss.state_dict(),
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(), "rng": rng_state(), "config": config,
    }


def rng_state() -> dict:
    """The torch, CUDA, numpy and python RNG states, as tensors and plain values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "gauss": gauss},
        "python": _to_lists(random.getstate()),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` captured."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["gauss"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda)


def _to_lists(x):
    return [_to_lists(v) for v in x] if isinstance(x, tuple) else x
