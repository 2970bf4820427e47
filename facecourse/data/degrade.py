"""Degradations for robustness lessons: JPEG, low resolution, blur, noise, illumination, masks.

All public functions take uint8 images (B, 3, H, W) or (3, H, W), return the same shape and
dtype, and are deterministic (masks and noise from `seed`). They work on real and synthetic
faces alike; masks need the five landmarks (eyes, nose tip, mouth corners) or dlib's 68.
Taught in the robustness lessons (low resolution, masked faces): lessons 05 and 08 train on
low-resolution copies, lesson 10 masks faces, lesson 11 sweeps every degradation.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def _batch(images: torch.Tensor, fn: str) -> tuple[torch.Tensor, bool]:
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim not in (3, 4):
        got = f"{images.dtype} {tuple(images.shape)}" if isinstance(images, torch.Tensor) else type(images)
        raise ValueError(f"{fn}: expected uint8 images (B, 3, H, W) or (3, H, W), got {got}; "
                         "convert float images in [-1, 1] with ((x + 1) * 127.5).round().to(torch.uint8).")
    return (images[None], True) if images.ndim == 3 else (images, False)


def _per_image(value, n: int) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    return np.full(n, float(a)) if a.ndim == 0 else a


def _jpeg_roundtrip(images: list, quality: int) -> list:
    """Encode and decode uint8 (3, H, W) images with libjpeg: torchvision's batched codec (3x
    faster than PIL here, same bytes), else PIL."""
    try:
        with warnings.catch_warnings():  # torchvision 0.29 deprecates its codecs for torchcodec
            warnings.simplefilter("ignore", DeprecationWarning)
            from torchvision.io import decode_jpeg, encode_jpeg
            return decode_jpeg(encode_jpeg(images, quality=quality))
    except (ImportError, RuntimeError):
        out = []
        for im in images:
            buf = io.BytesIO()
            Image.fromarray(im.permute(1, 2, 0).numpy()).save(buf, format="JPEG", quality=quality)
            out.append(torch.from_numpy(np.array(Image.open(buf).convert("RGB"))).permute(2, 0, 1))
        return out


def jpeg(images: torch.Tensor, quality) -> torch.Tensor:
    """Encode and decode as JPEG at `quality` (1..95; int or one per image; 0 = leave as is)."""
    x, single = _batch(images, "jpeg")
    q = _per_image(quality, len(x)).astype(int)
    if ((q < 0) | (q > 100)).any():
        raise ValueError(f"jpeg: quality must be in 1..100 (0 = unchanged), got {q.min()}..{q.max()}.")
    out = x.clone()
    for quality in np.unique(q[q > 0]):  # libjpeg through torchvision, a list at a time
        idx = np.flatnonzero(q == quality)
        out[torch.as_tensor(idx)] = torch.stack(_jpeg_roundtrip([x[i] for i in idx], int(quality)))
    return out[0] if single else out


def resample_float(x: torch.Tensor, sizes: np.ndarray) -> torch.Tensor:
    """Float (B, 3, H, W): down to sizes[i] px (area average) and back up (bilinear); also
    `facecourse.models.RandomLowResolution`'s, so training and test low resolution agree."""
    H = x.shape[-1]
    out = x.clone()
    sizes = np.clip(np.round(sizes).astype(int), 2, H)
    for s in np.unique(sizes[sizes < H]):
        idx = torch.as_tensor(np.flatnonzero(sizes == s))
        small = F.interpolate(x[idx], size=(int(s), int(s)), mode="area")  # box-filtered
        out[idx] = F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return out


def downsample(images: torch.Tensor, size) -> torch.Tensor:
    """Down-sample to `size` px (int or one per image) and back to the original size."""
    x, single = _batch(images, "downsample")
    s = _per_image(size, len(x))
    if (s < 2).any():
        raise ValueError(f"downsample: size must be at least 2 px, got {s.min()}.")
    out = resample_float(x.float(), s).round().clamp(0, 255).to(torch.uint8)
    return out[0] if single else out


def _blur(x: torch.Tensor, amount: np.ndarray) -> torch.Tensor:
    """Float (B, 3, H, W): blend each image with its 3x3 binomial blur by amount[i] in [0, 1]."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    rows = p[..., :-2, :] + 2 * p[..., 1:-1, :] + p[..., 2:, :]  # [1 2 1] down the columns
    blurred = (rows[..., :-2] + 2 * rows[..., 1:-1] + rows[..., 2:]) * (1 / 16)  # then across
    a = torch.as_tensor(amount, dtype=x.dtype)[:, None, None, None]
    return torch.lerp(x, blurred, a)


def blur(images: torch.Tensor, amount) -> torch.Tensor:
    """Blend with a 3x3 binomial blur; amount in [0, 1] (float or one per image)."""
    x, single = _batch(images, "blur")
    out = _blur(x.float(), _per_image(amount, len(x))).round().clamp(0, 255).to(torch.uint8)
    return out[0] if single else out


def illumination(images: torch.Tensor, gain=1.0, direction: float = 0.0, strength: float = 0.0,
                 colour=(1.0, 1.0, 1.0)) -> torch.Tensor:
    """Relight: multiply by gain * colour * (1 + strength * ramp), where the linear ramp runs
    from -1 to 1 across the image towards `direction` degrees (0 = light from the right)."""
    x, single = _batch(images, "illumination")
    H, W = x.shape[-2:]
    t = torch.deg2rad(torch.tensor(float(direction)))
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
    ramp = (xs * torch.cos(t) - ys * torch.sin(t)) / np.sqrt(2)  # (H, W) in [-1, 1]
    g = torch.as_tensor(_per_image(gain, len(x)), dtype=torch.float32)[:, None, None, None]
    c = torch.as_tensor(colour, dtype=torch.float32).reshape(-1, 3)[:, :, None, None]
    out = (x.float() * g * c * (1 + strength * ramp)).round().clamp(0, 255).to(torch.uint8)
    return out[0] if single else out


MASK_COLOURS = np.array([[.55, .75, .9], [.93, .94, .95], [.12, .12, .14], [.35, .55, .75]])


def _mask_alpha(landmarks: np.ndarray, size: tuple[int, int], top: float = 0.55) -> torch.Tensor:
    """Coverage (B, H, W) of a mask over nose and mouth, from 5 landmarks (B, 5, 2) in pixels;
    `top`: see `draw_mask`."""
    lm = torch.as_tensor(landmarks, dtype=torch.float32)
    eyes, nose, mouth = lm[:, :2].mean(1), lm[:, 2], lm[:, 3:].mean(1)  # (B, 2)
    right = lm[:, 1] - lm[:, 0]
    d_eye = right.norm(dim=1).clamp(min=1.0)  # (B,)
    ex = right / d_eye[:, None]
    ey = torch.stack([-ex[:, 1], ex[:, 0]], 1)  # face "down" axis
    H, W = size
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32),
                            indexing="ij")
    dx, dy = xs[None] - eyes[:, 0, None, None], ys[None] - eyes[:, 1, None, None]
    s = (dx * ex[:, 0, None, None] + dy * ex[:, 1, None, None]) / d_eye[:, None, None]
    t = (dx * ey[:, 0, None, None] + dy * ey[:, 1, None, None]) / d_eye[:, None, None]
    t_nose = ((nose - eyes) * ey).sum(1)[:, None, None] / d_eye[:, None, None]
    t_mouth = ((mouth - eyes) * ey).sum(1)[:, None, None] / d_eye[:, None, None]
    top = top * t_nose + 0.25 * s ** 2  # across the nose bridge, curving down to the cheeks
    bottom = t_mouth + 0.7 * (t_mouth - t_nose) - 0.5 * s ** 2  # under the chin
    half_w = 0.95 - 0.35 * ((t - t_nose) / (t_mouth - t_nose)).clamp(min=0)  # narrows at the jaw
    px = 1.0 / d_eye[:, None, None]
    d = torch.maximum(torch.maximum(top - t, t - bottom), s.abs() - half_w)
    return (0.5 - d / px).clamp(0, 1)


def _five_points(landmarks, n: int, fn: str) -> np.ndarray:
    """(n, 5, 2) landmarks from 5 points or dlib's 68 (eye centres, nose tip, mouth corners)."""
    lm = np.asarray(landmarks, dtype=np.float32).reshape(n, -1, 2)
    if lm.shape[1] == 68:
        lm = np.stack([lm[:, 36:42].mean(1), lm[:, 42:48].mean(1), lm[:, 30], lm[:, 48], lm[:, 54]], 1)
    if lm.shape[1] != 5:
        raise ValueError(f"{fn}: landmarks must be (B, 5, 2) or (B, 68, 2), got {lm.shape}.")
    return lm


def _check_top(top: float, fn: str) -> float:
    if not 0.0 < float(top) < 2.5:
        raise ValueError(f"{fn}: top must be in (0, 2.5) (a fraction of the eyes-to-nose-tip "
                         f"distance; 0.55 = over the nose bridge), got {top}.")
    return float(top)


def mask_coverage(landmarks, size: int, top: float = 0.55) -> torch.Tensor:
    """Where `draw_mask` paints: coverage (B, size, size) in [0, 1] of a mask drawn from the
    landmarks (B, 5, 2) or (B, 68, 2), in pixels (masked-face attention lessons); `top` as
    in `draw_mask`."""
    lm = np.asarray(landmarks, dtype=np.float32)
    lm = _five_points(lm, len(lm) if lm.ndim == 3 else 1, "mask_coverage")
    return _mask_alpha(lm, (size, size), _check_top(top, "mask_coverage"))


def draw_mask(images: torch.Tensor, landmarks, seed: int = 0, kind: str | None = None,
              top: float = 0.55) -> torch.Tensor:
    """Draw a medical or cloth mask over nose and mouth. landmarks: (B, 5, 2) (eyes, nose tip,
    mouth corners) or dlib's (B, 68, 2), pixels. Colour and kind per image from (seed, i).
    top: where the mask's upper edge crosses the middle of the face, as a fraction of the way
    from the line of the eyes to the nose tip: 0.55 (default) covers the nose bridge, ~1.0 leaves
    the nose out (a mask worn under the nose), ~0.3 reaches just under the eyes."""
    x, single = _batch(images, "draw_mask")
    lm = _five_points(landmarks, len(x), "draw_mask")
    if kind not in (None, "medical", "cloth"):
        raise ValueError(f"draw_mask: kind must be 'medical', 'cloth' or None (random), got {kind!r}.")
    alpha = _mask_alpha(lm, x.shape[-2:], _check_top(top, "draw_mask"))  # (B, H, W)
    colours, pleats = [], []
    for i in range(len(x)):
        u = np.random.default_rng([seed, 7, i]).random(4)
        medical = (u[0] < 0.5) if kind is None else kind == "medical"
        colours.append(MASK_COLOURS[int(u[1] * 2)] if medical else 0.15 + 0.7 * u[1:4])
        pleats.append(1.0 if medical else 0.0)
    col = torch.as_tensor(np.array(colours), dtype=torch.float32)[:, :, None, None] * 255
    ys = torch.arange(x.shape[-2], dtype=torch.float32)[None, :, None]
    d_eye = torch.as_tensor(np.linalg.norm(lm[:, 1] - lm[:, 0], axis=1)).clamp(min=1)[:, None, None]
    stripes = 1 - 0.12 * torch.as_tensor(pleats)[:, None, None] * (torch.cos(ys * 2 * np.pi / (0.22 * d_eye)) > 0.6)
    a = alpha[:, None]
    out = (x.float() + a * (col * stripes[:, None] - x.float())).round().clamp(0, 255).to(torch.uint8)
    return out[0] if single else out
