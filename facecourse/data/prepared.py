"""The prepared-folder format that `prepare lfw|folder|lag` write and `load_prepared_folder` reads.

A prepared folder holds `images_<size>.npy` (uint8 (N, 3, size, size), one per size),
`labels.npy` (int64 (N,)) and `index.json`:
  kind            "lfw" | "folder" | "lag"
  names           identity names (label i is names[i]); files: N paths relative to the source
  labels          N ints; landmarks: N five-point lists (source pixels) or null (no face found)
  num_faces       N ints: faces the detector found (0: a centre-crop fallback)
  fallbacks       the kept files without a face (centre crops)
  no_face         every file without a face (also those `--on-missing skip` left out)
  multi_face      [[file, faces]] for files with several faces (the one nearest the centre kept)
  skipped         [[path, reason]] unreadable files and empty identity folders left out
  meta            {key: N values} extra per-image factors (LAG: "young")
  images, faces_found, pad, on_missing, sizes, seconds
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .dataset import FaceDataset


def write_prepared(folder: Path, kind: str, aligned, files: list[str], labels, names: list[str],
                   meta: dict | None = None, skipped=(), **extra) -> dict:
    """Write the kept images of `aligned` (an `AlignedFaces` over `files`, in that order) with
    their `labels` (one per kept image) into `folder`; return the index written."""
    kept_files = [files[i] for i in aligned.kept]
    nf = aligned.num_faces
    index = {"kind": kind, "names": list(names), "files": kept_files, "labels": [int(c) for c in labels],
             "landmarks": [None if np.isnan(p).any() else np.round(p, 2).tolist() for p in aligned.landmarks],
             "num_faces": nf[aligned.kept].tolist(),
             "fallbacks": [f for f, fb in zip(kept_files, aligned.fallback) if fb],
             "no_face": [files[i] for i in aligned.no_face],
             "multi_face": [[files[i], int(nf[i])] for i in aligned.multi_face],
             "skipped": sorted([list(s) for s in skipped] + [[aligned.sources[i], why]
                                                             for i, why in aligned.errors],
                               key=lambda s: Path(s[0]).parts),  # in folder order
             "meta": {k: np.asarray(v).tolist() for k, v in (meta or {}).items()},
             "images": int((nf >= 0).sum()), "faces_found": int((nf > 0).sum()), "pad": aligned.pad,
             "on_missing": aligned.on_missing, "sizes": list(aligned.images),
             "seconds": aligned.seconds, **extra}
    for size, arr in aligned.images.items():
        np.save(folder / f"images_{size}.npy", arr)
    np.save(folder / "labels.npy", np.asarray(index["labels"], np.int64))
    (folder / "index.json").write_text(json.dumps(index))
    return index


def is_prepared(root: str | Path) -> bool:
    """Whether `root` is a prepared folder (it holds `index.json`)."""
    return (Path(root) / "index.json").is_file()


def read_index(root: str | Path, what: str = "load_prepared_folder") -> dict:
    root = Path(root)
    if not is_prepared(root):
        raise FileNotFoundError(f"{what}: {root} is not a prepared folder (no index.json). Prepare it first: "
                                f"`python -m facecourse.data prepare folder <photos> --out {root}` (or "
                                "`prepare lfw` / `prepare lag`).")
    return json.loads((root / "index.json").read_text())


def read_prepared(root: str | Path, image_size: int | None = 112, mmap: bool = True,
                  what: str = "load_prepared_folder"):
    """(index, images uint8 tensor (N, 3, S, S), meta dict) of a prepared folder; image_size=None:
    the largest size prepared."""
    root = Path(root)
    index = read_index(root, what)
    size = image_size if image_size is not None else max(index["sizes"])
    npy = root / f"images_{size}.npy"
    if not npy.is_file():
        raise FileNotFoundError(f"{what}: {npy} is missing; sizes prepared: {index['sizes']}. "
                                "Prepare again with that size (--size).")
    images = torch.from_numpy(np.load(npy, mmap_mode="c" if mmap else None))  # "c": copy-on-write map
    if len(images) != len(index["labels"]):
        raise ValueError(f"{what}: {npy} holds {len(images)} images but index.json {len(index['labels'])} "
                         "labels; the folder is damaged: prepare it again.")
    fb = set(index["fallbacks"])
    # folders prepared before num_faces was recorded: a landmark means one face
    num_faces = index.get("num_faces") or [0 if p is None else 1 for p in index["landmarks"]]
    meta = {"fallback": np.array([f in fb for f in index["files"]], bool),
            "num_faces": np.array(num_faces, np.int64)}
    meta.update({k: np.asarray(v) for k, v in index.get("meta", {}).items()})
    return index, images, meta


def _attach(ds: FaceDataset, index: dict, root: Path) -> FaceDataset:
    """The per-image records a prepared folder keeps beside the pixels."""
    ds.files = index["files"]
    ds.source_landmarks = np.array([[[np.nan, np.nan]] * 5 if p is None else p for p in index["landmarks"]],
                                   np.float32).reshape(-1, 5, 2)  # (N, 5, 2) in the source images' pixels
    ds.skipped = [tuple(s) for s in index.get("skipped", [])]
    ds.root = root
    return ds


def load_prepared_folder(root: str | Path, image_size: int | None = 112, mmap: bool = True) -> FaceDataset:
    """A folder prepared by `prepare folder` (or `prepare lfw` / `prepare lag`) as a FaceDataset:
    aligned images, labels, identity names, `meta["fallback"]` (no face: centre crop),
    `meta["num_faces"]`, any extra meta (LAG: `young`); `files`, `source_landmarks` (N, 5, 2)
    and `skipped` as attributes. `ImageFolderFaces(root)` does the same for a prepared root."""
    root = Path(root)
    index, images, meta = read_prepared(root, image_size, mmap)
    name = f"{index.get('kind', 'folder')}:{root.name}"
    ds = FaceDataset(images, index["labels"], index["names"], meta, name=name)
    return _attach(ds, index, root)


def format_report(images: int, found: int, no_face: list[str], multi_face: list, pad: float,
                  on_missing: str, limit: int = 10) -> str:
    """Faces found, then the first `limit` images without a face and with several faces."""
    lines = [f"faces found in {found} of {images} images"
             + (f" (each padded by {pad:.0%} of its longer side before detection)" if pad else "")]
    action = "a centre crop used instead" if on_missing == "centre" else "left out (--on-missing skip)"
    for what, rows, tail in (("no face found in", [(f, 0) for f in no_face], f" ({action}):"),
                             ("several faces in", multi_face, "; kept the one nearest the centre:")):
        if rows:
            lines.append(f"{what} {len(rows)} image(s){tail}")
            lines += [f"  {f}" + (f"  ({n} faces)" if n > 1 else "") for f, n in rows[:limit]]
            if len(rows) > limit:
                lines.append(f"  ... and {len(rows) - limit} more")
    return "\n".join(lines)


def alignment_report(root_or_index, limit: int = 10) -> str:
    """What the alignment of a prepared folder found (from its index.json): faces found, the
    first `limit` images without a face and those with several faces."""
    index = root_or_index if isinstance(root_or_index, dict) else read_index(root_or_index, "alignment_report")
    return format_report(index["images"], index["faces_found"], index["no_face"], index["multi_face"],
                         index["pad"], index["on_missing"], limit)
