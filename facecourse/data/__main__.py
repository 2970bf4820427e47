"""`python -m facecourse.data prepare <name> <source> [--out DIR] [--size 112 64] [--workers N]
[--limit N] [--no-verify] [--on-error raise|skip] [--on-missing centre|skip] [--pad F]` and
`python -m facecourse.data prepare-real [--profile smoke|laptop|gpu]` (every real set found in
the data root, prepared once for the lessons; what `make course` and `make test` run) and
`python -m facecourse.data contact-sheet [--out PNG]` (the README's picture of the synthetic faces).

`prepare lfw|folder|lag` detect and align every face with one pipeline
(`facecourse.data.align_faces`) and report the faces found. `prepare` writes into a staging
folder beside `--out` and replaces `--out` only once the new folder loads: a bad input leaves
an earlier prepared folder as it was. Errors print one line and exit with status 2."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

DATASETS = ("lfw", "att", "folder", "lag")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facecourse.data",
                                     description="Prepare downloaded face data sets (see datasets/).")
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="turn a downloaded archive into a prepared, aligned folder")
    prep.add_argument("name", choices=DATASETS, help="which data set")
    prep.add_argument("source", help="the downloaded archive or the folder holding it")
    prep.add_argument("--out", default=None, help="output folder (default: $FACECOURSE_CACHE/<name> "
                                                  "or <repo>/.cache/facecourse/<name>; a folder: "
                                                  "<cache>/folders/<its name>)")
    prep.add_argument("--size", type=int, nargs="+", default=None, metavar="S",
                      help="crop sizes to write, images_<S>.npy (default: 112 64)")
    prep.add_argument("--workers", type=int, default=None, help="alignment processes (default: all cores)")
    prep.add_argument("--limit", type=int, default=None, help="only the first N identities (for a quick try)")
    prep.add_argument("--no-verify", action="store_true", help="skip checksum verification")
    prep.add_argument("--on-error", choices=("raise", "skip"), default=None,
                      help="folder only: stop at the first unreadable image or empty identity folder "
                           "(raise, the default) or leave it out and list it (skip)")
    prep.add_argument("--on-missing", choices=("centre", "skip"), default=None,
                      help="folder only: an image where no face is found becomes a centre crop "
                           "(centre, the default; listed) or is left out (skip)")
    prep.add_argument("--pad", type=float, default=None,
                      help="folder, lag: black border added before face detection, as a fraction "
                           "of the image's longer side (default: folder 0.25, lag 0.4)")
    real = sub.add_parser("prepare-real", help="prepare every real set found in FACECOURSE_DATA "
                                               "(or ../shared/data) for a profile's lessons")
    real.add_argument("--profile", default="laptop", help="smoke prepares a small slice of LFW")
    real.add_argument("--workers", type=int, default=None, help="alignment processes")
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
    if args.command == "prepare-real":
        from .real import prepare_real
        try:
            prepare_real(args.profile, workers=args.workers, progress=sys.stderr.isatty())
        except (FileNotFoundError, ValueError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0
    from .paths import default_cache_dir
    out = Path(args.out) if args.out else default_cache_dir() / args.name
    if args.name == "folder" and not args.out:
        out = default_cache_dir() / "folders" / Path(args.source).resolve().name
    problem = _check_prepare_args(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    t0 = time.time()
    try:
        if args.name == "lfw":
            print(prepare_lfw_summary(args, out, t0))
        elif args.name == "folder":
            print(prepare_folder_summary(args, out, t0))
        elif args.name == "lag":
            print(prepare_lag_summary(args, out, t0))
        else:
            from .staging import prepare_images
            ds = prepare_images(args.name, args.source, out, sizes=tuple(args.size or (112, 64)))
            print(f"prepared {len(ds)} images of {ds.num_classes} identities in {out} ({time.time() - t0:.0f} s)")
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _check_prepare_args(args) -> str | None:
    """What is wrong with the `prepare` options, in one line, or None."""
    for flag, value, kinds in (("--on-error", args.on_error, ("folder",)),
                               ("--on-missing", args.on_missing, ("folder",)),
                               ("--pad", args.pad, ("folder", "lag")), ("--limit", args.limit, ("lfw",))):
        if value is not None and args.name not in kinds:
            return (f"{flag} applies to `prepare {' / '.join(kinds)}` only, not `prepare {args.name}`")
    for flag, value in (("--workers", args.workers), ("--limit", args.limit)):
        if value is not None and value < 1:
            return f"{flag} must be at least 1, got {value}"
    if args.size is not None and any(s < 8 for s in args.size):
        return f"--size must be at least 8 pixels, got {' '.join(map(str, args.size))}"
    if args.pad is not None and not 0 <= args.pad <= 2:
        return f"--pad is a fraction of the image's longer side between 0 and 2, got {args.pad}"
    return None


def prepare_lfw_summary(args, out: Path, t0: float) -> str:
    """Prepare LFW into `out` and say what came out, with the pairs `--limit` dropped."""
    from .lfw import load_lfw, prepare_lfw
    from .prepared import alignment_report
    sizes = tuple(args.size or (112, 64))
    prepare_lfw(args.source, out, workers=args.workers, limit=args.limit, verify=not args.no_verify, sizes=sizes)
    lfw = load_lfw(out, image_size=sizes[0])
    text = (f"prepared {len(lfw.dataset)} images of {lfw.dataset.num_classes} people in {out} "
            f"({time.time() - t0:.0f} s; {len(lfw.fallbacks)} centre-crop fallbacks); "
            f"View 2: {len(lfw.view2)} pairs in {lfw.view2.num_folds} folds, DevTest: {len(lfw.dev_test)}\n"
            + alignment_report(out))
    if any(lfw.dropped_pairs.values()):
        counts = ", ".join(f"{k} {n}" for k, n in lfw.dropped_pairs.items())
        text += f"\ndropped pairs that name people left out by --limit: {counts}"
    return text


def prepare_folder_summary(args, out: Path, t0: float) -> str:
    """Align a folder of photos into `out`; say what came out, the faces found and what was left out."""
    from .folder import describe_skipped, prepare_folder
    from .prepared import alignment_report, read_index
    prepare_folder(args.source, out, sizes=tuple(args.size or (112, 64)), workers=args.workers,
                   **({} if args.pad is None else {"pad": args.pad}),  # default: prepare_folder's
                   on_missing=args.on_missing or "centre", on_error=args.on_error or "raise")
    index = read_index(out)
    lines = [f"prepared {len(index['labels'])} images of {len(index['names'])} identities in {out} "
             f"({time.time() - t0:.0f} s)", alignment_report(index)]
    if index["skipped"]:
        lines.append(describe_skipped([tuple(s) for s in index["skipped"]]))
    if index["identities_left_out"]:
        lines.append(f"identities left out (no image kept): {', '.join(index['identities_left_out'][:10])}")
    return "\n".join(lines)


def prepare_lag_summary(args, out: Path, t0: float) -> str:
    """Prepare LAG into `out`: images, people, young/adult, faces found, fallbacks, LFW overlap."""
    from .lag import lfw_overlap, load_lag, prepare_lag
    from .prepared import alignment_report
    sizes = tuple(args.size or (112, 64))
    prepare_lag(args.source, out, sizes=sizes, workers=args.workers, verify=not args.no_verify,
                **({} if args.pad is None else {"pad": args.pad}))  # default: prepare_lag's
    lag = load_lag(out, image_size=sizes[0])
    young = int(lag.dataset.meta["young"].sum())
    lines = [f"prepared {len(lag.dataset)} images ({young} young, {len(lag.dataset) - young} adult) of "
             f"{len(lag.people)} people in {out} ({time.time() - t0:.0f} s)", alignment_report(out),
             f"{len(lag.fallbacks)} centre-crop fallbacks (of the padded crop; meta['fallback'], index.json)"]
    try:
        overlap = lfw_overlap(lag)
        lines.append(f"also LFW people: {len(overlap.devtrain)} DevTrain, {len(overlap.devtest)} DevTest "
                     "(LAG.split keeps them out of LAG test / train)")
    except FileNotFoundError:
        lines.append("LFW's people lists not found: the LAG/LFW overlap is not checked here")
    return "\n".join(lines)


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
