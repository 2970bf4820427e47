"""Calibration of the synthetic faces: difficulty -> verification accuracy of one fixed recipe.

The recipe is the laptop profile's (`facecourse.lesson_config`: a plain CNN x0.5 at 32 px, 128-d,
SGD lr 0.1 with warm-up and cosine decay, batch 64, 24 epochs of 300 identities x 16 images) and
only `difficulty` moves. For each difficulty we train on the training identities and test on
100 *other* identities (open set):
- `acc_10fold`: LFW-style 10-fold accuracy on 3,000 balanced pairs of the test identities;
- `tar@far=1e-3`: TAR at FAR = 1e-3 over every genuine and impostor pair of the test set;
- `auc`.
Softmax is trained beside the margin head at each difficulty, so the table also shows the gap
the lessons rely on (margin heads beat softmax at low FAR without either reaching ~100 %).

    python bench/calibrate_synthetic.py                 # the full table (~6 min on 2 cores)
    python bench/calibrate_synthetic.py --quick         # 2 difficulties, 2 epochs
    python bench/calibrate_synthetic.py --difficulties 0.5 --seeds 0 1 --out bench/results/scale_probe.json \
        --heads '{"softmax": {"name": "softmax"}, "arcface_s30": {"name": "arcface", "s": 30, "m": 0.25},
                  "arcface_s16": {"name": "arcface", "s": 16, "m": 0.25}}'

Writes bench/results/calibration.json (or --out).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import date
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from facecourse.data import SyntheticFaces, make_pairs  # noqa: E402
from facecourse.eval import all_pairs_scores, embed, pair_scores, verification_metrics  # noqa: E402
from facecourse.profiles import get_profile  # noqa: E402
from facecourse.train import HeadConfig, TrainConfig, fit, lesson_config, lesson_heads  # noqa: E402
from facecourse.train.fit import TrainingDiverged  # noqa: E402

HEADS = {"softmax": lesson_heads()["softmax"], "arcface": lesson_heads()["ArcFace"]}


def recipe(size: int, epochs: float, head: HeadConfig, seed: int) -> TrainConfig:
    profile = get_profile("laptop", image_size=size, epochs=epochs, device="cpu")
    return lesson_config(profile, head, seed, progress=False, log_every=10_000)


def one(difficulty: float, seed: int, args) -> dict:
    train = SyntheticFaces(args.ids, args.per_id, args.size, difficulty=difficulty, seed=seed)
    test = SyntheticFaces(100, 10, args.size, difficulty=difficulty, seed=seed,
                          first_identity=100_000)
    pairs = make_pairs(test, num_pairs=3000, seed=seed, folds=10)
    row = {"difficulty": difficulty, "seed": seed}
    for name, head in args.heads.items():
        t = time.perf_counter()
        try:
            result = fit(recipe(args.size, args.epochs, head, seed), train)
        except TrainingDiverged as e:  # a result too: e.g. SphereFace with the feature norm kept
            row[name] = {"diverged": str(e).split(";")[0], "train_s": round(time.perf_counter() - t, 1)}
            print(f"difficulty {difficulty:.2f} seed {seed} {name:>8}: diverged ({row[name]['diverged']})",
                  flush=True)
            continue
        emb = embed(result.backbone, test)
        scores, issame = all_pairs_scores(emb, test.labels)
        low_far = verification_metrics(scores, issame)
        balanced = verification_metrics(pair_scores(emb, pairs), pairs.issame, folds=pairs.fold)
        row[name] = {"acc_10fold": balanced["acc_mean"], "acc_std": balanced["acc_std"],
                     "tar@far=1e-3": low_far["tar@far=1e-3"], "auc": low_far["auc"],
                     "train_s": round(time.perf_counter() - t, 1)}
        print(f"difficulty {difficulty:.2f} seed {seed} {name:>8}: acc {balanced['acc_mean']:.3f}  "
              f"TAR@1e-3 {low_far['tar@far=1e-3']:.3f}  AUC {low_far['auc']:.3f}", flush=True)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--difficulties", type=float, nargs="*", default=[0.2, 0.35, 0.5, 0.65, 0.8])
    p.add_argument("--ids", type=int, default=300)
    p.add_argument("--per-id", type=int, default=16)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--epochs", type=float, default=24)
    p.add_argument("--seeds", type=int, nargs="*", default=[0])
    p.add_argument("--heads", type=lambda t: {k: HeadConfig(**v) for k, v in json.loads(t).items()},
                   default=HEADS, help='JSON {label: HeadConfig fields}, e.g. {"a": {"name": "arcface", "s": 16}}')
    p.add_argument("--quick", action="store_true", help="difficulties 0.2 and 0.8, 2 epochs")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "calibration.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.difficulties, args.epochs = [0.2, 0.8], 2
    rows = [one(d, seed, args) for d in args.difficulties for seed in args.seeds]
    out = {"table": rows, "recipe": {
        "backbone": "convnet x0.5, 128-d (laptop profile, facecourse.lesson_config)", "image_size": args.size, "train_ids": args.ids,
        "images_per_id": args.per_id, "epochs": args.epochs, "batch": 64, "sgd_lr": 0.1,
        "heads": {k: {kk: vv for kk, vv in v.__dict__.items() if vv not in (None, {})}
                  for k, v in args.heads.items()},
        "test": "100 held-out identities x 10 images; 3,000 balanced pairs in 10 folds"},
        "machine": f"{platform.machine()} {torch.get_num_threads()} threads",
        "date": date.today().isoformat(), "command": " ".join(["python"] + sys.argv)}
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
