"""`python -m facecourse.data prepare <name> <source> [--out DIR] [--workers N]`."""
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
    args = parser.parse_args(argv)
    from .paths import default_cache_dir
    out = Path(args.out) if args.out else default_cache_dir() / args.name
    t0 = time.time()
    try:
        if args.name == "lfw":
            from .lfw import load_lfw, prepare_lfw
            prepare_lfw(args.source, out, workers=args.workers, limit=args.limit, verify=not args.no_verify)
            lfw = load_lfw(out, image_size=112)
            print(f"prepared {len(lfw.dataset)} images of {lfw.dataset.num_classes} people in {out} "
                  f"({time.time() - t0:.0f} s; {len(lfw.fallbacks)} centre-crop fallbacks); "
                  f"View 2: {len(lfw.view2)} pairs in {lfw.view2.num_folds} folds, DevTest: {len(lfw.dev_test)}")
        else:
            import numpy as np
            from .att import load_att
            from .folder import ImageFolderFaces
            for size in (112, 64):
                ds = load_att(args.source, size) if args.name == "att" else ImageFolderFaces(args.source, size)
                out.mkdir(parents=True, exist_ok=True)
                np.save(out / f"images_{size}.npy", ds.images.numpy())
                np.save(out / "labels.npy", ds.labels.numpy())
            print(f"prepared {len(ds)} images of {ds.num_classes} identities in {out} ({time.time() - t0:.0f} s)")
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
