"""The GPU box in one script (<= 10 minutes): how fast `fit` trains there, and a short real run.

1. Speed at 112 px with AMP (fp16 + GradScaler) and channels-last: images/s of `fit` and of a
   minimal hand-written loop on the same model and in-memory data (bench/train_speed.py's pair),
   alternated, medians of wall time; for MobileFaceNet and iresnet50 (the casia-arcface recipe's).
2. A short run of `--recipe casia-arcface` on a `.rec` (`--rec`: insightface's CASIA-WebFace, or
   the LFW DevTrain pack that `--pack-lfw` writes here, small enough for the device tool to
   carry): its loss curve, img/s and the .bin sets beside the .rec measured during training.

    python bench/gpu.py                          # on the GPU box: writes bench/results/gpu.json
    python bench/gpu.py --rec DIR/train.rec --steps 600
    python bench/gpu.py --pack-lfw .cache/gpu-data   # here: LFW DevTrain -> train.rec, DevTest pairs -> lfw_devtest.bin
    python bench/gpu.py --device cpu --tiny --out /tmp/gpu.json   # tests: the same code, tiny sizes

Without a `.rec`, part 2 runs on a tiny synthetic one (`make_tiny_insightface`) and says so.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _results import RESULTS_DIR, device_name, merge_results  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import train_speed  # noqa: E402  (bench/train_speed.py: the fit vs bare loop pair)

FULL = {"speed": [{"backbone": "mobilefacenet", "width": 1.0, "image_size": 112, "batch": 256},
                  {"backbone": "iresnet50", "width": 1.0, "image_size": 112, "batch": 256}],
        "speed_steps": 30, "repeats": 3, "run_steps": 600, "val_every": 200, "log_every": 20}
TINY = {"speed": [{"backbone": "mobilefacenet", "width": 0.25, "image_size": 32, "batch": 8}],
        "speed_steps": 2, "repeats": 1, "run_steps": 4, "val_every": 2, "log_every": 2}


def speed(device: str, sizes: dict) -> list[dict]:
    out = []
    for setup in sizes["speed"]:
        r = train_speed.measure(device, sizes["speed_steps"], sizes["repeats"], setup=setup)
        r.pop("runs_s_wall_cpu", None)
        print(f"{setup['backbone']} {setup['image_size']} px, batch {setup['batch']}: fit "
              f"{r['fit_img_per_s']:.0f} img/s, bare loop {r['bare_loop_img_per_s']:.0f} img/s, "
              f"ratio {r['ratio']:.3f}", flush=True)
        out.append(r)
    return out


def pack_lfw(folder: Path) -> Path:
    """LFW DevTrain (112 px, as prepared) -> folder/train.rec; the 1,000 DevTest pairs ->
    folder/lfw_devtest.bin (View 1 pairs: not the 6,000-pair lfw.bin of insightface)."""
    from facecourse.data import load_lfw, write_bin, write_rec
    lfw = load_lfw(image_size=112)
    train = lfw.devtrain()
    write_rec(folder / "train.rec", train.images, train.labels.numpy())
    write_bin(folder / "lfw_devtest.bin", lfw.dataset.images, lfw.dev_test)
    size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
    print(f"packed {len(train)} DevTrain images and {len(lfw.dev_test.a)} DevTest pairs into "
          f"{folder} ({size:.0f} MiB)")
    return folder / "train.rec"


def real_run(device: str, rec: Path, sizes: dict, tiny: bool, work: Path) -> dict:
    """A short casia-arcface run on `rec`: loss curve, img/s, the .bin sets beside it."""
    from facecourse.train import TrainConfig
    from facecourse.train.cli import train_and_evaluate
    from facecourse.train.config import apply_overrides
    from facecourse.train.recipes import get_recipe
    bins = sorted(p.stem for p in rec.parent.glob("*.bin"))
    sets = {"data.root": str(rec), "device": device, "max_steps": sizes["run_steps"],
            "log_every": sizes["log_every"], "val.every": sizes["val_every"] if bins else 0,
            "val.bins": bins, "checkpoint_every": 0, "progress": False,
            "data.workers": min(8, os.cpu_count() or 1)}
    if tiny:
        sets.update({"model.backbone": "mobilefacenet", "model.width": 0.25, "model.image_size": 32,
                     "batch_size": 8, "data.workers": 1})
    d = apply_overrides(apply_overrides(TrainConfig().to_dict(), get_recipe("casia-arcface")), sets)
    d["out_dir"] = str(work / "casia-arcface")
    d["overwrite"] = True
    cfg = TrainConfig.from_dict(d)
    t0 = time.perf_counter()
    result, _ = train_and_evaluate(cfg, "python bench/gpu.py", "casia-arcface")
    rows = result.history
    return {"rec": str(rec), "steps": rows[-1]["step"] if rows else 0,
            "seconds": round(time.perf_counter() - t0, 1),
            "loss": [[r["step"], round(r["loss"], 4)] for r in rows],
            "img_per_s_median": float(np.median([r["img_per_s"] for r in rows[1:] or rows])),
            "val": [{k: v for k, v in r.items() if k == "step" or k.startswith("val_")}
                    for r in rows if any(k.startswith("val_") for k in r)],
            "overrides": {k: v for k, v in sets.items() if k != "data.root"},
            "backbone": cfg.model.backbone, "batch_size": cfg.batch_size, "amp": cfg.amp}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda (the GPU box) or cpu (with --tiny, for tests)")
    p.add_argument("--tiny", action="store_true", help="tiny sizes and a synthetic .rec: the tests")
    p.add_argument("--rec", default=None, help="a .rec for the real run (default: $FACECOURSE_DATA's "
                                               "CASIA-WebFace, else .cache/gpu-data/train.rec)")
    p.add_argument("--steps", type=int, default=None, help="steps of the real run")
    p.add_argument("--pack-lfw", metavar="DIR", default=None, help="write the LFW pack and stop")
    p.add_argument("--out", default=None, help="results JSON (default bench/results/gpu.json)")
    args = p.parse_args(argv)
    if args.pack_lfw:
        pack_lfw(Path(args.pack_lfw))
        return 0
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: no CUDA device here; run this on the GPU box, or use --device cpu --tiny",
              file=sys.stderr)
        return 2
    sizes = dict(TINY if args.tiny else FULL)
    if args.steps:
        sizes["run_steps"] = args.steps
    work = Path(tempfile.mkdtemp(prefix="gpu-bench-"))
    from facecourse.train.build import find_rec
    rec, note = None, ""
    for candidate in ([args.rec] if args.rec else []) + ([] if args.tiny else ["", str(ROOT / ".cache/gpu-data")]):
        try:
            rec = find_rec(candidate)
            break
        except FileNotFoundError as e:
            if args.rec:
                print(f"error: {e}", file=sys.stderr)
                return 2
    if rec is None:
        from facecourse.data import make_tiny_insightface
        rec = make_tiny_insightface(work / "tiny", size=112) / "train.rec"
        note = "no real .rec found: the run used a tiny synthetic one (make_tiny_insightface)"
        print(note, flush=True)
    t0 = time.perf_counter()
    result = {"device": device_name(args.device), "torch": torch.__version__,
              "date": time.strftime("%Y-%m-%d"), "tiny": args.tiny,
              "speed_fit_vs_bare_loop": speed(args.device, sizes)}
    result["real_run"] = real_run(args.device, rec, sizes, args.tiny, work)
    if note:
        result["real_run"]["note"] = note
    result["seconds"] = round(time.perf_counter() - t0, 1)
    out = Path(args.out) if args.out else RESULTS_DIR / "gpu.json"
    merge_results(result, out)
    r = result["real_run"]
    print(f"real run: {r['steps']} steps in {r['seconds']:.0f} s, {r['img_per_s_median']:.0f} img/s, "
          f"loss {r['loss'][0][1]:.2f} -> {r['loss'][-1][1]:.2f}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
