"""How fast is fit()? Images/s of the training loop over a minimal hand-written loop.

Same backbone, ArcFace head, batch, optimizer and in-memory uint8 data for both; the two are
alternated `--repeats` times in one process and the medians compared. Each run is timed
whole (set-up included) after one untimed warm-up of each; on CPU by the process's CPU time
(robust on a shared machine), on CUDA by wall time. Both use channels_last on every device
(fit's `channels_last="auto"`), and on CUDA fp16 autocast + GradScaler (fit's `amp="auto"`).

    python bench/train_speed.py                  # CPU, and CUDA when available
    python bench/train_speed.py --bf16           # also: fit on CPU with bf16 autocast vs fp32
    python bench/train_speed.py --threads 1      # what the recorded CPU numbers used

Writes (merging) into bench/results/train.json: fit_vs_bare_loop_ratio (CPU),
fit_vs_bare_loop_ratio_cuda, and a `fit_vs_bare_loop` section with both img/s per device.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import torch.nn.functional as F
from _results import device_name, merge_results  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from facecourse.data.dataset import FaceDataset  # noqa: E402
from facecourse.losses import create_head  # noqa: E402
from facecourse.models import create_backbone  # noqa: E402
from facecourse.train import TrainConfig, fit  # noqa: E402
from facecourse.train.config import apply_overrides  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "train.json"


def setup_for(device: str) -> dict:
    if device == "cpu":  # convnet at 64 px: a CPU step is short, so loop overhead shows
        return {"backbone": "convnet", "width": 1.0, "image_size": 64, "batch": 64}
    return {"backbone": "mobilefacenet", "width": 0.5, "image_size": 112, "batch": 64}


def make_data(n: int, size: int, classes: int) -> FaceDataset:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % classes
    return FaceDataset(images, labels, [str(c) for c in range(classes)], name="bench")


def timed(fn):
    """(wall seconds, CPU seconds of this process) of fn(). CPU time is what a shared machine
    cannot steal: with other jobs running, wall time swings by 2x, CPU time by a few %."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def run_fit(s, data, device, steps):
    d = apply_overrides(TrainConfig().to_dict(), {
        "model.backbone": s["backbone"], "model.width": s["width"],
        "model.image_size": s["image_size"], "model.embedding_dim": 512,
        "head.name": "arcface", "batch_size": s["batch"], "max_steps": steps,
        "log_every": 10, "progress": False, "device": device, "data.augment": False,
        "amp": s.get("amp", "auto"), "optim.schedule": "cosine"})
    fit(TrainConfig.from_dict(d), data)


def run_bare(s, data, device, steps):
    """The minimal loop: what anyone would write by hand, with the same model and data."""
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    torch.manual_seed(0)
    backbone = create_backbone(s["backbone"], embedding_dim=512, image_size=s["image_size"],
                               width=s["width"]).to(dev)
    head = create_head("arcface", 512, data.num_classes).to(dev)
    backbone = backbone.to(memory_format=torch.channels_last)  # as fit's channels_last="auto"
    opt = torch.optim.SGD(list(backbone.parameters()) + list(head.parameters()), lr=0.1,
                          momentum=0.9, weight_decay=5e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(data)))
    b = s["batch"]
    for step in range(steps):
        idx = order[step * b:(step + 1) * b]
        x = data.images[idx].to(dev, non_blocking=True).float().div_(127.5).sub_(1.0)
        x = x.contiguous(memory_format=torch.channels_last)
        y = data.labels[idx].to(dev, non_blocking=True)
        with torch.autocast(dev.type, dtype=torch.float16, enabled=cuda):
            loss = F.cross_entropy(head(backbone(x), y).float(), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    loss.item()  # wait for the device


def measure(device, steps, repeats, bf16=False, setup: dict | None = None) -> dict:
    """Whole calls (set-up included, the same for both) after one untimed warm-up of each.
    `setup`: backbone, width, image_size, batch (default `setup_for(device)`)."""
    s = setup or setup_for(device)
    data = make_data(s["batch"] * steps, s["image_size"], classes=1000)
    run_fit(s, data, device, 2), run_bare(s, data, device, 2)  # warm-up: kernels, allocator
    runs = {"fit": [], "bare": [], "fit_bf16": []}
    for _ in range(repeats):  # alternate, so drifts of the machine hit both alike
        runs["fit"].append(timed(lambda: run_fit(s, data, device, steps)))
        runs["bare"].append(timed(lambda: run_bare(s, data, device, steps)))
        if bf16:
            runs["fit_bf16"].append(timed(lambda: run_fit({**s, "amp": "bf16"}, data, device,
                                                          steps)))
    cuda = device == "cuda"  # on CUDA the host waits on the device: wall time is the measure
    clock = 0 if cuda else 1

    def ips(name):
        return steps * s["batch"] / statistics.median(r[clock] for r in runs[name])

    out = {"fit_img_per_s": ips("fit"), "bare_loop_img_per_s": ips("bare"),
           "clock": "wall" if cuda else "process CPU time", "runs_s_wall_cpu": runs,
           "steps": steps, "repeats": repeats,
           "setup": {**s, "head": "arcface", "optimizer": "sgd", "data": "in-memory uint8",
                     "torch_threads": torch.get_num_threads(), "torch": torch.__version__},
           "device": device_name(device),
           "date": time.strftime("%Y-%m-%d")}
    out["ratio"] = out["fit_img_per_s"] / out["bare_loop_img_per_s"]
    if bf16:
        out["fit_bf16_img_per_s"] = ips("fit_bf16")
        out["bf16_vs_fp32_ratio"] = out["fit_bf16_img_per_s"] / out["fit_img_per_s"]
    return out




def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = default")
    p.add_argument("--devices", default="auto", help="cpu, cuda, or auto (cpu + cuda if any)")
    p.add_argument("--bf16", action="store_true", help="also time CPU bf16 autocast")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.devices == "auto" else args.devices.split(",")
    devices = [d for d in devices if d != "cuda" or torch.cuda.is_available()]
    section, update = {}, {}
    for device in devices:
        r = measure(device, args.steps, args.repeats, bf16=args.bf16 and device == "cpu")
        section[device] = r
        key = "fit_vs_bare_loop_ratio" + ("" if device == "cpu" else f"_{device}")
        update[key] = round(r["ratio"], 4)
        print(f"{device}: fit {r['fit_img_per_s']:.1f} img/s, bare loop "
              f"{r['bare_loop_img_per_s']:.1f} img/s, ratio {r['ratio']:.3f}"
              + (f"; bf16/fp32 {r['bf16_vs_fp32_ratio']:.3f}" if "bf16_vs_fp32_ratio" in r else ""))
    update["fit_vs_bare_loop"] = section
    merge_results(update)
    return 0


if __name__ == "__main__":
    sys.exit(main())
