"""`python -m facecourse search PROBE --gallery DIR --checkpoint C`: who is this, among known people?

    python -m facecourse search who.jpg --gallery people/ --checkpoint runs/lfw/checkpoint.pt --top 5

The gallery is one folder of people: raw photos `DIR/<person>/<photo>` (aligned once with
`facecourse.data.prepare_folder` into `DIR.facecourse/prepared/` beside it, again when a photo
is added, removed or changed), or a folder that `prepare folder` already wrote. Its embeddings
are cached beside it too (`DIR.facecourse/embeddings-<key>.npy`, the key hashing the model's
weights and the aligned pixels: another model or a new photo recomputes). The score of a person
is the HIGHEST cosine between the probe and any of their photos; people are ranked by it and the
best is named only when its score reaches the card's threshold at the chosen FAR, otherwise the
probe is "unknown" (open-set identification). The threshold is a 1:1 threshold: an unknown face
is compared with every gallery photo, so its chance of passing one is up to (photos x FAR).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from facecourse.models.card import CardMismatchError, sci

from .model import FaceModel, Photos, align_photos, card_notes, default_pad
from .verify import ERRORS, add_model_arguments

CACHE_SUFFIX = ".facecourse"


@dataclass
class Gallery:
    """Aligned gallery photos: `images` uint8 (N, 3, S, S), `labels` (N,), `names`, `files`."""
    root: Path
    images: torch.Tensor
    labels: np.ndarray
    names: list[str]
    files: list[str]
    cache: Path
    notes: list[str] = field(default_factory=list)


def _manifest(root: Path) -> list:
    from facecourse.data.folder import list_image_folder
    files, _ = list_image_folder(root, on_error="skip", what="search --gallery")
    return [[f.relative_to(root).as_posix(), f.stat().st_size, f.stat().st_mtime_ns] for f, _ in files]


def gallery_folder(root) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"--gallery {str(root)!r} is not a folder; pass a folder of people "
                                "(DIR/<person>/<photo>) or one that `prepare folder` wrote")
    return root


def load_gallery(root, size: int, pad: float = 0.25, on_missing: str = "skip", cache=None,
                 progress: bool = True, workers: int = 1) -> Gallery:
    """The gallery's aligned crops at `size` px: a prepared folder read as is, or raw photos
    prepared into `<cache>/prepared` (default cache `<root>.facecourse` beside `root`), reused
    while the photos and settings are unchanged. on_missing: photos without a face are left
    out ("skip", listed) or centre-cropped ("centre"). workers: alignment processes; one by
    default, since forking a process that has run torch can hang (for a large gallery, run
    `python -m facecourse.data prepare folder DIR --workers N` first and pass its output)."""
    from facecourse.data import alignment_report, prepare_folder
    from facecourse.data.prepared import is_prepared, read_index, read_prepared
    root = gallery_folder(root)
    cache = Path(cache) if cache is not None else root.with_name(root.name + CACHE_SUFFIX)
    notes = []
    if is_prepared(root):
        prepared = root
        sizes = read_index(root)["sizes"]
        if size not in sizes:
            raise CardMismatchError(
                f"the gallery {root} was prepared at {sizes} px but the model card says \"input_size\": "
                f"{size}; prepare it again with `python -m facecourse.data prepare folder PHOTOS --size "
                f"{size} --out {root}`, or pass the folder of raw photos")
    else:
        prepared = cache / "prepared"
        stamp = {"files": _manifest(root), "size": size, "pad": pad, "on_missing": on_missing}
        stamp_file = cache / "prepared.json"
        if not (is_prepared(prepared) and stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp):
            prepare_folder(root, prepared, sizes=(size,), workers=workers,
                           progress=progress, pad=pad, on_missing=on_missing, on_error="skip")
            stamp_file.write_text(json.dumps(stamp))
            notes.append(f"aligned the gallery into {prepared}: " + alignment_report(prepared, limit=5))
    index, images, _ = read_prepared(prepared, size, what="search --gallery")
    if index.get("skipped"):
        notes.append(f"left out {len(index['skipped'])} unreadable photo(s) or empty folder(s): "
                     + ", ".join(s[0] for s in index["skipped"][:5]))
    return Gallery(root, images, np.asarray(index["labels"]), index["names"], index["files"], cache, notes)


def gallery_embeddings(model: FaceModel, gallery: Gallery) -> tuple[torch.Tensor, Path, bool]:
    """(embeddings (N, D), cache file, whether they were computed now): cached beside the
    gallery, keyed by the model's weights and the gallery's pixels."""
    from facecourse.eval.embedding_cache import data_key
    h = hashlib.blake2b(digest_size=8)
    h.update(f"{model.fingerprint} {data_key(gallery.images)} flip={model.card.flip_tta}".encode())
    path = gallery.cache / f"embeddings-{h.hexdigest()}.npy"
    if path.is_file():
        emb = np.load(path)
        if emb.shape == (len(gallery.images), model.card.embedding_dim):
            return torch.from_numpy(emb), path, False
    emb = model.embed(gallery.images)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npy")
    np.save(tmp, emb.numpy())
    os.replace(tmp, path)
    return emb, path, True


@dataclass
class Match:
    name: str
    score: float  # the highest cosine over the person's photos
    photos: int
    best_photo: str


@dataclass
class SearchResult:
    ranking: list[Match]  # every gallery person, best first
    threshold: object  # the card's Threshold
    identity: str | None  # ranking[0].name when its score >= threshold, else None ("unknown")
    notes: list[str] = field(default_factory=list)


def rank_people(probe_emb: torch.Tensor, gallery_emb: torch.Tensor, labels, names, files) -> list[Match]:
    """Every person of the gallery, by their best photo's cosine with the probe (D,), best
    first (ties by name)."""
    scores = (gallery_emb.float() @ probe_emb.float()).numpy()  # (N,)
    labels = np.asarray(labels)
    out = []
    for c, name in enumerate(names):
        rows = np.flatnonzero(labels == c)
        if rows.size:
            best = rows[np.argmax(scores[rows])]
            out.append(Match(name, float(scores[best]), int(rows.size), files[best]))
    return sorted(out, key=lambda m: (-m.score, m.name))


def search(model: FaceModel, probe, gallery: Gallery, far: float | None = None,
           on_missing: str = "error", pad: float | None = None) -> SearchResult:
    """Rank `gallery`'s people for the photo `probe` (a path, or its `Photos` from
    `align_photos`) and name the best one if it passes the card's threshold at `far`."""
    threshold = model.card.threshold(far, model.source)
    if len(gallery.images) == 0:
        raise ValueError(f"the gallery {gallery.root} holds no aligned photo")
    photos = probe if isinstance(probe, Photos) else align_photos(
        [probe], model.card.input_size, default_pad(model.card, pad), on_missing)
    probe_emb = model.embed(photos.images)[0]
    gallery_emb, path, fresh = gallery_embeddings(model, gallery)
    ranking = rank_people(probe_emb, gallery_emb, gallery.labels, gallery.names, gallery.files)
    best = ranking[0]
    notes = gallery.notes + photos.notes + [
        f"{'computed' if fresh else 'read'} the gallery's embeddings ({len(gallery_emb)} photos): {path}"]
    return SearchResult(ranking, threshold, best.name if best.score >= threshold.threshold else None, notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facecourse search",
                                     description="Who does a photo show, among a gallery of people?")
    parser.add_argument("probe", metavar="PROBE", help="the photo to identify")
    parser.add_argument("--gallery", required=True,
                        help="a folder of people, DIR/<person>/<photo> (or a prepared folder)")
    parser.add_argument("--top", type=int, default=5, help="people to list (default 5)")
    parser.add_argument("--cache", default=None,
                        help="where the aligned gallery and its embeddings go (default: DIR.facecourse beside it)")
    add_model_arguments(parser)
    args = parser.parse_args(argv)

    from facecourse.eval.cli import choose_device

    from .model import load_model
    try:
        if args.top < 1:
            raise ValueError(f"--top must be at least 1, got {args.top}")
        model = load_model(args.checkpoint, args.onnx, choose_device(args.device))
        model.card.threshold(args.far, model.source)  # a bad --far fails before anything is aligned
        pad = default_pad(model.card, args.pad)
        gallery_folder(args.gallery)
        probe = align_photos([args.probe], model.card.input_size, pad, args.on_missing)  # its errors first
        gallery = load_gallery(args.gallery, model.card.input_size, pad,
                               "centre" if args.on_missing == "centre" else "skip", args.cache)
        result = search(model, probe, gallery, args.far)
    except ERRORS as e:
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    for note in card_notes(model.card) + result.notes:
        print(f"note: {note}")
    t, n_photos = result.threshold, len(gallery.images)
    print(f"{args.probe} against {len(result.ranking)} people ({n_photos} photos) of {gallery.root}; "
          "a person's score is the highest cosine over their photos")
    width = max(len(m.name) for m in result.ranking[:args.top])
    print(f"  {'rank':<4}  {'person':<{width}}  score   photos  best photo")
    for k, m in enumerate(result.ranking[:args.top], start=1):
        mark = "  >= threshold" if m.score >= t.threshold else ""
        print(f"  {k:<4}  {m.name:<{width}}  {m.score:.4f}  {m.photos:>6}  {m.best_photo}{mark}")
    print("\n".join([model.card.describe(t), *model.card.measured(t)]))
    print(f"  (a 1:1 threshold: an unknown face passes one of {n_photos} photos with chance up to "
          f"{min(1.0, n_photos * t.far):.2g}, i.e. {n_photos} x FAR {sci(t.far)})")
    best = result.ranking[0]
    if result.identity is not None:
        print(f"identified: {best.name} ({best.score:.4f} >= {t.threshold:.4f})")
    else:
        print(f"unknown: nobody in the gallery (best {best.name} at {best.score:.4f} < {t.threshold:.4f})")
    return 0
