"""`python -m facecourse.data prepare <name> <source> [--out DIR] [--workers N] [--limit N]
[--no-verify] [--on-error raise|skip]` and `python -m facecourse.data contact-sheet [--out PNG]`
(the README's picture of the synthetic faces).

`prepare` writes into a staging folder beside `--out` and replaces `--out` only once the new
folder loads: a bad input leaves an earlier prepared folder as it was. Errors print one line
and exit with status 2."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

DATASETS = ("lfw", "att", "folder")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facecourse.data",
                                     description="Prepare downloaded face data sets (see datasets/).")
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="turn a downloaded archive into a prepared, aligned folder")
    prep.add_argument("name", choices=DATASETS, help="which data set")
    prep.add_argument("source", help="the downloaded archive or the folder holding it")
    prep.add_argument("--out", default=None, help="output folder (default: $FACECOURSE_CACHE/<name> "
                                                  "or <repo>/.cache/facecourse/<name>)")
    prep.add_argument("--workers", type=int, default=None, help="alignment processes (default: all cores)")
    prep.add_argument("--limit", type=int, default=None, help="only the first N identities (for a quick try)")
    prep.add_argument("--no-verify", action="store_true", help="skip checksum verification")
    prep.add_argument("--on-error", choices=("raise", "skip"), default=None,
                      help="folder only: stop at the first unreadable image or empty identity folder "
                           "(raise, the default) or leave it out and list it (skip)")
    sheet = sub.add_parser("contact-sheet", help="render a grid of synthetic faces into a picture")
    sheet.add_argument("--out", default="docs/synthetic_faces.jpg", help="the picture to write (.jpg or .png)")
    sheet.add_argument("--identities", type=int, default=6, help="rows: one identity each")
    sheet.add_argument("--per-identity", type=int, default=10, help="columns: images of that identity")
    sheet.add_argument("--size", type=int, default=96, help="face side in pixels")
    sheet.add_argument("--difficulty", type=float, default=0.5)
    sheet.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "contact-sheet":
        return contact_sheet(args)
    from .paths import default_cache_dir
    out = Path(args.out) if args.out else default_cache_dir() / args.name
    problem = _check_prepare_args(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    t0 = time.time()
    try:
        if args.name == "lfw":
            print(prepare_lfw_summary(args, out, t0))
        else:
            from .staging import prepare_images
            ds = prepare_images(args.name, args.source, out, on_error=args.on_error or "raise")
            print(f"prepared {len(ds)} images of {ds.num_classes} identities in {out} ({time.time() - t0:.0f} s)")
            if getattr(ds, "skipped", None):
                from .folder import describe_skipped
                print(describe_skipped(ds.skipped))
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _check_prepare_args(args) -> str | None:
    """What is wrong with the `prepare` options, in one line, or None."""
    if args.on_error is not None and args.name != "folder":
        return f"--on-error applies to `prepare folder` only, not `prepare {args.name}`"
    for flag, value in (("--workers", args.workers), ("--limit", args.limit)):
        if value is not None and value < 1:
            return f"{flag} must be at least 1, got {value}"
    return None


def prepare_lfw_summary(args, out: Path, t0: float) -> str:
    """Prepare LFW into `out` and say what came out, with the pairs `--limit` dropped."""
    from .lfw import load_lfw, prepare_lfw
    prepare_lfw(args.source, out, workers=args.workers, limit=args.limit, verify=not args.no_verify)
    lfw = load_lfw(out, image_size=112)
    text = (f"prepared {len(lfw.dataset)} images of {lfw.dataset.num_classes} people in {out} "
            f"({time.time() - t0:.0f} s; {len(lfw.fallbacks)} centre-crop fallbacks); "
            f"View 2: {len(lfw.view2)} pairs in {lfw.view2.num_folds} folds, DevTest: {len(lfw.dev_test)}")
    if any(lfw.dropped_pairs.values()):
        counts = ", ".join(f"{k} {n}" for k, n in lfw.dropped_pairs.items())
        text += f"\ndropped pairs that name people left out by --limit: {counts}"
    return text


def contact_sheet(args) -> int:
    """One row per identity, its images left to right, with 2-px gutters; written with Pillow."""
    import numpy as np
    from PIL import Image

    from .synthetic import SyntheticFaces
    faces = SyntheticFaces(args.identities, args.per_identity, args.size,
                           difficulty=args.difficulty, seed=args.seed)
    order = np.argsort(faces.labels.numpy(), kind="stable")
    tiles = faces.images[order].permute(0, 2, 3, 1).numpy()  # (N, H, W, 3) uint8
    gap, s = 2, args.size
    sheet = np.full((args.identities * (s + gap) + gap, args.per_identity * (s + gap) + gap, 3),
                    255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, args.per_identity)
        sheet[gap + r * (s + gap):gap + r * (s + gap) + s, gap + c * (s + gap):gap + c * (s + gap) + s] = tile
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(out, quality=90) if out.suffix.lower() in (".jpg", ".jpeg") else Image.fromarray(sheet).save(out)
    print(f"wrote {out}: {args.identities} identities x {args.per_identity} images at {s} px "
          f"(difficulty {args.difficulty}, seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
