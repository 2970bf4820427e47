"""Run the whole course with papermill: `python -m facecourse course` (what `make course` calls).

Each notebook of ``solutions/`` runs in a fresh kernel with ``PROFILE`` (and optionally
``SEED``) injected into its ``parameters`` cell. The executed copies land in
``runs/<timestamp>/`` beside ``summary.json``, which holds, per notebook, its wall seconds, its
status and every figure it published with :func:`facecourse.report`. Before the lessons, the
real face sets found in the data root are prepared once for the profile
(`facecourse.data.prepare_real`; its timings are in ``summary["real_data"]``), so every
lesson's "Real faces" section runs. Each notebook runs on the
patient papermill engine of `facecourse.course.engine`. At the end the run is written as a book,
an HTML site in ``runs/<timestamp>/book/`` (`facecourse.course.book`).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from ..data.real import cpu_seconds
from .exercises import REPO
from .reporting import load_report

__all__ = ["run_notebook", "run_course", "course_main"]


def run_notebook(path: Path, out_dir: Path, parameters: dict, progress: bool = True,
                 kernel: str = "python3", timeout: int | None = None) -> dict:
    """Execute one notebook with papermill; returns {seconds, cpu_seconds, status, error, metrics}.

    cpu_seconds: CPU time of this process and of the finished kernel (and its workers), the
    figure to quote beside wall seconds on a shared machine."""
    import papermill as pm

    from .engine import PatientKernelManager

    path, out_dir = Path(path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report_file = out_dir / f"{path.stem}.report.json"
    report_file.unlink(missing_ok=True)
    old = os.environ.get("FACECOURSE_REPORT")
    os.environ["FACECOURSE_REPORT"] = str(report_file)
    start, cpu = time.perf_counter(), cpu_seconds()
    status, error = "ok", None
    try:
        pm.execute_notebook(
            str(path), str(out_dir / path.name), parameters=parameters, kernel_name=kernel,
            progress_bar=progress, cwd=str(path.parent), execution_timeout=timeout,
            kernel_manager_class=PatientKernelManager,  # see facecourse/course/engine.py
        )
    except Exception as err:  # papermill raises PapermillExecutionError with the cell's traceback
        status, error = "failed", f"{type(err).__name__}: {err}"
    finally:
        if old is None:
            os.environ.pop("FACECOURSE_REPORT", None)
        else:
            os.environ["FACECOURSE_REPORT"] = old
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds() - cpu, 2),
            "status": status, "error": error, "metrics": load_report(report_file)}


def run_course(profile: str = "laptop", only: list[str] | None = None, seed: int | None = None,
               out_root: Path = REPO / "runs", solutions: Path = REPO / "solutions") -> Path:
    paths = sorted(Path(solutions).glob("*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.stem.startswith(o) for o in only)]
        if not paths:
            raise SystemExit(f"no notebook in {solutions} starts with any of {only}")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = Path(out_root) / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    params = {"PROFILE": profile} | ({"SEED": seed} if seed is not None else {})
    summary = {
        "profile": profile, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count()},
        "notebooks": {},
    }
    from facecourse.data import prepare_real
    t0 = time.perf_counter()  # real faces found in the data root are prepared once, timed apart
    summary["real_data"] = prepare_real(profile, progress=sys.stderr.isatty())
    summary["real_data_seconds"] = round(time.perf_counter() - t0, 2)
    total = time.perf_counter()
    for i, path in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {path.stem} (profile {profile}) ...", flush=True)
        result = run_notebook(path, out_dir, params)
        summary["notebooks"][path.stem] = result
        mark = "ok" if result["status"] == "ok" else "FAILED"
        print(f"[{i}/{len(paths)}] {path.stem}: {mark} in {result['seconds']:.0f} s", flush=True)
        if result["error"]:
            print(f"    {result['error'].splitlines()[0][:300]}", flush=True)
        summary["total_seconds"] = round(time.perf_counter() - total, 2)
        summary["total_cpu_seconds"] = round(sum(r["cpu_seconds"] for r in summary["notebooks"].values()), 2)
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    claims = {f"{n}: {text}": held for n, r in summary["notebooks"].items()
              for text, held in ((r.get("metrics") or {}).get("claims") or {}).items()}
    summary["claims"] = {"held": sum(claims.values()), "not_held": [c for c, h in claims.items() if not h]}
    summary["real_faces"] = {n: any(k.startswith(("lfw_", "lag_")) for k in (r.get("metrics") or {}))
                             for n, r in summary["notebooks"].items()}  # did its real section run?
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    failed = [n for n, r in summary["notebooks"].items() if r["status"] != "ok"]
    print(f"course done in {summary['total_seconds'] / 60:.1f} min -> {out_dir}/summary.json"
          + (f"; FAILED: {failed}" if failed else ""))
    from .book import build_book
    try:  # the run's results are saved above: a book that cannot be written only says so
        build_book(out_dir)
    except Exception as err:  # noqa: BLE001 - reported, and `make book RUN=...` retries it
        print(f"could not write the book ({type(err).__name__}: {err}); "
              f"retry with: make book RUN={out_dir}", file=sys.stderr)
    return out_dir


def course_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m facecourse course",
                                     description="Run every solution notebook with papermill.")
    parser.add_argument("--profile", default="laptop", help="smoke | laptop | gpu")
    parser.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 00 03")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    out_dir = run_course(args.profile, args.only, args.seed)
    summary = json.loads((out_dir / "summary.json").read_text())
    return 1 if any(r["status"] != "ok" for r in summary["notebooks"].values()) else 0


if __name__ == "__main__":
    sys.exit(course_main(sys.argv[1:]))
