"""Training-time augmentation, all of it: the batch flip and jitter that `fit` applies, and
input degradations as modules (active in training, the identity in eval).

- `flip_mask` / `flip` / `jitter` (every lesson's run; zoom/shift/colour jitter in the LFW
  track and lesson 11): float batches in [-1, 1], the random draws a slice of one global draw
  seeded by (seed, step), so the same for any world size and for a resumed run;
- `RandomLowResolution` (lesson 08's A-SKD student) and `RandomFaceMask` (lesson 10's masked
  training): modules put in front of a student backbone.

Test-time degradations of uint8 images are `facecourse.data.degrade` (lessons 05, 10, 11);
`RandomLowResolution` uses its resampler, so train and test low resolution are the same maths.

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
import torch.nn.functional as F
from torch import Tensor, nn

from facecourse.data.degrade import resample_float


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
        rng, hit = self._draw(len(images))
        sizes = np.where(hit, rng.choice(self.sizes, len(images)), images.shape[-1])
        return resample_float(images, sizes)  # (B, 3, H, W): the resampler of data.downsample

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


def flip_mask(seed: int, step: int, global_batch: int, lo: int, n: int) -> torch.Tensor:
    """Which of this process's n images to mirror at `step`: a slice of a global draw, so the
    augmentation is the same for any world size and for a resumed run."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return (torch.rand(global_batch, generator=g) < 0.5)[lo:lo + n]


def flip(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mirror the images where `mask` is True (B, 3, H, W); out of place."""
    mask = mask.to(images.device).view(-1, 1, 1, 1)
    return torch.where(mask, images.flip(-1), images)


def jitter(images: torch.Tensor, seed: int, step: int, global_batch: int, lo: int,
           scale: float = 0.0, shift: float = 0.0, color: float = 0.0, gray: float = 0.0) -> torch.Tensor:
    """Random zoom, shift, contrast, brightness and greyscale of float images (B, 3, H, W) in
    [-1, 1].

    Per image, u ~ U[-1, 1) five times: zoom by 1 + scale * u0 about the centre, shift by
    (shift * u1, shift * u2) of the side (edges reflected), then x * (1 + color * u3) +
    color * u4, clamped to [-1, 1]; then, with probability `gray` (a draw of its own), every
    channel becomes the luma 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601). Like `flip_mask`, the
    draws are a slice of one global draw seeded by (seed, step): the same for any world size
    and for a resumed run."""
    n = images.shape[0]
    g = torch.Generator().manual_seed(seed * 1_000_003 + step + 500_009)  # not flip_mask's stream
    u = (torch.rand(global_batch, 5, generator=g) * 2 - 1)[lo:lo + n].to(images.device)  # (n, 5)
    out = images
    if scale > 0 or shift > 0:
        theta = torch.zeros(n, 2, 3, device=images.device)  # output (x, y, 1) -> input (x, y)
        theta[:, 0, 0] = theta[:, 1, 1] = 1 / (1 + scale * u[:, 0])  # > 1 zooms out
        theta[:, :, 2] = 2 * shift * u[:, 1:3]  # normalized coordinates span 2 per side
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        out = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="reflection",
                            align_corners=False).to(images.dtype)
    if color > 0:
        contrast = (1 + color * u[:, 3]).view(-1, 1, 1, 1)
        brightness = (color * u[:, 4]).view(-1, 1, 1, 1)
        out = (out * contrast + brightness).clamp(-1.0, 1.0)
    if gray > 0:
        g = torch.Generator().manual_seed(seed * 1_000_003 + step + 900_007)  # a stream of its own
        hit = (torch.rand(global_batch, generator=g) < gray)[lo:lo + n].to(images.device)  # (n,)
        w = torch.tensor([0.299, 0.587, 0.114], device=images.device, dtype=out.dtype).view(1, 3, 1, 1)
        luma = (out * w).sum(1, keepdim=True).expand_as(out)
        out = torch.where(hit.view(-1, 1, 1, 1), luma, out)
    return out
