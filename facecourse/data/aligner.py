"""`align_faces`: the one detect -> five points -> ArcFace-template pipeline, over many images.

`prepare lfw`, `prepare folder` and `prepare lag` all go through it: each image is read (EXIF
orientation applied), given a black border when asked (`pad`: tight crops such as LAG's or
AT&T's need room around the face for the detector), searched for faces with dlib's HOG detector
(the one nearest the centre is kept when there are several), and warped onto the ArcFace
template at every requested size (`facecourse.data.align`). An image without a face becomes a
centre crop of the padded image (`on_missing="centre"`) or is left out (`"skip"`); either way
the result says which. Runs in `workers` processes with a progress bar. Taught in lesson 00.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from .images import FOLDER_FIX, BadImageError

ON_MISSING = ("centre", "skip")
ON_ERROR = ("raise", "skip")


@dataclass
class AlignedFaces:
    """What `align_faces` made of N input images, K of which were kept.

    images: {size: uint8 (K, 3, size, size)}; kept: (K,) indices into the input.
    landmarks: (K, 5, 2) float32 (x, y) in the input image's pixels, NaN where no face was found.
    num_faces: (N,) faces detected in each input (-1: unreadable, left out).
    errors: [(input index, message)] of unreadable inputs (on_error="skip").
    sources: N names for reports (the paths, or "image i" for arrays)."""
    images: dict
    kept: np.ndarray
    landmarks: np.ndarray
    num_faces: np.ndarray
    sources: list[str]
    errors: list[tuple[int, str]] = field(default_factory=list)
    pad: float = 0.0
    on_missing: str = "centre"
    seconds: float = 0.0

    @property
    def found(self) -> np.ndarray:
        """(N,) bool: a face was found."""
        return self.num_faces > 0

    @property
    def fallback(self) -> np.ndarray:
        """(K,) bool: kept image that is a centre crop (no face found)."""
        return self.num_faces[self.kept] == 0

    @property
    def no_face(self) -> list[int]:
        """Input indices of the readable images in which no face was found."""
        return np.flatnonzero(self.num_faces == 0).tolist()

    @property
    def multi_face(self) -> list[int]:
        """Input indices of the images with several faces (the one nearest the centre was kept)."""
        return np.flatnonzero(self.num_faces > 1).tolist()

    def report(self, names: list[str] | None = None, limit: int = 10) -> str:
        """Faces found, then the first `limit` images without a face and with several faces."""
        from .prepared import format_report
        names = names or self.sources
        return format_report(int((self.num_faces >= 0).sum()), int(self.found.sum()),
                             [names[i] for i in self.no_face],
                             [(names[i], int(self.num_faces[i])) for i in self.multi_face],
                             self.pad, self.on_missing, limit)


_WORKER: dict = {}


def _read(item, fix: str) -> np.ndarray:
    """An input as RGB uint8 (H, W, 3): a path (decoded, EXIF orientation applied) or an array
    (H, W, 3) / (3, H, W) uint8 / greyscale (H, W)."""
    if isinstance(item, (str, Path)):
        from .images import read_image
        return read_image(item, fix=fix).permute(1, 2, 0).numpy()
    a = np.asarray(item)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(1, 2, 0)  # (3, H, W) -> (H, W, 3)
    if a.ndim == 2:
        a = a[..., None]
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[-1] not in (1, 3):
        raise ValueError(f"align_faces: an image must be uint8 (H, W, 3), (3, H, W) or (H, W); got "
                         f"{a.dtype} {a.shape}.")
    return np.ascontiguousarray(np.repeat(a, 3, -1) if a.shape[-1] == 1 else a)


def _align_one(job):
    """(index, crops or None, landmarks or None, faces found (-1 unreadable), error or None)."""
    from .align import DlibLandmarker, align, centre_crop, pad_image
    i, item, sizes, pad, on_missing, fix = job
    try:
        image = _read(item, fix)
    except BadImageError as e:
        return i, None, None, -1, str(e)
    if "lm" not in _WORKER:
        _WORKER["lm"] = DlibLandmarker()
    pts, n = _WORKER["lm"].detect(image, pad)
    if pts is not None:
        return i, [align(image, pts, s) for s in sizes], pts, n, None
    if on_missing == "skip":
        return i, None, None, 0, None
    padded = pad_image(image, pad)
    return i, [centre_crop(padded, s) for s in sizes], None, 0, None


def align_faces(images, sizes=(112, 64), workers: int | None = None, progress: bool = True,
                pad: float = 0.0, on_missing: str = "centre", on_error: str = "raise",
                fix: str = FOLDER_FIX, desc: str = "align faces") -> AlignedFaces:
    """Detect, landmark and align every image: the pipeline of `prepare lfw|folder|lag`.

    images: paths, or uint8 arrays (H, W, 3) / (3, H, W) / (H, W) (any size; greyscale is
        repeated to RGB). sizes: the square crops to make (the ArcFace template scaled).
    workers: processes (default: all cores; 1 runs here). progress: a tqdm bar.
    pad: black border, as a fraction of the longer side, added before detection (0.4 for
        tight crops like LAG's 100x100; see `DlibLandmarker.detect`).
    on_missing: no face found -> "centre" crop of the padded image (recorded) or "skip".
    on_error: unreadable file -> "raise" (BadImageError naming it, ending in `fix`) or "skip"
        (listed in `errors`).
    """
    from tqdm import tqdm
    if on_missing not in ON_MISSING:
        raise ValueError(f"align_faces: on_missing must be one of {ON_MISSING}, got {on_missing!r}.")
    if on_error not in ON_ERROR:
        raise ValueError(f"align_faces: on_error must be one of {ON_ERROR}, got {on_error!r}.")
    if not 0 <= pad <= 2:
        raise ValueError(f"align_faces: pad is a fraction of the image's longer side in [0, 2], got {pad}.")
    images, sizes, t0 = list(images), tuple(int(s) for s in sizes), time.time()
    n = len(images)
    if n == 0:
        raise ValueError("align_faces: no images given.")
    sources = [str(x) if isinstance(x, (str, Path)) else f"image {i}" for i, x in enumerate(images)]
    jobs = [(i, x, sizes, pad, on_missing, fix) for i, x in enumerate(images)]
    out = {s: np.zeros((n, 3, s, s), np.uint8) for s in sizes}  # filled in place: no second copy
    landmarks = np.full((n, 5, 2), np.nan, np.float32)
    num_faces, errors = np.zeros(n, np.int64), []
    kept = np.zeros(n, bool)
    workers = max(1, min(workers or os.cpu_count() or 1, n))
    # forkserver, not fork: a fork of a process whose torch/OpenMP threads already ran can
    # deadlock in the child (seen in a pytest process); the server forks from a clean process.
    # An executor, not multiprocessing.Pool: Pool waits forever for a worker that died, and its
    # terminate() can hang: on 2026-12-07 a CI run stalled in it for 15 min after a bad image,
    # its task thread waiting for the result queue's lock. The executor raises
    # BrokenProcessPool instead, and its shutdown lets running chunks end and cancels the rest.
    pool = (ProcessPoolExecutor(workers, mp_context=get_context("forkserver"))
            if workers > 1 else None)
    try:
        results = (pool.map(_align_one, jobs, chunksize=max(1, min(16, n // (4 * workers))))
                   if pool else map(_align_one, jobs))
        # leave=False: the bar is erased when done, so an error below it stays one line
        for i, crops, pts, faces, error in tqdm(results, total=n, desc=desc, disable=not progress, leave=False):
            num_faces[i] = faces
            if error is not None:
                if on_error == "raise":
                    raise BadImageError(error)
                errors.append((i, error))
            if crops is None:
                continue
            kept[i] = True
            for s, crop in zip(sizes, crops):
                out[s][i] = crop.transpose(2, 0, 1)
            if pts is not None:
                landmarks[i] = pts
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
    idx = np.flatnonzero(kept)
    if len(idx) < n:  # skipped images: keep the rest, in input order
        out = {s: np.ascontiguousarray(a[idx]) for s, a in out.items()}
    return AlignedFaces(out, idx, landmarks[idx], num_faces, sources, errors, pad, on_missing,
                        round(time.time() - t0, 1))
