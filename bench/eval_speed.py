"""Evaluation speed: LFW 10-fold protocol from embeddings, and chunked 1:N identification.

    python bench/eval_speed.py            # writes bench/results/eval.json
    python bench/eval_speed.py --quick    # smaller identification run only

lfw_10fold_seconds: 6,000 pair scores (random 512-d embeddings; LFW's real fold/issame
structure from pairs.txt when the data is present) -> `kfold_accuracy` on one core.
Identification: probes x gallery x 512-d fp32 `identification(..., ks=(1, 5, 10))`, each
configuration in a fresh subprocess; peak memory is the process's max RSS (getrusage) minus
its RSS after the inputs were made, i.e. what the chunked search itself added.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def lfw_bench(repeats: int = 7) -> dict:
    import torch

    from facecourse.eval import kfold_accuracy, pair_scores, verification_metrics
    from facecourse.data import read_pairs

    torch.set_num_threads(1)
    data = Path(os.environ.get("FACECOURSE_DATA", ROOT.parent / "shared" / "data"))
    pairs_file = data / "lfw" / "pairs.txt"
    if pairs_file.is_file():
        rows, fold = read_pairs(pairs_file)
        issame = np.array([r[0] == r[2] for r in rows])
        source = "real pairs.txt fold/issame structure"
    else:
        issame = np.tile(np.r_[np.ones(300, bool), np.zeros(300, bool)], 10)
        fold = np.repeat(np.arange(10), 600)
        source = "LFW-shaped synthetic structure (pairs.txt absent)"
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(12000, 512, generator=g)
    a, b = np.arange(0, 12000, 2), np.arange(1, 12000, 2)
    emb[b[issame]] = emb[a[issame]] + 6.0 * torch.randn(int(issame.sum()), 512, generator=g)
    t0 = time.perf_counter()
    scores = pair_scores(emb, (a, b)).numpy()
    score_s = time.perf_counter() - t0
    times, full = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        acc, std, _ = kfold_accuracy(scores, issame, fold)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        metrics = verification_metrics(scores, issame, folds=fold)
        full.append(time.perf_counter() - t0)
    return {"lfw_10fold_seconds": float(np.median(times)),
            "lfw_verification_metrics_seconds": float(np.median(full)),
            "lfw_pair_scores_seconds": score_s, "lfw_pairs": int(scores.size),
            "lfw_structure": source, "lfw_threads": 1, "lfw_repeats": repeats,
            "lfw_example_acc": f"{acc:.4f} ± {std:.4f}", "lfw_example_auc": metrics["auc"]}


def _identification_child(probes: int, gallery: int, dim: int, probe_chunk: int,
                          gallery_chunk: int, device: str) -> dict:
    import torch

    from facecourse.eval import identification

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, gallery, (probes,), generator=g)
    gal = torch.nn.functional.normalize(torch.randn(gallery, dim, generator=g), dim=1)
    probe = gal[ids] + 0.05 * torch.randn(probes, dim, generator=g)
    gal_labels = torch.arange(gallery)
    if device == "cuda":
        gal, probe = gal.cuda(), probe.cuda()
        torch.cuda.reset_peak_memory_stats()
        base_gpu = torch.cuda.memory_allocated()
    rss_inputs = _rss_mib()
    t0 = time.perf_counter()
    out = identification(probe, ids, gal, gal_labels, ks=(1, 5, 10), probe_chunk=probe_chunk,
                         gallery_chunk=gallery_chunk)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = {"probes": probes, "gallery": gallery, "dim": dim, "dtype": "float32",
           "device": device, "threads": torch.get_num_threads(), "probe_chunk": probe_chunk,
           "gallery_chunk": gallery_chunk, "seconds": round(seconds, 3),
           "inputs_mib": round((probes + gallery) * dim * 4 / 2**20, 1),
           "rss_after_inputs_mib": round(rss_inputs, 1), "peak_rss_mib": round(peak, 1),
           "search_added_rss_mib": round(peak - rss_inputs, 1),
           "rank@1": out["rank@1"]}
    if device == "cuda":
        res["gpu_peak_added_mib"] = round((torch.cuda.max_memory_allocated() - base_gpu) / 2**20, 1)
    return res


def identification_bench(probes, gallery, dim=512, probe_chunk=1024, gallery_chunk=16384,
                         device="cpu", timeout=900) -> dict:
    code = ("import json, sys; sys.path.insert(0, %r); from bench.eval_speed import "
            "_identification_child as f; print('RESULT', json.dumps(f(%d, %d, %d, %d, %d, %r)))"
            % (str(ROOT), probes, gallery, dim, probe_chunk, gallery_chunk, device))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not line:
        raise RuntimeError(f"identification bench failed:\n{proc.stderr[-2000:]}")
    return json.loads(line[0][len("RESULT "):])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 10k x 100k run")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "eval.json"))
    args = parser.parse_args(argv)
    results = {"machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.python_version()}"}
    results.update(lfw_bench())
    print(json.dumps({k: v for k, v in results.items()}, indent=1))
    configs = [(1000, 100_000)] + ([] if args.quick else [(10_000, 100_000)])
    results["identification"] = []
    for probes, gallery in configs:
        r = identification_bench(probes, gallery, device=args.device)
        print(json.dumps(r))
        results["identification"].append(r)
    full = [r for r in results["identification"] if r["probes"] == 10_000]
    if full:
        results["identification_10k_x_100k_x_512_seconds"] = full[0]["seconds"]
        results["identification_10k_x_100k_x_512_search_added_rss_mib"] = \
            full[0]["search_added_rss_mib"]
        results["identification_10k_x_100k_x_512_peak_rss_mib"] = full[0]["peak_rss_mib"]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {}
    Path(args.out).write_text(json.dumps({**old, **results}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
