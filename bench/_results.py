"""Shared by the bench scripts: merge a script's figures into a results JSON, atomically."""
from __future__ import annotations

import json
import os
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
