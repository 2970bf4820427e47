"""ArcFace head vs pytorch-metric-learning's ArcFaceLoss: forward+backward time and loss difference.

10,000 classes, 512-d, batch 256 (``--quick``: fewer repeats). Both get the same weights; each
repeat times ours and theirs back to back (alternating which goes first), and the ratio is
median(pml) / median(ours). Writes ``arcface_vs_pml_*`` keys into bench/results/train.json.

    python bench/heads_speed.py --device cpu [--quick]
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import statistics
import time
from pathlib import Path

import torch

import torch.nn.functional as F
from pytorch_metric_learning.losses import ArcFaceLoss
from _results import device_name, merge_results  # bench/ is on sys.path when run as a script

from facecourse.losses import create_head

RESULTS = Path(__file__).resolve().parent / "results" / "train.json"




def timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--classes", type=int, default=10_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    repeats = 5 if args.quick else 15
    torch.manual_seed(0)
    ours = create_head("arcface", args.dim, args.classes, s=64.0, m=0.5).to(device)
    theirs = ArcFaceLoss(num_classes=args.classes, embedding_size=args.dim, margin=math.degrees(0.5), scale=64.0).to(device)
    with torch.no_grad():
        theirs.W.copy_(ours.weight.t())
    emb = torch.randn(args.batch, args.dim, device=device)
    labels = torch.randint(0, args.classes, (args.batch,), device=device)
    losses = {}

    def step_ours():
        e = emb.clone().requires_grad_()
        loss = F.cross_entropy(ours(e, labels), labels)
        loss.backward()
        losses["ours"] = loss.item()

    def step_pml():
        e = emb.clone().requires_grad_()
        loss = theirs(e, labels)
        loss.backward()
        losses["pml"] = loss.item()

    step_ours(), step_pml()  # warm-up
    t_ours, t_pml = [], []
    for i in range(repeats):
        pair = [(step_ours, t_ours), (step_pml, t_pml)]
        for fn, times in (pair if i % 2 == 0 else pair[::-1]):
            ours.weight.grad = theirs.W.grad = None
            times.append(timed(fn, device))
    ratio = statistics.median(t_pml) / statistics.median(t_ours)
    result = {
        "arcface_vs_pml_speed_ratio": round(ratio, 3),
        "arcface_vs_pml_max_abs_diff": abs(losses["ours"] - losses["pml"]),
        "arcface_vs_pml_ms": {"ours": round(1e3 * statistics.median(t_ours), 2), "pml": round(1e3 * statistics.median(t_pml), 2)},
        "arcface_vs_pml_setup": {"classes": args.classes, "dim": args.dim, "batch": args.batch, "repeats": repeats,
                                 "device": device_name(device), "torch": torch.__version__,
                                 "threads": torch.get_num_threads(), "date": datetime.date.today().isoformat()},
    }
    merge_results(result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
