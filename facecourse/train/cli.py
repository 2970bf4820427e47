"""`python -m facecourse train` and `python -m facecourse export-onnx`.

    python -m facecourse train --recipe synthetic-arcface --set optim.lr=0.05 --out runs/a
    python -m facecourse train --out runs/a --resume            # continue runs/a (its own config)
    python -m facecourse train --out runs/a --resume --set epochs=20   # ... and train longer
    python -m facecourse train --recipe synthetic-arcface --out runs/a --overwrite  # replace it
    torchrun --nproc_per_node=2 -m facecourse train --recipe synthetic-arcface --out runs/b
    python -m facecourse export-onnx --checkpoint runs/a/checkpoint.pt --out a.onnx
    python -m facecourse train --recipe lfw-distill --out runs/lfw-distill   # prints DevTest

The config is built in layers: TrainConfig defaults < --recipe < --config file < --set.
With --resume and neither --recipe nor --config, the first layer is the run's own config (the
one its checkpoint holds), so only the --set changes apply; a change to anything but the
schedule's length and the logging (config.RESUMABLE) is refused with the differing keys.
A folder that already holds a run is never reused silently: --resume continues it,
--overwrite replaces it, anything else is refused; `out_dir/.lock` keeps a second process out.
A run on LFW (data.source=lfw) ends with the View 1 evaluation (threshold chosen on the
DevTrain pairs, accuracy on the DevTest pairs), printed and written to out_dir/devtest.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .config import TrainConfig, apply_overrides, parse_sets
from .recipes import RECIPES, get_recipe


def _merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for k, v in update.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def build_config(args) -> TrainConfig:
    """The run's TrainConfig from the parsed command line (see the module docstring)."""
    d = TrainConfig().to_dict()
    if args.resume and not args.recipe and not args.config:
        if not args.out:
            raise ValueError("--resume needs --out DIR (the folder of the run to continue)")
        d = _run_config(Path(args.out))
    if args.recipe:
        d = apply_overrides(d, get_recipe(args.recipe))
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise FileNotFoundError(f"--config {args.config!r} does not exist; pass a JSON file "
                                    "such as the config.json of an earlier run")
        d = _merge(d, json.loads(path.read_text()))
    d = apply_overrides(d, parse_sets(args.set))
    if args.out:
        d["out_dir"] = args.out
    if args.resume:
        if not args.out:
            raise ValueError("--resume needs --out DIR (the folder of the run to continue)")
        d["resume"] = True
    d["overwrite"] = bool(getattr(args, "overwrite", False))
    if args.resume and d["overwrite"]:
        raise ValueError("--resume continues the run in --out, --overwrite replaces it: pass one")
    if not d.get("out_dir"):
        d["out_dir"] = str(Path("runs") / f"train-{args.recipe or 'custom'}-"
                                         f"{time.strftime('%Y%m%d-%H%M%S')}")
    return TrainConfig.from_dict(d)


def _run_config(out: Path) -> dict:
    """The config of the run in `out`: its checkpoint's (what the weights were trained with)."""
    from .checkpoint import CHECKPOINT_NAME, load_checkpoint
    ckpt = out / CHECKPOINT_NAME
    if not ckpt.is_file():
        raise FileNotFoundError(f"--resume: {str(out)!r} holds no run to continue (no "
                                f"{CHECKPOINT_NAME}). Drop --resume to start a new run there, "
                                "or pass the --out of the run to continue.")
    return load_checkpoint(ckpt)["config"]


def train_and_evaluate(cfg: TrainConfig, command: str = ""):
    """Build the run's teacher, `fit`, and on LFW evaluate View 1: (FitResult, metrics or None).

    The metrics (`facecourse.eval.view1_metrics` plus the training time) are also written to
    out_dir/devtest.json, with `command` and the machine."""
    import platform

    from .fit import fit
    train_set = teacher = None
    if cfg.distill.teacher_checkpoint:
        from .export import backbone_from_checkpoint
        teacher = backbone_from_checkpoint(cfg.distill.teacher_checkpoint)[0]
    elif cfg.distill.teacher == "dlib":
        from .teachers import dlib_teacher
        train_set, teacher = dlib_teacher(cfg.data, cfg.model.image_size, progress=cfg.progress)
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = fit(cfg, train_set, teacher=teacher)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if cfg.data.source != "lfw" or int(os.environ.get("RANK", "0")) != 0:
        return result, None
    import torch

    from facecourse.data import load_lfw
    from facecourse.eval import evaluate_view1
    lfw = load_lfw(cfg.data.root or None, image_size=cfg.model.image_size)
    metrics = evaluate_view1(result.backbone, lfw)
    metrics.update(train_minutes=round(wall / 60, 2), train_process_cpu_minutes=round(cpu / 60, 2),
                   steps=result.history[-1]["step"] if result.history else 0,
                   threads=torch.get_num_threads(), device=str(next(result.backbone.parameters()).device),
                   command=command, machine=f"{platform.machine()} {os.cpu_count()} cpus, "
                                            f"Python {platform.python_version()}",
                   date=time.strftime("%Y-%m-%d"))
    if result.out_dir is not None:
        (result.out_dir / "devtest.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return result, metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facecourse train",
                                     description="Train a face recognition model with fit().")
    parser.add_argument("--config", help="a JSON config (e.g. an earlier run's config.json)")
    parser.add_argument("--recipe", help=f"a named preset: {', '.join(sorted(RECIPES))}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one field, dotted: --set optim.lr=0.01 (repeatable)")
    parser.add_argument("--out", help="run folder (config.json, history.csv, checkpoint.pt)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its checkpoint, with its own config "
                             "(--set may change epochs, max_steps, max_minutes, log_every, "
                             "checkpoint_every, device, data.workers)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run already in --out (without it, an existing run "
                             "is refused)")
    args = parser.parse_args(argv)

    from .fit import TrainingDiverged

    try:
        cfg = build_config(args)
        command = "python -m facecourse train " + " ".join(argv if argv is not None else sys.argv[1:])
        result, metrics = train_and_evaluate(cfg, command)
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (KeyError, ValueError, FileNotFoundError, TypeError) as e:
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0 and result.history:
        last = result.history[-1]
        print(f"done: {last['step']} steps, {last['epoch']} epochs, loss {last['loss']:.4f}, "
              f"{last['img_per_s']:.1f} img/s; checkpoint {result.checkpoint_path}")
    if metrics is not None:
        print(f"LFW DevTest ({metrics['n_pairs']} pairs, threshold from DevTrain pairs): "
              f"accuracy {metrics['acc']:.4f}, AUC {metrics['auc']:.4f}, TAR@FAR=1e-2 "
              f"{metrics['tar@far=1e-2']:.4f} (10-fold inside DevTest: {metrics['acc_cv']:.4f}); "
              f"{metrics['train_minutes']:.1f} min of training; {result.out_dir}/devtest.json")
    return 0


def export_onnx_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facecourse export-onnx",
                                     description="Export the backbone of a checkpoint to ONNX.")
    parser.add_argument("--checkpoint", required=True, help="checkpoint.pt written by train")
    parser.add_argument("--out", required=True, help="the .onnx file to write")
    parser.add_argument("--image-size", type=int, default=None,
                        help="input size H = W (default: the run's model.image_size)")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args(argv)

    import torch

    from .export import backbone_from_checkpoint, export_onnx, onnx_embeddings

    try:
        backbone, cfg = backbone_from_checkpoint(args.checkpoint)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    model = cfg["model"]  # the run's model config, as saved
    size = args.image_size or model["image_size"]
    path = export_onnx(backbone, args.out, size, opset=args.opset)
    images = torch.rand(4, 3, size, size) * 2 - 1
    with torch.no_grad():
        expected = backbone(images).numpy()
    diff = abs(onnx_embeddings(path, images) - expected).max() / max(abs(expected).max(), 1e-12)
    print(f"wrote {path} ({model['backbone']}, {size}x{size} -> {expected.shape[1]}); "
          f"onnxruntime vs torch: max |diff| / max |embedding| = {diff:.2e}")
    return 0
