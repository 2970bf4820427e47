"""Backbone training throughput: images/s of forward + backward, NCHW vs channels_last.

MobileFaceNet and IResNet-18 (full width and the CPU-profile width 0.5) at 64 and 112 px,
batch 64 (``--quick``: batch 16, 2 timed iterations). Writes ``backbone_images_per_s`` into
bench/results/train.json (other keys are left as they are).

    python bench/backbone_speed.py --device cpu [--quick]
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import time
from pathlib import Path

import torch
from _results import device_name, merge_results  # bench/ is on sys.path when run as a script


from facecourse.models import count_flops, count_parameters, create_backbone

RESULTS = Path(__file__).resolve().parent / "results" / "train.json"
CONFIGS = [("mobilefacenet", 1.0), ("mobilefacenet", 0.5), ("iresnet18", 1.0), ("iresnet18", 0.5)]




def images_per_s(model, size, batch, iters, device, channels_last, amp) -> float:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device).to(memory_format=fmt).train()
    x = torch.randn(batch, 3, size, size, device=device).to(memory_format=fmt)
    amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    times = []
    for i in range(iters + 1):  # the first iteration is a warm-up
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp):
            out = model(x)
        out.float().square().mean().backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i:
            times.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    return batch / statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="batch 16, 2 timed iterations")
    ap.add_argument("--amp", action="store_true", help="autocast (fp16 on CUDA, bf16 on CPU)")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    batch, iters = (16, 2) if args.quick else (64, 5)
    rows = {}
    for name, width in CONFIGS:
        for size in (64, 112):
            model = create_backbone(name, image_size=size, width=width)
            key = f"{name}_w{width}_{size}px"
            rows[key] = {"params": count_parameters(model), "macs": count_flops(model, size)}
            for layout in ("nchw", "channels_last"):
                ips = images_per_s(model, size, batch, iters, device, layout == "channels_last", args.amp)
                rows[key][layout] = round(ips, 1)
            print(key, rows[key], flush=True)
    result = {
        "backbone_images_per_s": rows,
        "backbone_speed_setup": {
            "batch": batch, "iters": iters, "amp": args.amp, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "device": device_name(device),
            "date": datetime.date.today().isoformat(),
        },
    }
    merge_results(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
