"""Input degradations as modules: active in training, the identity in eval.

`fit` feeds one batch to the backbone and the same batch to a teacher or an extra loss. When a
student must see a *degraded* copy (A-SKD: low resolution; masked-face training: a mask) while
the teacher sees the original, the degradation belongs in front of the student: put one of these
first, ``nn.Sequential(RandomLowResolution((8, 16)), backbone)``. Test images are degraded by
the lesson itself (facecourse.data.downsample / draw_mask), so eval mode passes images through.
Each draw comes from (seed, step) with ``step`` a buffer, so a resumed run repeats it.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


class _StepRandom(nn.Module):
    """A training-time random module: a generator from (seed, step), step saved in state_dict."""

    keyed_settings = True  # fit_cached keys a run by p, sizes, seed too (not only weights)

    def __init__(self, p: float, seed: int):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p, self.seed = p, seed
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    def _draw(self, n: int) -> tuple[np.random.Generator, np.ndarray]:
        """This step's generator and which of the n images to degrade (n,) bool."""
        rng = np.random.default_rng([self.seed, 11, int(self.step)])
        self.step += 1
        return rng, rng.random(n) < self.p


class RandomLowResolution(_StepRandom):
    """In training, down-sample each image (probability ``p``) to a side drawn from ``sizes``
    pixels and back up: area average down, bilinear up, as `facecourse.data.downsample`.
    A-SKD's student sees such faces (Shin et al. 2022, arXiv:2209.14498: 112 px faces
    down-sampled to 14, 28 or 56 px)."""

    def __init__(self, sizes=(8, 16), p: float = 1.0, seed: int = 0):
        super().__init__(p, seed)
        if not len(sizes) or min(sizes) < 2:
            raise ValueError(f"RandomLowResolution: sizes must be pixel sides >= 2, got {sizes}")
        self.sizes = tuple(int(s) for s in sizes)

    def forward(self, images: Tensor) -> Tensor:
        if not self.training:
            return images
        from facecourse.data.degrade import _resample  # the one resampler of data.downsample
        rng, hit = self._draw(len(images))
        sizes = np.where(hit, rng.choice(self.sizes, len(images)), images.shape[-1])
        return _resample(images, sizes)  # (B, 3, H, W)

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, p={self.p}, seed={self.seed}"


class RandomFaceMask(_StepRandom):
    """In training, draw a medical or cloth mask (`facecourse.data.draw_mask`) on each image
    with probability ``p``, at ``landmarks`` (5, 2) in pixels: aligned faces share the ArcFace
    template, the default (`facecourse.data.template` at the image size). Pass the mean
    landmarks of a data set whose faces sit elsewhere. ``apply`` also says which were masked."""

    def __init__(self, p: float = 0.5, landmarks=None, seed: int = 0):
        super().__init__(p, seed)
        self.landmarks = None if landmarks is None else np.asarray(landmarks, np.float32).reshape(5, 2)

    def landmarks_for(self, size: int) -> np.ndarray:
        from facecourse.data import template
        return template(size) if self.landmarks is None else self.landmarks

    def coverage(self, size: int) -> Tensor:
        """Where the mask is drawn on a size x size image: (size, size) in [0, 1]."""
        from facecourse.data import mask_coverage
        return mask_coverage(self.landmarks_for(size)[None], size)[0]

    def apply(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """(images with masks, is_masked (B,) bool); float images in [-1, 1]."""
        from facecourse.data import draw_mask, to_float
        rng, hit = self._draw(len(images))
        u8 = ((images.detach().float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        lm = np.repeat(self.landmarks_for(images.shape[-1])[None], len(images), 0)
        drawn = to_float(draw_mask(u8, lm, seed=int(rng.integers(2**31))))  # (B, 3, H, W)
        is_masked = torch.as_tensor(hit, device=images.device)
        out = torch.where(is_masked[:, None, None, None], drawn.to(images), images)
        return out, is_masked

    def forward(self, images: Tensor) -> Tensor:
        return self.apply(images)[0] if self.training else images

    def extra_repr(self) -> str:
        return f"p={self.p}, seed={self.seed}, landmarks={'template' if self.landmarks is None else 'given'}"
