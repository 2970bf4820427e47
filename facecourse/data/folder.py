"""Folders of faces, `root/<identity>/<image>`: `ImageFolderFaces` reads one (raw or prepared),
`prepare_folder` detects and aligns every photo of one into a prepared folder (issue 16)."""
from __future__ import annotations

from pathlib import Path

import torch

from .dataset import FaceDataset
from .images import BadImageError, read_image

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".webp", ".tif", ".tiff"}


def list_image_folder(root: str | Path, on_error: str = "raise", what: str = "ImageFolderFaces"):
    """The images of `root/<identity>/<image>`: ([(path, identity name)], skipped) in sorted
    order; an empty identity folder raises (on_error="raise") or is listed in `skipped` as
    (path, "empty identity folder"). A layout error says how to fix the folder."""
    root = Path(root)
    if on_error not in ("raise", "skip"):
        raise ValueError(f"{what}: on_error must be 'raise' or 'skip', got {on_error!r}.")
    if not root.is_dir():
        raise FileNotFoundError(f"{what}: {root} is not a folder; pass the folder that "
                                "holds one sub-folder per identity.")
    loose = sorted(p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if loose or not folders:
        raise ValueError(f"{what}: {root} has the wrong layout: expected root/<identity>/<image> "
                         f"but found {len(loose)} image(s) directly in it (e.g. {loose[:3]}) and "
                         f"{len(folders)} identity folder(s). Move each person's images into a "
                         "sub-folder named after them.")
    files, skipped = [], []
    for folder in folders:
        got = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not got:
            msg = (f"identity folder {folder} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))}); "
                   "delete it or add its images.")
            if on_error == "raise":
                raise ValueError(f"{what}: {msg}")
            skipped.append((str(folder), "empty identity folder"))
        files += [(f, folder.name) for f in got]
    return files, skipped


class ImageFolderFaces(FaceDataset):
    """Faces from `root/<identity>/<image>`: one sub-folder per identity (sorted names), or from
    a folder that `prepare_folder` wrote (it holds `index.json`: the aligned crops are read,
    with `meta["fallback"]`, `meta["num_faces"]`, `files` and `skipped` from preparing).

    image_size: resize every image to image_size x image_size (centre square crop); None keeps the
        size, which must then be the same for every image. A prepared folder: the prepared
        size to read (None: the largest).
    on_error: "raise" stops at the first corrupt image or empty identity folder with an error
        naming it; "skip" leaves it out and records (path, reason) in `self.skipped`.
    Images are decoded once into memory (uint8); for millions of images use `.rec` files.
    """

    def __init__(self, root: str | Path, image_size: int | None = 112, on_error: str = "raise"):
        from .prepared import _attach, is_prepared, read_prepared
        root = Path(root)
        if is_prepared(root):  # written by `prepare folder` (aligned): read, do not decode again
            index, images, meta = read_prepared(root, image_size, what="ImageFolderFaces")
            super().__init__(images, index["labels"], index["names"], meta, name=f"folder:{root.name}")
            _attach(self, index, root)
            return
        files, self.skipped = list_image_folder(root, on_error)
        images, labels, names, shape = [], [], [], None
        for f, person in files:
            try:
                img = read_image(f, image_size)
            except BadImageError as e:
                if on_error == "raise":
                    raise
                self.skipped.append((str(f), str(e)))
                continue
            if shape is None:
                shape = img.shape
            elif img.shape != shape:
                raise ValueError(f"ImageFolderFaces: {f} is {tuple(img.shape)} but earlier images are "
                                 f"{tuple(shape)}; pass image_size=112 (or another size) to resize all.")
            if not names or names[-1] != person:
                names.append(person)
            images.append(img)
            labels.append(len(names) - 1)
        self.skipped.sort(key=lambda s: Path(s[0]).parts)  # in folder order
        if not images:
            raise ValueError(f"ImageFolderFaces: no readable image under {root} ({len(self.skipped)} skipped).")
        super().__init__(torch.stack(images), labels, names, name=f"folder:{root.name}")
        self.root = root


def describe_skipped(skipped: list[tuple[str, str]], limit: int = 10) -> str:
    """What `on_error="skip"` left out, for a CLI: the count, then the first `limit` paths."""
    lines = [f"skipped {len(skipped)} unreadable image(s) or empty identity folder(s) (--on-error skip; "
             "nothing was deleted):"]
    lines += [f"  {path}" + ("  (empty identity folder)" if why == "empty identity folder" else "")
              for path, why in skipped[:limit]]
    if len(skipped) > limit:
        lines.append(f"  ... and {len(skipped) - limit} more")
    return "\n".join(lines)


def prepare_folder(source: str | Path, out: str | Path | None = None, sizes=(112, 64), workers: int | None = None,
                   progress: bool = True, pad: float = 0.25, on_missing: str = "centre",
                   on_error: str = "raise") -> Path:
    """Detect and align every photo of `source/<identity>/<image>` (any size, colour or grey)
    with `align_faces` and write a prepared folder into `out` (default
    `<cache>/folders/<source name>`): `images_<size>.npy`, `labels.npy` and `index.json` (names,
    files, landmarks, the images without a face and those with several; `facecourse.data.prepared`).
    `ImageFolderFaces(out)` and `load_prepared_folder(out)` read it; `alignment_report(out)` says
    what was found.

    pad: black border (fraction of the longer side) added before detection; tight crops need
        it (AT&T, LAG), photos with room around the face do not mind it.
    on_missing: a photo without a face becomes a "centre" crop (recorded) or is left out ("skip").
    on_error: an unreadable photo or empty identity folder stops everything ("raise") or is
        left out and listed ("skip"). Files are never changed or deleted.
    Written through a staging folder: an earlier `out` is replaced only once the new one loads."""
    from .aligner import align_faces
    from .images import FOLDER_FIX
    from .paths import default_cache_dir
    from .prepared import load_prepared_folder, write_prepared
    from .staging import staged_folder
    source = Path(source)
    out = Path(out) if out is not None else default_cache_dir() / "folders" / source.resolve().name
    files, skipped = list_image_folder(source, on_error, what="prepare folder")
    if not files:
        raise ValueError(f"prepare folder: no images under {source} ({len(skipped)} empty identity folder(s)).")
    with staged_folder(out) as tmp:
        aligned = align_faces([f for f, _ in files], sizes, workers, progress, pad, on_missing, on_error,
                              FOLDER_FIX, desc=f"align {source.name}")
        people = [files[i][1] for i in aligned.kept]
        if not people:
            raise ValueError(f"prepare folder: no image of {source} was kept ({len(aligned.errors)} unreadable, "
                             f"{len(aligned.no_face)} without a face and --on-missing skip); nothing was changed "
                             f"in {out}. Use --on-missing centre to keep them as centre crops.")
        names = list(dict.fromkeys(people))  # folder order
        label_of = {n: i for i, n in enumerate(names)}
        lost = sorted({p for _, p in files} - set(names))  # every image unreadable or without a face
        write_prepared(tmp, "folder", aligned, [f.relative_to(source).as_posix() for f, _ in files],
                       [label_of[p] for p in people], names, skipped=skipped, source=str(source.resolve()),
                       identities_left_out=lost)
        load_prepared_folder(tmp, sizes[0])  # it must load before it replaces `out`
    return out
