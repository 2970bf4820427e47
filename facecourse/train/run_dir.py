"""A run folder that never loses work: one process at a time, never reused by accident.

`fit` writes config.json, history.{csv,jsonl} and checkpoint.pt into `out_dir`. Before it
writes anything it takes `out_dir/.lock` (linked into place whole, holding its PID and host) and
checks what the folder already holds:

- a folder that holds a run is refused unless the config says `resume` (continue it) or
  `overwrite` (replace it); `overwrite` deletes only the files a run writes (RUN_FILES);
- a lock held by a live process is refused with its PID; a lock whose process is gone
  (killed with SIGKILL, the machine rebooted) is stale, reported and taken over;
- checkpoint temporaries orphaned by a killed write (`.checkpoint.pt.<pid>.tmp`) are removed,
  and so are lock temporaries (`.lock.<pid>.tmp`) of a process killed while taking the lock.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

from .checkpoint import CHECKPOINT_NAME, pid_alive, remove_orphans

LOCK_NAME = ".lock"
# what a run writes into its folder (and what --overwrite removes); other files are left alone
RUN_FILES = ("config.json", "history.jsonl", "history.csv", CHECKPOINT_NAME, "devtest.json",
             "model_card.json", "done")


class RunFolderError(ValueError):
    """The run folder cannot be used as asked (already a run, locked by another process)."""


def _written_here(tmp: Path) -> bool:
    """Is lock temporary `tmp` this host's? It names its host; one that is empty or cut short
    (its write was killed, or is under way right now) counts as this host's after a minute."""
    try:
        host = json.loads(tmp.read_text()).get("host")
    except (OSError, ValueError, AttributeError):
        host = None
    if host is not None:
        return host == socket.gethostname()
    try:
        return time.time() - tmp.stat().st_mtime > 60
    except OSError:
        return False


class RunLock:
    """`out_dir/.lock` while a run writes there: `with RunLock(out_dir): ...`."""

    def __init__(self, out_dir: str | Path):
        self.path = Path(out_dir) / LOCK_NAME
        self.held = False

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The lock is written whole into a private file, then linked into place: os.link fails
        # if the lock exists, and a lock that exists always names its owner (no window in which
        # another process finds it empty). Private files of acquires killed before the link go.
        remove_orphans(self.path.parent, LOCK_NAME, mine=_written_here)
        tmp = self.path.with_name(f"{LOCK_NAME}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                   "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
        try:
            for _ in range(2):  # a second try after removing a stale lock
                try:
                    self._place(tmp)
                except FileExistsError:
                    owner = self._owner()
                    if owner is None or not self._stale(owner):
                        raise RunFolderError(self._held_message(owner)) from None
                    print(f"note: {self.path} was left by PID {owner.get('pid')} (started "
                          f"{owner.get('started', '?')}), which is no longer running; taking "
                          "it over", file=sys.stderr)
                    self.path.unlink(missing_ok=True)
                    continue
                self.held = True
                return self
        finally:
            tmp.unlink(missing_ok=True)
        raise RunFolderError(self._held_message(self._owner()))

    def _place(self, tmp: Path) -> None:
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: create exclusively, then fill
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            with os.fdopen(fd, "w") as f:
                f.write(tmp.read_text())

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def _owner(self) -> dict | None:
        try:
            owner = json.loads(self.path.read_text())
            return owner if isinstance(owner, dict) else None
        except (OSError, ValueError):
            return None  # being written right now, or damaged: treat as held

    @staticmethod
    def _stale(owner: dict) -> bool:
        pid = owner.get("pid")
        return (owner.get("host") == socket.gethostname() and isinstance(pid, int)
                and not pid_alive(pid))

    def _held_message(self, owner: dict | None) -> str:
        who = ("another process" if owner is None else
               f"PID {owner.get('pid')} on {owner.get('host')} (started {owner.get('started')})")
        return (f"run folder {str(self.path.parent)!r} is in use by {who}: two runs writing one "
                "folder would mix their histories and checkpoints. Wait for it to finish, or "
                f"choose another --out. If no such process runs any more, delete {self.path}.")


def run_files(out_dir: str | Path) -> list[Path]:
    """The files of a run that `out_dir` already holds."""
    return [p for p in (Path(out_dir) / n for n in RUN_FILES) if p.exists()]


def describe_run(out_dir: Path) -> str:
    """'checkpoint.pt at step 200, 40 history rows' — what would be lost."""
    parts = []
    ckpt = out_dir / CHECKPOINT_NAME
    if ckpt.is_file():
        try:
            from .checkpoint import load_checkpoint
            parts.append(f"{CHECKPOINT_NAME} at step {load_checkpoint(ckpt)['step']}")
        except (ValueError, KeyError):
            parts.append(f"an unreadable {CHECKPOINT_NAME}")
    hist = out_dir / "history.jsonl"
    if hist.is_file():
        parts.append(f"{sum(1 for line in hist.read_text().splitlines() if line.strip())} "
                     "history rows")
    return ", ".join(parts) or ", ".join(p.name for p in run_files(out_dir))


def open_run(out_dir: str | Path, resuming: bool, overwrite: bool) -> RunLock:
    """Lock `out_dir` and check it may be written as asked; returns the held lock.

    `resuming`: a checkpoint there is being continued. `overwrite`: replace a run there.
    Nothing of an earlier run is touched unless `overwrite` is set."""
    out_dir = Path(out_dir)
    lock = RunLock(out_dir).acquire()
    try:
        remove_orphans(out_dir)
        existing = run_files(out_dir)
        if existing and not resuming:
            if not overwrite:
                raise RunFolderError(
                    f"{str(out_dir)!r} already holds a run ({describe_run(out_dir)}); starting "
                    "a new one there would destroy it. Pass --resume to continue it, "
                    "--overwrite to replace it (python: resume=True / overwrite=True), or "
                    "choose another --out.")
            for p in existing:
                p.unlink()
    except BaseException:
        lock.release()
        raise
    return lock
