"""Shared by the bench scripts: merge a script's figures into a results JSON, atomically, and
name the device they were measured on."""
from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def merge_results(update: dict, path: Path = RESULTS_DIR / "train.json") -> None:
    """Read the JSON if present, update our keys, write atomically (other scripts own other keys)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(update)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def device_name(device="cpu") -> str:
    """'NVIDIA H200' for a CUDA device, 'x86_64 (2 cores)' for the CPU: how results name a machine."""
    import torch
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"
