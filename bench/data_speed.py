"""Synthetic face generator speed on ONE CPU core -> bench/results/data.json.

    OMP_NUM_THREADS=1 python bench/data_speed.py [--images 2048] [--repeats 3]

Reports images/s at 64 px (the CPU profile) and 112 px (the GPU profile), best of `repeats`
runs by wall clock (the least disturbed by other processes) and by process CPU time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

from facecourse.data import SyntheticFaces  # noqa: E402


def measure(size: int, images: int, repeats: int) -> dict:
    SyntheticFaces(8, 8, image_size=size)  # warm-up (allocator, noise bank)
    per_id = 16
    wall, cpu = [], []
    for r in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        SyntheticFaces(images // per_id, per_id, image_size=size, seed=100 + r)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"img_per_s_wall": images / min(wall), "img_per_s_cpu": images / min(cpu),
            "wall_s": [round(w, 3) for w in wall]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "data.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    r64 = measure(64, args.images, args.repeats)
    r112 = measure(112, args.images // 2, args.repeats)
    result = {
        "synthetic_img_per_s_64px_1core": round(r64["img_per_s_wall"], 1),
        "synthetic_img_per_s_64px_1core_cpu_time": round(r64["img_per_s_cpu"], 1),
        "synthetic_img_per_s_112px_1core": round(r112["img_per_s_wall"], 1),
        "details": {"64": r64, "112": r112, "difficulty": 0.5, "torch_threads": torch.get_num_threads(),
                    "cpu": platform.processor() or platform.machine(), "load_avg": os.getloadavg(),
                    "command": "OMP_NUM_THREADS=1 python bench/data_speed.py"},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
