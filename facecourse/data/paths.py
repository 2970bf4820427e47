"""Where data lives: `FACECOURSE_DATA` (raw downloads) and `FACECOURSE_CACHE` (prepared sets).

Lesson 06 asks it where the raw data are (CALFW's .bin), lesson 11 where the cache is.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_data_root() -> Path | None:
    """The folder holding downloaded data sets: $FACECOURSE_DATA, else `<repo>/../shared/data`.
    None when neither exists (lessons then print how to get the data)."""
    env = os.environ.get("FACECOURSE_DATA")
    if env:
        return Path(env) if Path(env).is_dir() else None
    shared = REPO_ROOT.parent / "shared" / "data"
    return shared if shared.is_dir() else None


def find_lfw() -> Path | None:
    """The raw LFW folder (with `lfw-deepfunneled.tgz` and `pairs.txt`), or None if absent."""
    root = default_data_root()
    if root is None:
        return None
    for cand in (root / "lfw", root):
        if (cand / "pairs.txt").is_file() and ((cand / "lfw-deepfunneled.tgz").is_file()
                                               or (cand / "lfw-deepfunneled").is_dir()):
            return cand
    return None


# where a LAG download may lie in the data root: the CI copy, the official zips, an extracted folder
LAG_CANDIDATES = ("lag-dev.tgz", "lag.tgz", "LAG.zip", "lag.zip", "lag")


def find_lag() -> Path | None:
    """The LAG download (`lag-dev.tgz`, the official zip, or an extracted `lag/` folder of
    `<person>/` and `<person>/y/` images) in the data root, or None if absent."""
    root = default_data_root()
    if root is None:
        return None
    for name in LAG_CANDIDATES:
        cand = root / name
        if cand.is_file() or (cand.is_dir() and any(cand.glob("*/y"))):
            return cand
    return None


def default_cache_dir() -> Path:
    """Where prepared data sets go: $FACECOURSE_CACHE, else `<repo>/.cache/facecourse`."""
    env = os.environ.get("FACECOURSE_CACHE")
    return Path(env) if env else REPO_ROOT / ".cache" / "facecourse"
