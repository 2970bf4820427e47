"""`ImageFolderFaces`: any `root/<identity>/<image>` folder as a FaceDataset."""
from __future__ import annotations

from pathlib import Path

import torch

from .dataset import FaceDataset
from .images import BadImageError, read_image

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".webp", ".tif", ".tiff"}


class ImageFolderFaces(FaceDataset):
    """Faces from `root/<identity>/<image>`: one sub-folder per identity (sorted names).

    image_size: resize every image to image_size x image_size (centre square crop); None keeps the
        size, which must then be the same for every image.
    on_error: "raise" stops at the first corrupt image or empty identity folder with an error
        naming it; "skip" leaves it out and records (path, reason) in `self.skipped`.
    Images are decoded once into memory (uint8); for millions of images use `.rec` files.
    """

    def __init__(self, root: str | Path, image_size: int | None = 112, on_error: str = "raise"):
        root = Path(root)
        if on_error not in ("raise", "skip"):
            raise ValueError(f"ImageFolderFaces: on_error must be 'raise' or 'skip', got {on_error!r}.")
        if not root.is_dir():
            raise FileNotFoundError(f"ImageFolderFaces: {root} is not a folder; pass the folder that "
                                    "holds one sub-folder per identity.")
        loose = sorted(p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if loose or not folders:
            raise ValueError(f"ImageFolderFaces: {root} has the wrong layout: expected root/<identity>/<image> "
                             f"but found {len(loose)} image(s) directly in it (e.g. {loose[:3]}) and "
                             f"{len(folders)} identity folder(s). Move each person's images into a "
                             "sub-folder named after them.")
        self.skipped: list[tuple[str, str]] = []
        images, labels, names, shape = [], [], [], None
        for folder in folders:
            files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            if not files:
                msg = (f"identity folder {folder} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))}); "
                       "delete it or add its images.")
                if on_error == "raise":
                    raise ValueError(f"ImageFolderFaces: {msg}")
                self.skipped.append((str(folder), "empty identity folder"))
                continue
            got = []
            for f in files:
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
                got.append(img)
            if got:
                images += got
                labels += [len(names)] * len(got)
                names.append(folder.name)
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
