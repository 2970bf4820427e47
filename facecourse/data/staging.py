"""Prepare a data set into a hidden sibling folder and swap it in only once it loads.

`python -m facecourse.data prepare` used to write straight into `out`: a bad input found late
(a pairs file naming a missing image, a corrupt image) left a half-replaced folder that no
longer loaded. `staged_folder(out)` yields `.<name>.preparing-<pid>` beside `out`; the caller
writes and validates there, and only when the block ends without an error does `swap_in`
replace `out` (old aside, new in, old deleted). On any error `out` stays exactly as it was and
the staging folder is removed.
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

# what a prepared folder holds; anything else in `out` means it is not ours to replace
PREPARED_MARKERS = ("index.json", "labels.npy")


def _staging_name(out: Path, kind: str, pid: int) -> Path:
    return out.parent / f".{out.name}.{kind}-{pid}"


def check_replaceable(out: Path) -> None:
    """Refuse to replace `out` unless it is absent, empty, or a prepared folder (it holds
    `index.json` or `labels.npy`, or only an extracted `raw/`): the swap deletes the old one."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder; pass a new or prepared folder.")
    names = {p.name for p in out.iterdir()}
    if not names or names <= {"raw"} or any(m in names for m in PREPARED_MARKERS):
        return
    shown = ", ".join(sorted(names)[:5])
    raise ValueError(f"--out {out} holds other files ({shown}) and is not a prepared data set; preparing "
                     "would replace it. Pass a new folder (or an earlier prepared one) as --out.")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(out: Path) -> None:
    """Delete staging folders of `out` left by prepares that were killed (their process is gone)."""
    if not out.parent.is_dir():
        return
    for p in out.parent.glob(f".{out.name}.*-*"):
        kind, _, pid = p.name[len(out.name) + 2:].rpartition("-")
        if kind in ("preparing", "old") and pid.isdigit() and not _alive(int(pid)) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def swap_in(new: Path, out: Path, carry: tuple[str, ...] = ()) -> None:
    """Replace `out` by `new` (same parent folder, so each step is a rename). Entries named in
    `carry` (e.g. the extracted `raw/` cache) move from the old `out` into `new` when `new` has
    none. If a rename fails, everything is put back as it was."""
    old = _staging_name(out, "old", os.getpid())
    moved = []
    had_old = out.exists()
    if had_old:
        out.rename(old)
    try:
        for name in carry:
            if had_old and (old / name).exists() and not (new / name).exists():
                (old / name).rename(new / name)
                moved.append(name)
        new.rename(out)
    except OSError:
        for name in moved:
            (new / name).rename(old / name)
        if had_old and not out.exists():
            old.rename(out)
        raise
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_folder(out: str | Path, carry: tuple[str, ...] = ()):
    """Yield an empty staging folder beside `out`; swap it in for `out` when the block succeeds,
    delete it when the block raises (then `out` is untouched). `carry`: see `swap_in`."""
    out = Path(out)
    check_replaceable(out)
    remove_stale(out)
    tmp = _staging_name(out, "preparing", os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        swap_in(tmp, out, carry)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_images(name: str, source: str | Path, out: str | Path, sizes=(112, 64)):
    """`prepare att`: write `images_<size>.npy` (uint8 (N, 3, S, S), centre crops) and `labels.npy`
    into `out` through a staging folder. Returns the last size's FaceDataset. (`prepare folder`
    aligns instead: `facecourse.data.folder.prepare_folder`.)"""
    import numpy as np

    from .att import load_att
    if name != "att":
        raise ValueError(f"prepare_images: only 'att' is prepared by centre crops, not {name!r}.")
    with staged_folder(out) as tmp:
        for size in sizes:
            ds = load_att(source, size)
            np.save(tmp / f"images_{size}.npy", ds.images.numpy())
            np.save(tmp / "labels.npy", ds.labels.numpy())
        labels = np.load(tmp / "labels.npy")
        for size in sizes:  # it must load before it replaces `out`
            shape = np.load(tmp / f"images_{size}.npy", mmap_mode="r").shape
            if shape != (len(labels), 3, size, size):
                raise ValueError(f"prepare {name}: images_{size}.npy came out {shape} for {len(labels)} labels; "
                                 f"nothing was changed in {out}. Please report this.")
    return ds
