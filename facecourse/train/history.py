"""The run's history: one row per log step, kept in memory and in out_dir/history.{csv,jsonl}."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


class History:
    """Append-only log of dict rows; a resumed run first drops the rows after its checkpoint.

    `out_dir=None` keeps the rows in memory only (lessons, and DDP ranks other than 0).
    `keep_until`: resuming from this step; earlier rows are read back, later ones dropped.
    """

    def __init__(self, out_dir: str | Path | None, keep_until: int = 0):
        self.rows: list[dict] = []
        self.jsonl = self.csv = self._columns = None
        if out_dir is None:
            return
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl, self.csv = out_dir / "history.jsonl", out_dir / "history.csv"
        if keep_until > 0 and self.jsonl.is_file():
            self.rows = [r for r in read_rows(self.jsonl) if r["step"] <= keep_until]
        self.jsonl.write_text("".join(json.dumps(r) + "\n" for r in self.rows))
        with open(self.csv, "w", newline="") as f:
            if self.rows:
                self._columns = [k for k in self.rows[0] if not k.startswith("val_")]
                writer = csv.DictWriter(f, fieldnames=self._columns, extrasaction="ignore", restval="")
                writer.writeheader()
                writer.writerows(self.rows)

    def append(self, row: dict) -> None:
        self.rows.append(row)
        if self.jsonl is None:
            return
        with open(self.jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")
        new_file = self.csv.stat().st_size == 0
        if new_file:
            self._columns = [k for k in row if not k.startswith("val_")]
        elif getattr(self, "_columns", None) is None:
            with open(self.csv, newline="") as f:
                self._columns = next(csv.reader(f))
        with open(self.csv, "a", newline="") as f:
            # the CSV keeps the training columns of every row; validation figures (val_*, on
            # some rows only) are in history.jsonl
            writer = csv.DictWriter(f, fieldnames=self._columns, extrasaction="ignore", restval="")
            if new_file:
                writer.writeheader()
            writer.writerow(row)


def read_rows(path: Path) -> list[dict]:
    """The rows of a history.jsonl; a damaged line (a write cut off by a kill) is dropped with
    a warning naming the file and line, since the checkpoint, not the log, holds the state."""
    rows = []
    for k, line in enumerate(Path(path).read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("step"), int):
                raise ValueError("not a history row")
        except ValueError:
            print(f"warning: {path} line {k} is damaged ({line[:40]!r}...); dropped it (the "
                  "run's state is in its checkpoint, the rows after it are logged again)",
                  file=sys.stderr)
            continue
        rows.append(row)
    return rows
