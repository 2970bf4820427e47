"""Every lesson's real-face claim beside its per-seed figures, in one file (issue 18).

Reads what `bench/lesson_seeds.py` wrote for each lesson (`bench/results/seeds_<lesson>.json`,
laptop profile, seeds 0 1 2) and the claims a laptop course run checked (`runs/<stamp>/
summary.json` of `make course`: the claims as the notebooks state them now), and
writes `bench/results/real_claims.json`: per lesson, the real-face claims (text), whether every
claim held in each seed, and each real-face figure (`lfw_*`, `lag_*`) per seed with its min and
max. A claim is a real-face claim when it names LFW, LAG, dlib, DevTest or real faces.

    python bench/real_claims.py                       # newest laptop run in runs/
    python bench/real_claims.py --summary runs/20261202-040000/summary.json
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REAL = re.compile(r"\b(LFW|LAG|dlib|DevTest|real)\b")


def newest_laptop_summary() -> Path | None:
    runs = sorted((ROOT / "runs").glob("*/summary.json"), reverse=True)
    return next((p for p in runs if json.loads(p.read_text()).get("profile") == "laptop"), None)


def lesson_entry(seeds: dict, course_claims: dict) -> dict:
    per_seed = seeds["per_seed"]
    # the course run's texts when there is one (the notebook as it is now), else the seeds'
    texts = set(course_claims) or {t for r in per_seed.values() for t in (r.get("claims") or {})}
    figures = {}
    for seed, r in per_seed.items():
        for key, value in r["figures"].items():
            if key.startswith(("lfw_", "lag_")):
                figures.setdefault(key, {})[seed] = value
    return {
        "real_claims": sorted(t for t in texts if REAL.search(t)),
        "every_claim_held": {seed: r["status"] == "ok" for seed, r in per_seed.items()},
        "held": f"{sum(r['status'] == 'ok' for r in per_seed.values())} of {len(per_seed)} seeds",
        "errors": {seed: r["error"] for seed, r in per_seed.items() if r.get("error")},
        "figures": {k: dict(v, min=min(v.values()), max=max(v.values())) for k, v in sorted(figures.items())},
        "source": f"bench/results/seeds_{seeds['lesson']}.json ({seeds['command']}; {seeds['date']})",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", type=Path, default=None, help="a laptop run's summary.json")
    parser.add_argument("--out", type=Path, default=RESULTS / "real_claims.json")
    args = parser.parse_args(argv)
    summary_path = (args.summary or newest_laptop_summary())
    summary_path = summary_path.resolve() if summary_path else None
    run = json.loads(summary_path.read_text()) if summary_path else {}
    notebooks = run.get("notebooks", {})
    lessons = {}
    for path in sorted(RESULTS.glob("seeds_*.json")):
        seeds = json.loads(path.read_text())
        course = (notebooks.get(seeds["lesson"], {}).get("metrics") or {}).get("claims") or {}
        lessons[seeds["lesson"]] = lesson_entry(seeds, course)
    missing = [n for n, e in lessons.items() if not e["real_claims"] and not n.startswith("09")]
    course_run = {"summary": str(summary_path.relative_to(ROOT)) if summary_path else None,
                  **{k: run.get(k) for k in ("profile", "started", "machine", "total_seconds",
                                             "total_cpu_seconds", "real_data_seconds", "real_data",
                                             "claims", "real_faces")},
                  "seconds": {n: (r["seconds"], r.get("cpu_seconds")) for n, r in notebooks.items()}}
    out = {"lessons": lessons, "course_run": course_run,
           "lessons_without_a_real_claim": missing, "date": date.today().isoformat(),
           "command": "python bench/real_claims.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    for name, e in lessons.items():
        print(f"{name:<28} {e['held']:>14}  {len(e['real_claims'])} real-face claim(s)")
    print(f"-> {args.out}" + (f"; no real-face claim found for {missing}" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
