"""Real faces for the lessons: found, prepared once, and loaded through one public call.

Lessons never read cache files: `real_ready("lfw", profile)` says whether a set is prepared for
a profile, `load_real("lfw", profile)` loads it (an `LFW` or a `LAG`), and `prepare_real(profile)`
(called by `make course` / `python -m facecourse course`, and by `make test` for the smoke
profile) prepares every set found in the data root (`FACECOURSE_DATA`, then `../shared/data`)
that is not prepared yet, printing what it did and how long it took.

The smoke profile (CI) uses a small slice of LFW, prepared in seconds instead of ~10 minutes:
`SMOKE_DEVTRAIN` DevTrain people with a handful of photos each, and the people of the first
`SMOKE_PAIRS` matched and mismatched DevTest pairs whose people have few photos (so the
DevTest figures of a smoke run come from those pairs). Its folder is `<cache>/lfw-smoke`, so a
smoke run never replaces the full set a laptop run prepared. LAG is small (1,928 images) and
always prepared whole. Used by the "Real faces" sections of lessons 00-11.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .lfw import read_pairs, read_people
from .paths import default_cache_dir, default_data_root, find_lag, find_lfw

SETS = ("lfw", "lag")
SMOKE_DEVTRAIN = 60  # DevTrain people in the smoke slice (the smoke lessons use <= 48)
SMOKE_PHOTOS = (5, 12)  # ... each with this many photos (enough for a few per person)
SMOKE_PAIRS = 60  # matched and as many mismatched DevTest pairs whose people are in the slice
SMOKE_PAIR_PHOTOS = 15  # a DevTest pair is kept when each of its people has at most this many


def _profile_name(profile) -> str:
    return getattr(profile, "name", None) or str(profile or "laptop")


def real_root(name: str, profile="laptop") -> Path:
    """The prepared folder of set `name` for `profile` (smoke: its own small slice of LFW)."""
    if name not in SETS:
        raise ValueError(f"unknown real set {name!r}; the course uses {', '.join(SETS)}")
    suffix = "-smoke" if name == "lfw" and _profile_name(profile) == "smoke" else ""
    return default_cache_dir() / f"{name}{suffix}"


def real_ready(name: str, profile="laptop", size: int = 64) -> bool:
    """Is set `name` prepared for `profile` at `size` px? (A lesson's real-face section runs
    when this is True, and says how to get the data when it is False.)"""
    root = real_root(name, profile)
    return (root / "index.json").is_file() and (root / f"images_{size}.npy").is_file()


def load_real(name: str, profile="laptop", image_size: int = 64):
    """The prepared set `name` for `profile`: `load_lfw(...)` -> LFW, `load_lag(...)` -> LAG."""
    root = real_root(name, profile)
    if not real_ready(name, profile, image_size):
        raise FileNotFoundError(f"{name} is not prepared for the {_profile_name(profile)} profile "
                                f"at {image_size} px ({root}); run `{prepare_command(profile)}`")
    if name == "lfw":
        from .lfw import load_lfw
        return load_lfw(root, image_size=image_size)
    from .lag import load_lag
    return load_lag(root, image_size=image_size)


def prepare_command(profile="laptop") -> str:
    return f"python -m facecourse.data prepare-real --profile {_profile_name(profile)}"


def smoke_lfw_names(source: Path) -> list[str]:
    """The people of the smoke slice, read from LFW's people and pairs files (no images)."""
    counts = dict(read_people(source / "people.txt")) if (source / "people.txt").is_file() else {}
    train = [(n, c) for n, c in read_people(source / "peopleDevTrain.txt")
             if SMOKE_PHOTOS[0] <= c <= SMOKE_PHOTOS[1]]
    train = [n for n, _ in sorted(train, key=lambda nc: (-nc[1], nc[0]))[:SMOKE_DEVTRAIN]]
    test_counts = dict(read_people(source / "peopleDevTest.txt"))
    counts = {**counts, **test_counts}
    rows, _ = read_pairs(source / "pairsDevTest.txt")
    kept = {True: 0, False: 0}
    people = set()
    for n1, _, n2, _ in rows:
        same = n1 == n2
        if kept[same] < SMOKE_PAIRS and max(counts.get(n1, 99), counts.get(n2, 99)) <= SMOKE_PAIR_PHOTOS:
            kept[same] += 1
            people |= {n1, n2}
    return sorted(set(train) | people)


def prepare_real(profile="laptop", progress: bool = True, workers: int | None = None) -> dict:
    """Prepare every real set found in the data root and not yet prepared for `profile`.

    Returns {set: {"status": "ready" | "prepared" | "missing", "seconds": ...}} and prints one
    line per set; when no data is found at all it says so once, with where to get it."""
    profile = _profile_name(profile)
    found = {"lfw": find_lfw(), "lag": find_lag()}
    status = {}
    if not any(found.values()):
        print(f"no real face data found (looked in FACECOURSE_DATA and ../shared/data: "
              f"{default_data_root() or 'neither exists'}); the lessons run on synthetic faces "
              "only. To add real faces, download LFW (datasets/lfw.md) and LAG (datasets/lag.md), "
              f"set FACECOURSE_DATA to their folder, and run `{prepare_command(profile)}`.")
        return {name: {"status": "missing"} for name in SETS}
    for name, source in found.items():
        if source is None:
            print(f"{name}: not found in {default_data_root()} (see datasets/{name}.md); its "
                  "lesson sections are skipped")
            status[name] = {"status": "missing"}
            continue
        root = real_root(name, profile)
        if real_ready(name, profile, 64) and real_ready(name, profile, 112):
            status[name] = {"status": "ready", "root": str(root)}
            print(f"{name}: prepared already ({root})")
            continue
        t0, cpu0 = time.perf_counter(), cpu_seconds()
        if name == "lfw":
            from .lfw import prepare_lfw
            names = smoke_lfw_names(source) if profile == "smoke" else None
            what = f"{len(names)} people (smoke slice)" if names else "all 13,233 images"
            print(f"preparing LFW for the {profile} profile: {what} -> {root}", flush=True)
            prepare_lfw(source, root, workers=workers, names=names, progress=progress)
        else:
            from .lag import prepare_lag
            print(f"preparing LAG -> {root}", flush=True)
            prepare_lag(source, root, workers=workers, progress=progress)
        seconds = time.perf_counter() - t0
        status[name] = {"status": "prepared", "root": str(root), "seconds": round(seconds, 1),
                        "cpu_seconds": round(cpu_seconds() - cpu0, 1)}
        print(f"{name}: prepared in {seconds:.0f} s wall -> {root}", flush=True)
    return status


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (alignment workers, a lesson's
    kernel): a child counts once it has exited and been waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
