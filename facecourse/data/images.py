"""Decoding and resizing single images into the course's uint8 (3, H, W) tensors."""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError


class BadImageError(ValueError):
    """An image file that cannot be decoded (corrupt, truncated or not an image)."""


def decode_image(data: bytes, source: str, size: int | None = None) -> torch.Tensor:
    """Decode encoded bytes (JPEG/PNG/PGM...) to uint8 (3, H, W) RGB; greyscale is repeated to
    3 channels. `size`: resize the shorter side to `size` and centre-crop a square.
    `source` names the file in error messages."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            im = im.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise BadImageError(f"cannot decode image {source}: {e}. The file is corrupt or truncated: "
                            "replace it, delete it, or load the folder with on_error='skip'.") from e
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


def read_image(path, size: int | None = None) -> torch.Tensor:
    with open(path, "rb") as f:
        return decode_image(f.read(), str(path), size)
