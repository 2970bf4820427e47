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

import numpy as np

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


def train_and_evaluate(cfg: TrainConfig, command: str = "", recipe: str = ""):
    """Build the run's teacher, `fit`, evaluate and calibrate: (FitResult, LFW metrics or None).

    On LFW: View 1 (`facecourse.eval.view1_metrics`, plus the training time) into
    out_dir/devtest.json, with `command` and the machine. Then `model_card.json` beside the
    checkpoint (`facecourse.models.card`), with thresholds at FAR 1e-2/1e-3/1e-4 calibrated on
    every pair of the LFW DevTrain people (never DevTest) or, for synthetic data, of held-out
    synthetic people (another seed); other data get a card without thresholds."""
    import platform

    from .fit import fit
    train_set = teacher = None
    if cfg.distill.teacher_checkpoint:
        from .export import backbone_from_checkpoint
        teacher = backbone_from_checkpoint(cfg.distill.teacher_checkpoint)[0]
    elif cfg.distill.teacher == "dlib":
        from .teachers import dlib_teacher
        train_set, teacher = dlib_teacher(cfg.data, cfg.model.image_size, progress=cfg.progress,
                                          unlabeled=cfg.distill.unlabeled)
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = fit(cfg, train_set, teacher=teacher)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if int(os.environ.get("RANK", "0")) != 0:
        return result, None
    import torch

    from facecourse import eval as ev
    config = cfg.to_dict()
    steps = result.history[-1]["step"] if result.history else 0
    metrics = calibration = counts = None
    evaluation = {}
    if cfg.data.source == "lfw":
        from facecourse.data import load_lfw
        lfw = load_lfw(cfg.data.root or None, image_size=cfg.model.image_size)
        # every image once, flipped as evaluate_view1 does: View 1 and the calibration share them
        emb = ev.embed(result.backbone, lfw.dataset.images, flip=True)  # (N, D)
        metrics = {**ev.view1_metrics(emb, lfw, threshold_pairs=lfw.threshold_pairs(cfg.data.hold_out)),
                   "flip": True, "hold_out": cfg.data.hold_out}
        metrics.update(train_minutes=round(wall / 60, 2), train_process_cpu_minutes=round(cpu / 60, 2),
                       steps=steps, threads=torch.get_num_threads(),
                       device=str(next(result.backbone.parameters()).device),
                       command=command, machine=f"{platform.machine()} {os.cpu_count()} cpus, "
                                                f"Python {platform.python_version()}",
                       date=time.strftime("%Y-%m-%d"))
        if result.out_dir is not None:
            (result.out_dir / "devtest.json").write_text(json.dumps(metrics, indent=2) + "\n")
        try:
            calibration = ev.calibrate_lfw(emb, lfw, trained_on_devtrain=True)
        except ValueError as e:  # e.g. a `prepare lfw --limit` copy with one DevTrain person
            print(f"warning: no thresholds in the model card: {e}", file=sys.stderr)
        evaluation = {"LFW View 1 (threshold from the DevTrain pairs, accuracy on the DevTest pairs)": {
            k: metrics[k] for k in ("acc", "threshold", "acc_cv", "auc", "eer", "tar@far=1e-2",
                                    "far_resolution", "n_pairs", "n_devtrain_pairs", "flip", "hold_out",
                                    "date")}}
        train_idx = lfw.devtrain_indices(cfg.data.hold_out)
        counts = (len(train_idx), len(np.unique(lfw.dataset.labels.numpy()[train_idx])))
    elif cfg.data.source == "synthetic":
        faces, what = ev.synthetic_held_out(config["data"], cfg.model.image_size)
        emb = ev.embed(result.backbone, faces, flip=True)
        calibration = ev.calibration_record(emb, faces.labels, what)
    last = result.history[-1] if result.history else {}
    bins = {k[4:-4]: last[k] for k in last if k.startswith("val_") and k.endswith("_acc")}
    if bins:  # the .bin sets measured at the last step (train/validation.py)
        evaluation["insightface .bin sets (10-fold accuracy, flip-averaged embeddings)"] = {
            **bins, "step": last["step"]}
    if result.checkpoint_path is not None and result.checkpoint_path.is_file():
        from facecourse.models.card import make_card, training_data, training_section, write_card
        training = training_section(config, training_data(config, counts), recipe, command, steps)
        card = make_card(config, result.checkpoint_path, result.backbone, training, evaluation, calibration)
        write_card(card, result.checkpoint_path)
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
                             "(--set may change epochs, max_steps, max_minutes, fit_to_time, log_every, "
                             "checkpoint_every, device, data.workers)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run already in --out (without it, an existing run "
                             "is refused)")
    args = parser.parse_args(argv)

    from .fit import TrainingDiverged

    try:
        cfg = build_config(args)
        command = "python -m facecourse train " + " ".join(argv if argv is not None else sys.argv[1:])
        result, metrics = train_and_evaluate(cfg, command, args.recipe or "")
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
    if int(os.environ.get("RANK", "0")) == 0 and result.checkpoint_path is not None:
        from facecourse.models.card import card_path
        if card_path(result.checkpoint_path).is_file():
            from facecourse.models.card import card_summary
            print(card_summary(card_path(result.checkpoint_path)))
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

    from facecourse.models.card import (
        card_for_checkpoint, card_path, check_card_fits, how_to_calibrate, make_card, sci,
    )

    from .export import backbone_from_checkpoint, export_onnx, onnx_embeddings

    notes = []
    try:
        backbone, cfg = backbone_from_checkpoint(args.checkpoint)
        if card_path(args.checkpoint).is_file():
            card = card_for_checkpoint(args.checkpoint)
            check_card_fits(card, cfg, backbone, str(args.checkpoint))  # a stale card is refused
        else:  # the pipeline from the config, no thresholds
            card = make_card(cfg, args.checkpoint, backbone)
            notes.append(f"{card_path(args.checkpoint)} is missing: the ONNX file carries a card without "
                         f"thresholds, so verify/search cannot decide with it. Make one with "
                         f"{how_to_calibrate(args.checkpoint)}, then export again")
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    model = cfg["model"]  # the run's model config, as saved
    size = args.image_size or model["image_size"]
    if size != card.input_size:
        notes.append(f"exported at {size}x{size}, but the model trained on {card.input_size}x"
                     f"{card.input_size} crops (its card's \"input_size\"): verify and search refuse this file")
    path = export_onnx(backbone, args.out, size, opset=args.opset, card=card)
    images = torch.rand(4, 3, size, size) * 2 - 1
    with torch.no_grad():
        expected = backbone(images).numpy()
    diff = abs(onnx_embeddings(path, images) - expected).max() / max(abs(expected).max(), 1e-12)
    cal = card.calibration
    print(f"model card in its metadata_props: {len(card.to_dict())} fields"
          + (f", thresholds at FAR {', '.join(sci(t.far) for t in cal.thresholds)}" if cal else ", no thresholds"))
    print(f"wrote {path} ({model['backbone']}, {size}x{size} -> {expected.shape[1]}); "
          f"onnxruntime vs torch: max |diff| / max |embedding| = {diff:.2e}")
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    return 0
