"""Run one lesson for several seeds and record what it reports: does its claim hold beyond seed 0?

Each seed is a full papermill run of `solutions/<lesson>.ipynb` (the lesson as a student runs
it, nothing copied out of it), with `-p SEED s`. The figures come from the lesson's own
`report(...)` calls, so they are recorded even when a strict claim fails in that run.

    python bench/lesson_seeds.py 09 --seeds 0 1 2 3 4            # laptop profile, ~7 min for 09
    python bench/lesson_seeds.py 09 --seeds 0 1 --keys auc_drop_  # keep only some figures

Writes bench/results/seeds_<lesson>.json: per seed the status, the first line of the error,
every claim the run checked (text -> held) and the figures; and over the seeds each figure's mean, std, min and max.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._results import RESULTS_DIR, merge_results  # noqa: E402
from facecourse.course import run_notebook  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lesson", help="a prefix of a notebook in solutions/, e.g. 09")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--profile", default="laptop")
    parser.add_argument("--keys", nargs="*", default=None,
                        help="keep only figures whose name starts with one of these")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    matches = sorted((REPO / "solutions").glob(f"{args.lesson}*.ipynb"))
    if len(matches) != 1:
        parser.error(f"{args.lesson!r} matches {[m.name for m in matches]} in solutions/: "
                     "give a prefix that names one lesson")
    notebook = matches[0]
    out = args.out or RESULTS_DIR / f"seeds_{notebook.stem}.json"
    per_seed = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            start = time.perf_counter()
            result = run_notebook(notebook, Path(tmp) / str(seed),
                                  {"PROFILE": args.profile, "SEED": seed}, progress=False)
            figures = {k: v for k, v in result["metrics"].items() if isinstance(v, (int, float))
                       and not isinstance(v, bool) and k != "seed"
                       and (not args.keys or any(k.startswith(p) for p in args.keys))}
            error = result["error"]
            if error:  # the AssertionError line of a failed claim, not papermill's banner
                lines = [ln for ln in error.splitlines() if "claim does not hold" in ln or "Error:" in ln]
                error = (lines[-1] if lines else error.splitlines()[0])[:400]
            per_seed[str(seed)] = {"status": result["status"], "error": error, "seconds": result["seconds"],
                                   "claims": result["metrics"].get("claims") or {}, "figures": figures}
            print(f"seed {seed}: {result['status']} in {time.perf_counter() - start:.0f} s"
                  + (f"  {error}" if error else ""), flush=True)

    keys = sorted(set.intersection(*(set(r["figures"]) for r in per_seed.values())))
    summary = {}
    for k in keys:
        values = np.array([r["figures"][k] for r in per_seed.values()], dtype=float)
        summary[k] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                      "min": float(values.min()), "max": float(values.max())}
    held = sum(r["status"] == "ok" for r in per_seed.values())
    merge_results({
        "lesson": notebook.stem, "profile": args.profile, "seeds": args.seeds, "held": held,
        "per_seed": per_seed, "summary": summary,
        "command": "python bench/lesson_seeds.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.machine()} {os.cpu_count()} threads", "date": date.today().isoformat(),
    }, out)
    print(f"{notebook.stem}: ran to the end (every claim held) in {held} of {len(per_seed)} seeds -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
