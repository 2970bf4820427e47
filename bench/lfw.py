"""The LFW track: a plain convnet from scratch, IResNet-18 x0.25 distilled from dlib, and dlib.

All three are measured the same way (`facecourse.eval.view1_metrics`): the threshold chosen
on the 2,200 DevTrain pairs (from scratch: on the pairs of the DevTrain people it held out,
and the mismatched ones), accuracy on the 1,000 DevTest pairs (people never trained on),
plus AUC and TAR@FAR=1e-2. The students train with the recipes `lfw-scratch` and
`lfw-distill` on the CPU (~20 min each on 2 cores); dlib's embeddings are computed once and
cached (`facecourse.eval.embedding_cache.dlib_embeddings`, ~8 min with 2 processes).

    python bench/lfw.py                  # needs a prepared LFW (python -m facecourse.data prepare lfw ...)
    python bench/lfw.py --only dlib      # one of scratch | distill | dlib (merged into the JSON)
    python bench/lfw.py --tiny --out /tmp/lfw.json   # CI: a few people prepared from the raw
                                                     # LFW, a few steps each (< 1 min)

Writes (merging) bench/results/lfw.json: devtest_acc_{scratch,distilled,dlib},
devtest_auc_*, devtest_tar_far1e-2_*, train_cpu_minutes_{scratch,distilled} (wall minutes of
training on the CPU), and a section per model with every metric, its command, machine and date;
then the README's results table (`results_table.py --write`). Each model is also measured on
real cross-age faces when LAG is prepared: the seed report's protocol
(`facecourse.eval.cross_age_metrics`: young->adult Rank-1, AUC, TAR@FAR=1e-2) on the LAG-dev
people who are in no LFW list (lag_{auc,rank1,tar_far1e-2}_*, and "lag" in each section).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _results import RESULTS_DIR, merge_results  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = {"scratch": "lfw-scratch", "distill": "lfw-distill", "dlib": None}
KEY = {"scratch": "scratch", "distill": "distilled", "dlib": "dlib"}  # result-key suffixes
TINY = {"max_steps": 6, "batch_size": 8, "optim.warmup_epochs": 0, "log_every": 2,
        "checkpoint_every": 0, "progress": False}


def machine() -> str:
    import torch
    return (f"{platform.machine()} {os.cpu_count()} cpus, {torch.get_num_threads()} torch threads, "
            f"Python {platform.python_version()}, torch {torch.__version__}")


def tiny_people(raw: Path, pairs_each: int = 6, max_images: int = 3) -> list[str]:
    """People of the first `pairs_each` matched and mismatched pairs of each View 1 file whose
    people have at most `max_images` images: ~30 people, ~80 images."""
    from facecourse.data import read_pairs, read_people
    count = dict(read_people(raw / "peopleDevTrain.txt") + read_people(raw / "peopleDevTest.txt"))
    names = set()
    for fname in ("pairsDevTrain.txt", "pairsDevTest.txt"):
        rows, _ = read_pairs(raw / fname)
        for same in (True, False):
            ok = [r for r in rows if (r[0] == r[2]) == same
                  and count[r[0]] <= max_images and count[r[2]] <= max_images]
            names |= {n for r in ok[:pairs_each] for n in (r[0], r[2])}
    return sorted(names)


def measure_dlib(root, tag: str) -> dict:
    from facecourse.data import load_lfw
    from facecourse.eval import view1_metrics
    from facecourse.eval.embedding_cache import dlib_cache_path, dlib_embeddings
    lfw = load_lfw(root, image_size=112)
    emb = dlib_embeddings(lfw)  # computed once (2 processes), then read from the cache
    seconds = json.loads(dlib_cache_path(lfw).with_suffix(".json").read_text())["seconds"]
    return {**view1_metrics(emb, lfw), "embed_minutes": round(seconds / 60, 2),
            "embedded_images": int(np.isfinite(emb).all(1).sum()), "chip": "landmarks",
            "command": tag}


def lag_people(image_size: int):
    """(LAG-dev at `image_size` px, its people in no LFW list), or (None, None) when LAG is not
    prepared. Only people neither in LFW DevTrain (trained on) nor in DevTest: the LAG figure
    is a test on people no LFW-tuned choice has seen."""
    from facecourse.data import load_lag
    try:
        lag = load_lag(image_size=image_size)
    except FileNotFoundError as e:
        print(f"no LAG figures: {e}", file=sys.stderr)
        return None, None
    overlap = lag.lfw_overlap()
    in_lfw = {n.casefold() for n in overlap.devtrain + overlap.devtest}
    counts = lag.counts()
    people = [p for p in lag.people if p.casefold() not in in_lfw and min(counts[p]) > 0]
    return lag, people


def lag_figures(embeddings, lag, people) -> dict:
    """The seed report's cross-age figures (`facecourse.eval.cross_age_metrics`) on `people`."""
    from facecourse.eval import cross_age_metrics
    m = cross_age_metrics(np.asarray(embeddings), lag.dataset, people)
    keep = ("rank1", "rank5", "auc", "tar@far=1e-2", "eer", "n_people", "n_pairs", "n_probes", "n_gallery")
    return {k: (float(m[k]) if isinstance(m[k], float) else int(m[k])) for k in keep}


def measure_lag_student(backbone, image_size: int) -> dict | None:
    from facecourse.eval import embed
    lag, people = lag_people(image_size)
    if lag is None:
        return None
    emb = embed(backbone, lag.dataset.images, flip=True)  # flip averaging, as View 1
    return {**lag_figures(emb, lag, people), "flip": True, "image_size": image_size}


def measure_lag_dlib() -> dict | None:
    from facecourse.eval.embedding_cache import cached_embeddings, dlib_cache_path
    from facecourse.models import DlibResNet
    lag, people = lag_people(112)
    if lag is None:
        return None
    images = lag.dataset.images
    path = dlib_cache_path(lag)  # the LFW table's naming: teachers/dlib-landmarks-<hash>.npy
    emb = cached_embeddings(images, np.arange(len(images)), path, DlibResNet("landmarks"), workers=2)
    seconds = json.loads(path.with_suffix(".json").read_text())["seconds"]
    return {**lag_figures(emb, lag, people), "embed_minutes": round(seconds / 60, 2), "image_size": 112}


def train_recipe(recipe: str, root, out_dir: Path, extra: dict, tag: str) -> dict:
    from facecourse.train import TrainConfig
    from facecourse.train.cli import train_and_evaluate
    from facecourse.train.config import apply_overrides
    from facecourse.train.recipes import get_recipe
    sets = {"device": "cpu", **({"data.root": str(root)} if root else {}), **extra}
    d = apply_overrides(apply_overrides(TrainConfig().to_dict(), get_recipe(recipe)), sets)
    d["out_dir"] = str(out_dir)
    cli = " ".join(f"--set {k}={v}" for k, v in sets.items() if k != "progress")
    shown = out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir
    command = f"python -m facecourse train --recipe {recipe} {cli} --out {shown}"
    cfg = TrainConfig.from_dict(d)
    result, metrics = train_and_evaluate(cfg, command)
    metrics["command"] = f"{tag} (= {command})"
    lag = measure_lag_student(result.backbone, cfg.model.image_size)
    if lag is not None:
        metrics["lag"] = lag
    return metrics


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="CI: a few people from the raw LFW")
    parser.add_argument("--only", choices=list(MODELS), action="append",
                        help="measure only these (repeatable); default all three")
    parser.add_argument("--root", default=None, help="a prepared LFW folder (default: the cache)")
    parser.add_argument("--data", default=None, help="--tiny: the raw LFW folder (default: "
                                                     "$FACECOURSE_DATA/lfw or ../shared/data/lfw)")
    parser.add_argument("--work", default=None, help="--tiny: working folder (default: a temp dir)")
    parser.add_argument("--out", default=None, help="results JSON (default bench/results/lfw.json; "
                                                    "--tiny: <work>/lfw.json)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field of both students' recipes, as `python -m "
                             "facecourse train --set` does (e.g. max_minutes=0)")
    args = parser.parse_args(argv)
    only = args.only or list(MODELS)
    t_start = time.perf_counter()
    root, extra = args.root, {}
    threads = os.environ.get("OMP_NUM_THREADS")
    tag = (f"OMP_NUM_THREADS={threads} " if threads else "") + " ".join(
        ["python bench/lfw.py", *(argv if argv is not None else sys.argv[1:])])
    if args.tiny:
        from facecourse.data import find_lfw, prepare_lfw
        raw = Path(args.data) if args.data else find_lfw()
        if raw is None:
            print("error: no raw LFW found (set FACECOURSE_DATA; see datasets/lfw.md)", file=sys.stderr)
            return 2
        work = Path(args.work or tempfile.mkdtemp(prefix="lfw-tiny-"))
        os.environ["FACECOURSE_CACHE"] = str(work / "cache")  # dlib's cache stays in the work dir
        root = prepare_lfw(raw, work / "lfw", workers=2, names=tiny_people(raw), progress=False)
        extra = TINY
        out = Path(args.out) if args.out else work / "lfw.json"
        runs = work / "runs"
    else:
        out = Path(args.out) if args.out else RESULTS_DIR / "lfw.json"
        runs = ROOT / "runs"
    from facecourse.train.config import parse_sets
    try:
        extra = {**extra, **parse_sets(args.set)}
    except ValueError as e:
        parser.error(str(e))
    update = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "tiny": args.tiny}
    for name in only:
        key = KEY[name]
        print(f"== {name}", flush=True)
        if name == "dlib":
            m = measure_dlib(root, tag)
            lag = None if args.tiny else measure_lag_dlib()
            if lag is not None:
                m["lag"] = lag
        else:
            m = train_recipe(MODELS[name], root, runs / f"bench-{MODELS[name]}", extra, tag)
            update[f"train_cpu_minutes_{key}"] = m["train_minutes"]
        m.update(machine=update["machine"], date=update["date"])
        update[key] = {k: v for k, v in m.items() if not isinstance(v, float) or np.isfinite(v)}
        update[f"devtest_acc_{key}"] = m["acc"]
        update[f"devtest_auc_{key}"] = m["auc"]
        update[f"devtest_tar_far1e-2_{key}"] = m["tar@far=1e-2"]
        print(f"{name}: DevTest accuracy {m['acc']:.4f}, AUC {m['auc']:.4f}, "
              f"TAR@FAR=1e-2 {m['tar@far=1e-2']:.4f}", flush=True)
        if m.get("lag"):
            g = m["lag"]
            update[f"lag_auc_{key}"], update[f"lag_rank1_{key}"] = g["auc"], g["rank1"]
            update[f"lag_tar_far1e-2_{key}"] = g["tar@far=1e-2"]
            print(f"{name}: LAG ({g['n_people']} people in no LFW list) AUC {g['auc']:.4f}, "
                  f"young->adult Rank-1 {g['rank1']:.4f}, TAR@FAR=1e-2 {g['tar@far=1e-2']:.4f}", flush=True)
    update["seconds"] = round(time.perf_counter() - t_start, 1)
    merge_results(update, out)
    print(f"wrote {out} ({update['seconds']:.0f} s)")
    if out.resolve() == (RESULTS_DIR / "lfw.json").resolve():  # the README's table follows it
        import results_table
        results_table.write_readme()
        print(f"rewrote the results table in {results_table.README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
