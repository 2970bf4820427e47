"""`make bench`: every benchmark in turn; each writes (merges) its figures into bench/results/.

    python bench/run_all.py            # all of them (calibration ~15 min, LFW ~50 min)
    python bench/run_all.py --quick    # short versions, to check the scripts run

A GPU is used where a script supports one and CUDA is present.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parent
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def plan(quick: bool) -> list[list[str]]:
    q = ["--quick"] if quick else []
    runs = [["data_speed.py"], ["eval_speed.py", *q],
            ["train_speed.py", *(["--steps", "6", "--repeats", "2"] if quick else [])]]
    for device in DEVICES:
        runs += [["heads_speed.py", "--device", device, *q],
                 ["backbone_speed.py", "--device", device, *q]]
    runs.append(["calibrate_synthetic.py", *q])
    # the LFW track: two 20-minute CPU trainings + dlib's embeddings (cached after the first
    # run); --quick runs its tiny version on a few people of the raw LFW instead
    runs.append(["lfw.py", *(["--tiny"] if quick else [])])
    if not quick:
        runs.append(["results_table.py", "--write"])  # the README's table from the results
    return runs


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    failed = []
    for args in plan(quick):
        t = time.perf_counter()
        print(f"== {' '.join(args)}", flush=True)
        rc = subprocess.call([sys.executable, str(BENCH / args[0]), *args[1:]])
        print(f"== {args[0]}: {'ok' if rc == 0 else f'FAILED ({rc})'} in {time.perf_counter() - t:.0f} s")
        if rc:
            failed.append(args[0])
    if failed:
        print(f"failed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
