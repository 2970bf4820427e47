"""Decoding and resizing single images into the course's uint8 (3, H, W) tensors."""
from __future__ import annotations

import io
import re

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError


class BadImageError(ValueError):
    """An image file that cannot be decoded (corrupt, truncated or not an image)."""


# What to do about a bad image in a folder; archives and .bin/.rec files pass their own `fix`.
FOLDER_FIX = ("replace or delete it, or pass --on-error skip (ImageFolderFaces(on_error='skip') in "
              "Python; train: --set data.on_error=skip)")


def _reason(e: Exception) -> str:
    """Why PIL failed, in words, without the `<_io.BytesIO object at 0x...>` it names instead of a file."""
    if isinstance(e, UnidentifiedImageError):
        return "not a known image format (JPEG, PNG, PGM, BMP, ...)"
    return re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(e)) or type(e).__name__


def decode_image(data: bytes, source: str, size: int | None = None, fix: str = FOLDER_FIX) -> torch.Tensor:
    """Decode encoded bytes (JPEG/PNG/PGM...) to uint8 (3, H, W) RGB; greyscale is repeated to
    3 channels and an EXIF orientation tag is applied (phone photos). `size`: resize the shorter
    side to `size` and centre-crop a square. `source` names the file (or the archive member /
    record) in error messages and `fix` says what to do about it."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            im = ImageOps.exif_transpose(im).convert("RGB")  # phone photos: upright as shown
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise BadImageError(f"cannot decode image {source}: {_reason(e)}. It is corrupt or truncated: "
                            f"{fix}.") from e
    if size is not None:
        im = resize_square(im, size)
    return torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous()


def resize_square(im: Image.Image, size: int) -> Image.Image:
    """Centre-crop the largest square and resize it to size x size."""
    w, h = im.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    im = im.crop((left, top, left + s, top + s))
    return im if s == size else im.resize((size, size), Image.BILINEAR)


def read_image(path, size: int | None = None, fix: str = FOLDER_FIX) -> torch.Tensor:
    """`decode_image` of the file at `path` (named in its errors)."""
    with open(path, "rb") as f:
        return decode_image(f.read(), str(path), size, fix)
