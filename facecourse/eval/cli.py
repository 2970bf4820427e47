"""`python -m facecourse eval`: verification metrics of a trained checkpoint.

    python -m facecourse eval --checkpoint runs/a/checkpoint.pt --data lfw --protocol view2
    python -m facecourse eval --checkpoint runs/a/checkpoint.pt --data synthetic --flip \
        --out runs/a/eval.json
    python -m facecourse eval --checkpoint runs/a/checkpoint.pt --data lfw --protocol devtest --calibrate

Data: ``lfw`` (the prepared LFW cache, `python -m facecourse.data prepare lfw ...` first),
``synthetic`` (held-out synthetic identities, a different seed from the training set), or a
folder: with protocol view2/devtest a prepared LFW folder, else one sub-folder per identity.
Protocols: ``view2`` (LFW pairs.txt, 10 official folds), ``devtest`` (pairsDevTest.txt),
``synthetic`` (`facecourse.data.make_pairs`, 10 folds, plus leave-one-out Rank-1).

``--calibrate`` also writes `model_card.json` beside the checkpoint (`facecourse.models.card`):
the input pipeline, these figures, and thresholds at FAR 1e-2 / 1e-3 / 1e-4 from EVERY pair
of held-out faces (`facecourse.eval.calibrate`): on LFW the DevTrain people's images, whatever
the protocol (never DevTest's: DevTest is where results are reported), checked on the DevTest
people; otherwise the evaluation data itself. A card beside the checkpoint that describes
another model (input size, embedding size) is refused unless --calibrate replaces it.

Bad input (options, data, a checkpoint whose embeddings are NaN) prints one ``error:`` line
and exits with status 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from facecourse.models.card import json_safe

LFW_PROTOCOLS = {"view2": "view2", "devtest": "dev_test"}  # protocol -> LFW attribute
FOLDS = 10  # synthetic protocol: identity-disjoint folds of make_pairs

TABLE_KEYS = ("acc_mean", "acc_std", "auc", "eer", "far_resolution", "tar@far=1e-1", "tar@far=1e-2",
              "tar@far=1e-3", "tar@far=1e-4", "threshold", "rank1")


def _load(args, cfg: dict):
    """(dataset, pairs, LFW or None) for the chosen data and protocol (facecourse.data does the
    loading); `cfg` is the config dict saved in the checkpoint."""
    from facecourse import data

    from .calibration import synthetic_held_out

    size = _setting(cfg, "model", "image_size", args.checkpoint)
    if args.protocol in LFW_PROTOCOLS:
        if args.data == "synthetic":
            raise ValueError(f"--protocol {args.protocol} is an LFW protocol; use --data lfw (or "
                             "a prepared LFW folder), or --protocol synthetic with --data synthetic")
        root = None if args.data == "lfw" else Path(args.data)  # None: the prepared cache
        lfw = data.load_lfw(root, image_size=size)
        pairs = getattr(lfw, LFW_PROTOCOLS[args.protocol])
        if args.protocol == "devtest":  # one fold in the file, matched pairs first: 10 interleaved
            pairs = dataclasses.replace(pairs, fold=np.arange(len(pairs)) % min(FOLDS, len(pairs)))  # as view1
        return lfw.dataset, pairs, lfw
    if args.data == "lfw":
        raise ValueError("--data lfw goes with --protocol view2 or devtest")
    if args.data == "synthetic":
        _setting(cfg, "data", "difficulty", args.checkpoint), _setting(cfg, "data", "seed", args.checkpoint)
        dataset, args.held_out = synthetic_held_out(cfg["data"], size, args.num_identities,
                                                    args.images_per_identity, args.seed)  # unseen faces
    else:
        if not Path(args.data).is_dir():
            raise FileNotFoundError(f"--data {args.data!r} is not lfw, synthetic or a folder")
        dataset = data.ImageFolderFaces(args.data, image_size=size, on_error=args.on_error)
        if dataset.skipped:
            from facecourse.data.folder import describe_skipped
            print(describe_skipped(dataset.skipped))
    return dataset, data.make_pairs(dataset, args.num_pairs, seed=args.seed, folds=FOLDS), None


def _setting(cfg: dict, section: str, key: str, checkpoint):
    """`cfg[section][key]` of a checkpoint's config, or a ValueError naming what is missing."""
    try:
        return cfg[section][key]
    except (KeyError, TypeError):
        raise ValueError(f"checkpoint {str(checkpoint)!r}: its config has no {section}.{key}; "
                         "use a checkpoint written by fit()") from None


def check_args(args) -> None:
    """Refuse option values that cannot work, before anything is loaded (ValueError). The
    synthetic sizes are checked only where they are used."""
    least = {"--batch-size": (args.batch_size, 1, "")}
    if args.protocol == "synthetic":
        least["--num-pairs"] = (args.num_pairs, 2 * FOLDS,
                                f"one matched and one mismatched pair in each of {FOLDS} folds")
    if args.data == "synthetic":
        least["--num-identities"] = (args.num_identities, 2 * FOLDS,
                                     f"two people in each of {FOLDS} identity-disjoint folds")
        least["--images-per-identity"] = (args.images_per_identity, 2,
                                           "a matched pair needs two images of one person")
    for flag, (value, low, why) in least.items():
        if value < low:
            raise ValueError(f"{flag} must be at least {low}{f' ({why})' if why else ''}, got {value}")


def choose_device(requested: str | None) -> str:
    """`--device`, checked against this machine (ValueError), or cuda when available else cpu."""
    import torch
    if requested is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise ValueError(f"--device {requested} is not a device; use --device cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {requested} but CUDA is not available here; use --device cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(f"--device {requested} but this machine has {count} CUDA device(s) "
                             f"(cuda:0 to cuda:{count - 1}); pick one of those or --device cpu")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {requested} but MPS is not available here; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device {requested}: eval runs on cpu, cuda or mps")
    return requested


def format_table(results: dict) -> str:
    """The headline numbers, one per line."""
    rows = [(k, results[k]) for k in TABLE_KEYS if k in results]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}"
                     for k, v in rows)


def check_card(args, cfg: dict, backbone) -> list[str]:
    """Refuse a card beside the checkpoint that describes another model (CardMismatchError
    quoting it), unless --calibrate is about to replace it; notes for a stale or missing card."""
    from facecourse.models.card import (
        CardMismatchError, card_path, check_card_fits, how_to_calibrate, read_card,
    )
    path = card_path(args.checkpoint)
    if not path.is_file():
        return [] if args.calibrate else [f"{path} is missing; {how_to_calibrate(args.checkpoint)} writes it"]
    try:
        card = read_card(path)
        check_card_fits(card, cfg, backbone, str(args.checkpoint), weights=False)
    except CardMismatchError as e:
        if not args.calibrate:
            raise CardMismatchError(f"{e}. --calibrate writes a new card") from None
        return [f"replacing {path}: {e}"]
    try:
        check_card_fits(card, cfg, backbone, str(args.checkpoint))
    except CardMismatchError as e:
        return [] if args.calibrate else [str(e)]
    return []


def calibrate_card(args, cfg: dict, backbone, dataset, lfw, results: dict, device: str):
    """Thresholds from every pair of held-out faces (LFW: the DevTrain people; else the
    evaluation data), written with these figures into model_card.json beside the checkpoint;
    returns its path. A card already there for these weights keeps its training record."""
    from facecourse.models.card import (
        CardMismatchError, card_path, check_card_fits, make_card, read_card, training_section, write_card,
    )

    from .calibration import calibrate_lfw, calibration_record
    from .embeddings import embed
    flip = {"batch_size": args.batch_size, "flip": True, "device": device, "amp": device.startswith("cuda")}
    if lfw is not None:  # every LFW image: DevTrain people to calibrate, DevTest people to check
        emb = embed(backbone, lfw.dataset.images, **flip)
        calibration = calibrate_lfw(emb, lfw, trained_on_devtrain=cfg.get("data", {}).get("source") == "lfw")
    else:
        emb = embed(backbone, dataset, **flip)
        what = getattr(args, "held_out", None) or (
            f"the folder {args.data} ({len(dataset):,} images of {len(set(dataset.labels.tolist())):,} people, "
            "all pairs)")
        calibration = calibration_record(emb, dataset.labels, what)
    training, evaluation = training_section(cfg), {}
    path = card_path(args.checkpoint)
    if path.is_file():
        try:
            old = read_card(path)
            check_card_fits(old, cfg, backbone, str(args.checkpoint))
            training, evaluation = old.training, dict(old.evaluation)
        except CardMismatchError:
            pass  # another model's or a stale card: start afresh
    command = "python -m facecourse eval " + " ".join(sys.argv[1:] if args.argv is None else args.argv)
    evaluation[f"{args.protocol} on {args.data}"] = {
        **{k: results[k] for k in TABLE_KEYS if k in results}, "n_pairs": results.get("n_pairs"),
        "flip": args.flip, "metric": args.metric, "command": command}
    card = make_card(cfg, args.checkpoint, backbone, training, json_safe(evaluation), calibration)
    return write_card(card, args.checkpoint)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facecourse eval",
                                     description="Verification metrics of a fit() checkpoint.")
    parser.add_argument("--checkpoint", required=True, help="checkpoint.pt written by fit()")
    parser.add_argument("--data", default="lfw", help="lfw | synthetic | a folder")
    parser.add_argument("--protocol", default="view2", choices=[*LFW_PROTOCOLS, "synthetic"])
    parser.add_argument("--flip", action="store_true", help="flip test-time augmentation")
    parser.add_argument("--metric", default="cosine", choices=["cosine", "sqeuclidean"])
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:1 (default: cuda if "
                                                       "available)")
    parser.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                        help="--data FOLDER: stop at the first unreadable image or empty identity "
                             "folder (raise), or leave it out and list it (skip)")
    parser.add_argument("--num-pairs", type=int, default=6000, help="synthetic protocol: pairs")
    parser.add_argument("--num-identities", type=int, default=100, help="synthetic data")
    parser.add_argument("--images-per-identity", type=int, default=10, help="synthetic data")
    parser.add_argument("--seed", type=int, default=0, help="synthetic data and pairs")
    parser.add_argument("--calibrate", action="store_true",
                        help="also write model_card.json beside the checkpoint, with thresholds at FAR "
                             "1e-2/1e-3/1e-4 from every pair of held-out faces (LFW: the DevTrain people)")
    args = parser.parse_args(argv)
    args.argv = argv

    from facecourse.models.card import CardMismatchError
    from facecourse.models.loading import backbone_from_checkpoint

    from .embeddings import NonFiniteEmbeddingError, embed, evaluate_verification, pair_scores
    from .identification import leave_one_out_rank1
    from .verification import verification_metrics

    try:
        check_args(args)
        device = choose_device(args.device)
        backbone, cfg = backbone_from_checkpoint(args.checkpoint)
        notes = check_card(args, cfg, backbone)
        dataset, pairs, lfw = _load(args, cfg)
        backbone.to(device)
        amp = device.startswith("cuda")
        if args.protocol == "synthetic":  # every image: also leave-one-out Rank-1
            emb = embed(backbone, dataset, batch_size=args.batch_size, flip=args.flip,
                        device=device, amp=amp)
            scores = pair_scores(emb, pairs, metric=args.metric)
            results = verification_metrics(scores, pairs.issame, folds=pairs.fold)
            results.update(leave_one_out_rank1(emb, dataset.labels))
        else:  # only the images some pair uses (7,701 of LFW's 13,233)
            results = evaluate_verification(backbone, dataset, pairs, flip=args.flip,
                                            metric=args.metric, batch_size=args.batch_size,
                                            device=device, amp=amp)
        results["num_images"] = int(len(dataset))
        if hasattr(dataset, "skipped"):  # a folder: what --on-error skip left out
            results["skipped"] = [path for path, _ in dataset.skipped]
        card = calibrate_card(args, cfg, backbone, dataset, lfw, results, device) if args.calibrate else None
    except NonFiniteEmbeddingError as e:
        print(f"error: {e.about(data=args.data, checkpoint=args.checkpoint)}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, KeyError, CardMismatchError) as e:
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"note: {note}")
    results = {"checkpoint": str(args.checkpoint), "data": args.data,
               "protocol": args.protocol, "flip": args.flip, "metric": args.metric, **results}
    print(f"{args.protocol} on {args.data} ({results['n_pairs']} pairs, flip={args.flip})")
    print(format_table(results))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(json_safe(results), indent=2) + "\n")
        print(f"wrote {args.out}")
    if card is not None:
        from facecourse.models.card import card_summary
        print(card_summary(card))
    return 0
