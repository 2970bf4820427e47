"""Synthetic faces: identities are parameter vectors, images vary by controlled factors.

Everything is deterministic from (seed, identity index, image index): identity i's parameters
come from the random stream (seed, 0, i) and image j of identity i from (seed, 1, i, j), so data
sets of different sizes share identities and a test set can be regenerated exactly.
`difficulty` in [0, 1] scales how close identities are (the spread of their parameters) and,
unless explicit `factors` are given, how strong the nuisance factors are.
Taught in lesson 00 (data); used by every lesson that trains on CPU.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .dataset import FaceDataset
from .degrade import draw_mask, jpeg
from .render import landmarks5, render

ID_PARAMS = ("face_width", "face_height", "jaw", "eye_spacing", "eye_height", "eye_width",
             "eye_open", "eye_tilt", "iris_colour", "brow_height", "brow_thickness", "brow_angle",
             "nose_length", "nose_width", "mouth_height", "mouth_width", "lip_thickness",
             "skin_tone", "skin_warmth", "hair_lightness", "hair_red", "hair_length", "hair_curve",
             "hairline", "beard", "mole_u", "mole_v", "mole_size", "ear_size", "greying")
EXPRESSIONS = ("smile", "surprise", "frown")
_NUM_U = 40  # uniforms drawn per image


@dataclass
class FactorRanges:
    """Ranges of the per-image nuisance factors (each sampled uniformly in [lo, hi])."""
    age: tuple = (0.2, 0.8)            # 0 child, 0.5 adult, 1 old
    yaw: tuple = (-25.0, 25.0)         # degrees
    pitch: tuple = (-10.0, 10.0)       # degrees
    roll: tuple = (-8.0, 8.0)          # degrees
    light_azimuth: tuple = (-60.0, 60.0)  # degrees, 0 = light from the camera
    light_strength: tuple = (0.2, 0.8)    # directional share of the light
    light_colour: float = 0.1          # largest tint of the light colour
    expression: tuple = (0.0, 0.6)     # intensity of a random smile / surprise / frown
    mask_prob: float = 0.0             # fraction wearing a medical or cloth mask
    glasses_prob: float = 0.15
    resolution: tuple = (0.5, 1.0)     # drawn at this fraction of image_size, then scaled up
    blur: tuple = (0.0, 0.5)           # defocus: edges (1 + 3 * blur) pixels wide
    jpeg_prob: float = 0.3
    jpeg_quality: tuple = (30, 95)
    noise: tuple = (0.0, 0.03)         # std of Gaussian pixel noise (images in [0, 1])
    shift: float = 0.04                # largest translation, in half image sides
    scale: tuple = (0.93, 1.07)

    @classmethod
    def for_difficulty(cls, difficulty: float) -> "FactorRanges":
        """Nuisance ranges scaled by s = 0.2 + 1.6 * difficulty (difficulty 0.5 = the defaults)."""
        s = 0.2 + 1.6 * float(difficulty)
        d = cls()
        sym = lambda r, cap: (max(-cap, r[0] * s), min(cap, r[1] * s))  # noqa: E731
        return cls(age=(max(0.0, 0.5 - 0.3 * s), min(1.0, 0.5 + 0.3 * s)),
                   yaw=sym(d.yaw, 60), pitch=sym(d.pitch, 25), roll=sym(d.roll, 20),
                   light_azimuth=sym(d.light_azimuth, 85),
                   light_strength=(0.2, min(0.95, 0.4 + 0.4 * s)),
                   light_colour=d.light_colour * s, expression=(0.0, min(1.0, 0.6 * s)),
                   mask_prob=0.0, glasses_prob=min(0.5, 0.15 * s),
                   resolution=(max(0.25, 1 - 0.5 * s), 1.0), blur=(0.0, min(1.0, 0.5 * s)),
                   jpeg_prob=min(1.0, 0.3 * s), jpeg_quality=(int(max(10, 95 - 65 * s)), 95),
                   noise=(0.0, 0.03 * s), shift=0.04 * s, scale=(1 - 0.07 * s, 1 + 0.07 * s))


def identity_spread(difficulty: float) -> float:
    """Standard deviation of identity parameters: 1.0 at difficulty 0, 0.4 at difficulty 1."""
    return 1.0 - 0.6 * float(difficulty)


def sample_identity_params(identities, seed: int = 0, difficulty: float = 0.5) -> np.ndarray:
    """Parameter vectors (C, P) of the identities with these indices (P = len(ID_PARAMS))."""
    z = np.stack([np.random.default_rng([seed, 0, int(i)]).standard_normal(len(ID_PARAMS))
                  for i in identities]).astype(np.float32)
    return np.clip(z, -2.5, 2.5) * identity_spread(difficulty)


def sample_factors(uniforms: np.ndarray, ranges: FactorRanges) -> dict[str, np.ndarray]:
    """Map per-image uniforms (B, 40) to factor values (B,) each, using `ranges`."""
    U = uniforms.T
    lerp = lambda r, x: r[0] + (r[1] - r[0]) * x  # noqa: E731
    return {"age": lerp(ranges.age, U[0]), "yaw": lerp(ranges.yaw, U[1]),
            "pitch": lerp(ranges.pitch, U[2]), "roll": lerp(ranges.roll, U[3]),
            "light_azimuth": lerp(ranges.light_azimuth, U[4]),
            "light_elevation": lerp((10.0, 45.0), U[5]),
            "light_strength": lerp(ranges.light_strength, U[6]),
            "expression_kind": np.minimum((U[7] * 3).astype(np.int64), 2),
            "expression": lerp(ranges.expression, U[8]),
            "glasses": U[9] < ranges.glasses_prob, "mask": U[10] < ranges.mask_prob,
            "resolution": lerp(ranges.resolution, U[11]), "blur": lerp(ranges.blur, U[12]),
            "jpeg_quality": np.where(U[13] < ranges.jpeg_prob,
                                     np.round(lerp(ranges.jpeg_quality, U[14])), 0).astype(np.int64),
            "noise": lerp(ranges.noise, U[15]), "scale": lerp(ranges.scale, U[16]),
            "tx": ranges.shift * (2 * U[17] - 1), "ty": ranges.shift * (2 * U[18] - 1),
            "light_tint": ranges.light_colour * (2 * uniforms[:, 19:22] - 1)}


_IRIS = np.array([[.33, .2, .1], [.45, .34, .16], [.3, .45, .3], [.3, .45, .66], [.45, .5, .55]])
_SKIN = np.array([[.97, .82, .71], [.87, .68, .53], [.66, .47, .33], [.38, .25, .17]])
_HAIR = np.array([[.07, .06, .06], [.24, .15, .08], [.45, .31, .16], [.86, .73, .46]])


def _palette(colours: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Piecewise-linear colour ramp: x in [0, 1] (B,) -> (B, 3)."""
    pos = np.clip(x, 0, 1) * (len(colours) - 1)
    i = np.minimum(pos.astype(int), len(colours) - 2)
    w = (pos - i)[:, None]
    return colours[i] * (1 - w) + colours[i + 1] * w


def face_geometry(params: np.ndarray, f: dict, uniforms: np.ndarray) -> dict:
    """Identity parameters (B, P) + factors -> the renderer's geometry (tensors (B,) / (B, 3))."""
    p = {k: params[:, j] for j, k in enumerate(ID_PARAMS)}
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    age = f["age"]
    child, old = np.clip((0.3 - age) / 0.3, 0, 1), np.clip((age - 0.55) / 0.45, 0, 1)
    kind, inten = f["expression_kind"], f["expression"]
    smile, surprise, frown = [(kind == k) * inten for k in range(3)]
    g = {"fw": 0.6 * (1 + 0.08 * p["face_width"]) * (1 + 0.04 * child),
         "fh": 0.86 * (1 + 0.06 * p["face_height"]) * (1 - 0.05 * child), "fcy": 0.1 + 0 * age,
         "jaw": np.clip(0.28 + 0.12 * p["jaw"] - 0.18 * child + 0.06 * old, 0, 0.6),
         "ex": 0.31 * (1 + 0.08 * p["eye_spacing"]),
         "ey": -0.08 + 0.035 * p["eye_height"] + 0.08 * child,
         "ew": 0.12 * (1 + 0.12 * p["eye_width"]) * (1 + 0.12 * child),
         "eh": 0.05 * (1 + 0.2 * p["eye_open"]) * (1 + 0.3 * child) * (1 - 0.3 * old)
         * (1 - 0.35 * smile) * (1 + 0.35 * surprise),
         "etilt": 0.15 * p["eye_tilt"],
         "by": 0.12 * (1 + 0.15 * p["brow_height"]) + 0.04 * surprise - 0.025 * frown,
         "bt": 0.022 * (1 + 0.3 * p["brow_thickness"]) * (1 - 0.3 * child),
         "bang": 0.2 * p["brow_angle"] + 0.35 * frown}
    g["ny"] = g["ey"] + 0.36 * (1 + 0.1 * p["nose_length"]) * (1 - 0.2 * child)
    g["nw"] = 0.1 * (1 + 0.18 * p["nose_width"]) * (1 - 0.2 * child) * (1 + 0.08 * old)
    g["nose_depth"] = 0.12 * (1 + 0.1 * p["nose_length"]) * (1 - 0.3 * child)
    g["my"] = g["ny"] + 0.36 * (1 + 0.12 * p["mouth_height"]) * (1 - 0.15 * child)
    g["mw"] = 0.24 * (1 + 0.12 * p["mouth_width"]) * (1 - 0.15 * child) * (1 + 0.2 * smile)
    g["mt"] = 0.035 * (1 + 0.3 * p["lip_thickness"]) * (1 - 0.35 * old)
    g["smile"], g["mopen"] = smile - 0.7 * frown, surprise
    skin = _palette(_SKIN, sig(1.3 * p["skin_tone"]))
    skin = skin + 0.03 * p["skin_warmth"][:, None] * np.array([1.0, 0.0, -1.0])
    g["skin"] = skin * (1 - 0.08 * old[:, None]) + 0.08 * old[:, None] * skin.mean(1, keepdims=True)
    hair = _palette(_HAIR, sig(1.2 * p["hair_lightness"] - 0.5) + 0.15 * child)
    hair = hair + np.clip(p["hair_red"] - 0.8, 0, 1)[:, None] * np.array([0.18, 0.0, -0.06])
    grey = (old * np.clip(0.7 + 0.3 * p["greying"], 0.2, 1))[:, None]
    g["hair"] = hair * (1 - grey) + 0.8 * grey
    g["iris"] = _palette(_IRIS, sig(1.5 * p["iris_colour"]))
    g["lip"] = g["skin"] * np.array([0.85, 0.55, 0.55]) * (1 - 0.1 * old[:, None])
    g["hairline"] = -0.7 + 0.07 * p["hairline"] - 0.05 * child
    g["recede"] = 0.3 * old * sig(2 * p["hairline"])
    g["hair_curve"] = 0.3 + 0.2 * p["hair_curve"]
    g["hair_long"] = sig(2.5 * p["hair_length"])
    g["beard"] = np.clip(p["beard"] - 0.4, 0, 1) * (1 - child) * 0.9
    g["mole_u"], g["mole_v"] = np.clip(0.25 * p["mole_u"], -0.4, 0.4), 0.3 + 0.12 * p["mole_v"]
    g["mole_r"] = 0.028 * (p["mole_size"] > 0.4)
    g["ear"] = 1 + 0.15 * p["ear_size"]
    g["wrinkles"] = old
    rad = math.pi / 180
    g.update(yaw=f["yaw"] * rad, pitch=f["pitch"] * rad, roll=f["roll"] * rad,
             scale=f["scale"], tx=f["tx"], ty=f["ty"])
    az, el = f["light_azimuth"] * rad, f["light_elevation"] * rad
    g["light"] = np.stack([np.sin(az) * np.cos(el), -np.sin(el), np.cos(az) * np.cos(el)], 1)
    g["strength"] = f["light_strength"]
    g["ambient"] = 1.05 - 0.8 * f["light_strength"]
    g["light_colour"] = 1 + f["light_tint"]
    g["glasses"] = f["glasses"].astype(np.float32)
    g["glasses_shape"] = uniforms[:, 22]
    g["glasses_colour"] = _palette(np.array([[.05, .05, .05], [.35, .2, .1], [.7, .6, .3]]), uniforms[:, 23])
    g["bg1"], g["bg2"] = 0.1 + 0.8 * uniforms[:, 24:27], 0.1 + 0.8 * uniforms[:, 27:30]
    g["bg_angle"] = 2 * math.pi * uniforms[:, 30]
    g["edge"] = 1 + 3 * f["blur"]  # blur softens every edge (defocus), noise stays sharp
    return {k: torch.as_tensor(np.asarray(a, dtype=np.float32)) for k, a in g.items()}


_NOISE_BANK: dict = {}


def _noise_bank(size: int) -> torch.Tensor:
    """64 fixed unit-variance noise images (64, 3, size, size), the same on every machine."""
    if size not in _NOISE_BANK:
        gen = torch.Generator().manual_seed(12345 + size)
        _NOISE_BANK[size] = torch.randn(64, 3, size, size, generator=gen)
    return _NOISE_BANK[size]


def image_uniforms(seed: int, identities, images) -> np.ndarray:
    """The per-image random numbers (B, 40) of images (identity i, image j), from (seed, 1, i, j)."""
    return np.stack([np.random.default_rng([seed, 1, int(i), int(j)]).random(_NUM_U)
                     for i, j in zip(identities, images)])


def render_sizes(resolution: np.ndarray, image_size: int) -> np.ndarray:
    """Size each image is drawn at before being scaled up to image_size: resolution * image_size
    rounded to a multiple of image_size // 16 (few distinct sizes, so batches stay large)."""
    q = max(1, image_size // 16)
    return np.clip(np.round(resolution * image_size / q).astype(int) * q, 8, image_size)


def render_batch(params: np.ndarray, factors: dict, uniforms: np.ndarray,
                 image_size: int = 64) -> tuple[torch.Tensor, np.ndarray]:
    """Render B faces: identity params (B, P), factors from `sample_factors` and the uniforms
    (B, 40) they came from. Returns uint8 images (B, 3, S, S) and landmarks (B, 5, 2) in pixels.
    Low resolution is made by drawing at `render_sizes` and scaling up (bilinear): the renderer's
    anti-aliasing then plays the part of the camera's pixel integration."""
    B, S = len(params), image_size
    img = torch.empty(B, 3, S, S)
    lm = np.empty((B, 5, 2), np.float32)
    sizes = render_sizes(factors["resolution"], S)
    for s in np.unique(sizes):
        idx = np.flatnonzero(sizes == s)
        g = face_geometry(params[idx], {k: a[idx] for k, a in factors.items()}, uniforms[idx])
        small, _ = render(g, int(s))  # (b, 3, s, s) in [0, 1]
        lm[idx] = (landmarks5(g, int(s)).numpy() + 0.5) * (S / s) - 0.5
        if s < S:
            small = F.interpolate(small, size=(S, S), mode="bilinear", align_corners=False)
        img[torch.as_tensor(idx)] = small
    masked = np.flatnonzero(factors["mask"])
    if len(masked):  # masks are drawn from the landmarks, like on real faces, before the noise
        seeds = (uniforms[masked, 32] * 2**31).astype(np.int64)
        faces = (img[torch.as_tensor(masked)] * 255).round_().clamp_(0, 255).to(torch.uint8)
        drawn = torch.stack([draw_mask(face, lm[i:i + 1], seed=int(sd)) for face, i, sd in zip(faces, masked, seeds)])
        img[torch.as_tensor(masked)] = drawn.float() / 255
    bank = _noise_bank(S)
    pick = torch.as_tensor((uniforms[:, 31] * len(bank)).astype(np.int64))
    img.add_(bank[pick] * torch.as_tensor(factors["noise"], dtype=torch.float32)[:, None, None, None])
    out = img.mul_(255).round_().clamp_(0, 255).to(torch.uint8)
    q = factors["jpeg_quality"]
    if (q > 0).any():
        out = jpeg(out, q)
    return out, lm


class SyntheticFaces(FaceDataset):
    """Synthetic face images: `num_identities` x `images_per_identity`, rendered at construction.

    difficulty: [0, 1]; scales identity closeness (see `identity_spread`) and, when `factors` is
        None or a dict of overrides, the nuisance ranges (`FactorRanges.for_difficulty`).
    factors: a `FactorRanges` (used as given) or a dict overriding fields of the difficulty's
        ranges, e.g. `{"mask_prob": 0.5, "age": (0.0, 1.0)}`.
    first_identity: index of the first identity, so that `first_identity=10_000` gives a set of
        identities disjoint from a training set built with the same seed.
    meta holds every factor per image (age, yaw, pitch, roll, light_*, expression(_kind),
    glasses, mask, resolution, blur, jpeg_quality (0 = none), noise, ...); `landmarks` the five
    ArcFace points; `identity_params` (C, P) with names in `ID_PARAMS`.
    """

    def __init__(self, num_identities: int = 100, images_per_identity: int = 20, image_size: int = 64,
                 difficulty: float = 0.5, factors: FactorRanges | dict | None = None, seed: int = 0,
                 first_identity: int = 0, batch_size: int = 128):
        if not 0.0 <= difficulty <= 1.0:
            raise ValueError(f"SyntheticFaces: difficulty must be in [0, 1], got {difficulty}.")
        if num_identities < 1 or images_per_identity < 1 or image_size < 16:
            raise ValueError("SyntheticFaces: need num_identities >= 1, images_per_identity >= 1 and "
                             f"image_size >= 16, got {num_identities}, {images_per_identity}, {image_size}.")
        if isinstance(factors, FactorRanges):
            ranges = factors
        else:
            base = FactorRanges.for_difficulty(difficulty)
            unknown = set(factors or {}) - {f.name for f in dataclasses.fields(FactorRanges)}
            if unknown:
                raise ValueError(f"SyntheticFaces: unknown factor(s) {sorted(unknown)}; the factors are "
                                 f"{[f.name for f in dataclasses.fields(FactorRanges)]}.")
            ranges = dataclasses.replace(base, **(factors or {}))
        ids = np.arange(first_identity, first_identity + num_identities)
        params = sample_identity_params(ids, seed, difficulty)
        ident = np.repeat(np.arange(num_identities), images_per_identity)
        image_j = np.tile(np.arange(images_per_identity), num_identities)
        uniforms = image_uniforms(seed, ident + first_identity, image_j)
        factors_all = sample_factors(uniforms, ranges)
        factors_all["resolution"] = render_sizes(factors_all["resolution"], image_size) / image_size
        images = torch.empty(len(ident), 3, image_size, image_size, dtype=torch.uint8)
        landmarks = np.empty((len(ident), 5, 2), np.float32)
        order = np.argsort(factors_all["resolution"], kind="stable")  # batches of one draw size
        for s in range(0, len(order), batch_size):
            sl = order[s:s + batch_size]
            img, lm = render_batch(params[ident[sl]], {k: a[sl] for k, a in factors_all.items()},
                                   uniforms[sl], image_size)
            images[torch.as_tensor(sl)], landmarks[sl] = img, lm
        meta = {k: a for k, a in factors_all.items() if a.ndim == 1}
        meta["identity"] = ident + first_identity
        meta["image_index"] = image_j
        names = [f"synthetic_{seed}_{i}" for i in ids]
        super().__init__(images, ident, names, meta, landmarks, params,
                         name=f"synthetic(seed={seed}, difficulty={difficulty})")
        self.difficulty, self.factors, self.seed, self.image_size = difficulty, ranges, seed, image_size
