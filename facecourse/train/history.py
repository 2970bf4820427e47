"""The run's history: one row per log step, kept in memory and in out_dir/history.{csv,jsonl}."""
from __future__ import annotations

import csv
import json
from pathlib import Path


class History:
    """Append-only log of dict rows; a resumed run first drops the rows after its checkpoint.

    `out_dir=None` keeps the rows in memory only (lessons, and DDP ranks other than 0).
    `keep_until`: resuming from this step; earlier rows are read back, later ones dropped.
    """

    def __init__(self, out_dir: str | Path | None, keep_until: int = 0):
        self.rows: list[dict] = []
        self.jsonl = self.csv = None
        if out_dir is None:
            return
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl, self.csv = out_dir / "history.jsonl", out_dir / "history.csv"
        if keep_until > 0 and self.jsonl.is_file():
            rows = [json.loads(line) for line in self.jsonl.read_text().splitlines() if line]
            self.rows = [r for r in rows if r["step"] <= keep_until]
        self.jsonl.write_text("".join(json.dumps(r) + "\n" for r in self.rows))
        with open(self.csv, "w", newline="") as f:
            if self.rows:
                writer = csv.DictWriter(f, fieldnames=list(self.rows[0]))
                writer.writeheader()
                writer.writerows(self.rows)

    def append(self, row: dict) -> None:
        self.rows.append(row)
        if self.jsonl is None:
            return
        with open(self.jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")
        new_file = self.csv.stat().st_size == 0
        with open(self.csv, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
