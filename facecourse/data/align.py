"""Five-point similarity alignment to the ArcFace 112x112 template, landmarks from dlib.

The template (insightface's `arcface_dst`) puts, in a 112x112 crop, the left eye at (38.3, 51.7),
the right eye at (73.5, 51.5), the nose tip at (56.0, 71.7) and the mouth corners at
(41.5, 92.4) and (70.7, 92.2). Alignment finds the similarity transform T(x) = s R x + t
(scale s, rotation R, translation t; no shear, no reflection) that maps the detected points
x_i onto the template points y_i with least squares, sum_i |y_i - T(x_i)|^2 (Umeyama,
"Least-squares estimation of transformation parameters between two point patterns", PAMI 1991):
  mu_x, mu_y: means; Sigma = (1/n) sum (y_i - mu_y)(x_i - mu_x)^T = U D V^T (SVD);
  S = diag(1, det(U V^T)) (flips the last axis if needed to exclude reflections);
  R = U S V^T;  s = trace(D S) / sigma_x^2 with sigma_x^2 = (1/n) sum |x_i - mu_x|^2;
  t = mu_y - s R mu_x.
The crop is then warped with the inverse map (each output pixel samples the input at T^-1).
Landmarks come from dlib's HOG face detector and its 68-point shape predictor (shipped in the
`face-recognition-models` wheel); eye centres are the means of the eye contours (points
36-41, 42-47), the nose tip is point 30 and the mouth corners points 48 and 54. (dlib's
5-point model marks eye corners and the base of the nose only, without mouth corners.)

Lesson 00 walks detect -> align -> embed -> compare with it; lesson 10 draws its masks on the
template's landmarks.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

ARCFACE_TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                             [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)


def template(size: int = 112) -> np.ndarray:
    """The ArcFace template scaled to a size x size crop: (5, 2) (x, y) pixels."""
    return ARCFACE_TEMPLATE * (size / 112.0)


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform mapping src (n, 2) onto dst (n, 2): a (2, 3) matrix M
    with dst ~ M @ [x, y, 1]. See the module docstring for the maths."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"umeyama: need two (n, 2) point sets with n >= 2, got {src.shape} and {dst.shape}.")
    mu_x, mu_y = src.mean(0), dst.mean(0)
    xc, yc = src - mu_x, dst - mu_y
    sigma = yc.T @ xc / len(src)  # (2, 2)
    U, D, Vt = np.linalg.svd(sigma)
    S = np.diag([1.0, np.sign(np.linalg.det(U @ Vt)) or 1.0])
    R = U @ S @ Vt
    var_x = (xc ** 2).sum() / len(src)
    if var_x == 0:
        raise ValueError("umeyama: the source points all coincide; the landmarks are degenerate.")
    s = np.trace(np.diag(D) @ S) / var_x
    t = mu_y - s * R @ mu_x
    return np.hstack([s * R, t[:, None]])


def warp(image: np.ndarray, M: np.ndarray, size: int) -> np.ndarray:
    """Warp an RGB uint8 image (H, W, 3) with the (2, 3) similarity M into size x size (bilinear)."""
    A = np.vstack([M, [0, 0, 1]])
    inv = np.linalg.inv(A)[:2]  # output pixel -> input pixel
    out = Image.fromarray(image).transform((size, size), Image.AFFINE, inv.flatten().tolist(),
                                           resample=Image.BILINEAR)
    return np.asarray(out)


def align(image: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """Align a face given its five landmarks (5, 2) to the ArcFace template at size x size."""
    return warp(image, umeyama(landmarks, template(size)), size)


def centre_crop(image: np.ndarray, size: int = 112, fraction: float = 0.6) -> np.ndarray:
    """Fallback when no face is found: the central square of side `fraction` * min(H, W) (0.6
    gives a deep-funneled LFW face about the template's scale)."""
    h, w = image.shape[:2]
    s = fraction * min(h, w)
    box = ((w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2)
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR, box=box))


def dlib_model_path(name: str = "shape_predictor_68_face_landmarks.dat") -> Path:
    """Path of a model file of `face-recognition-models`, found without importing the package
    (its import needs pkg_resources)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("face_recognition_models is not installed: pip install face-recognition-models")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall face-recognition-models.")
    return path


class DlibLandmarker:
    """dlib HOG face detector + 68-point shape predictor -> the five ArcFace landmarks.

    upsample: times the detector doubles the image first (1 finds faces down to ~40 px).
    max_side: larger photos are shrunk to this side for detection only; the landmarks are then
        placed on the full-resolution image (a 12-megapixel photo would take seconds)."""

    def __init__(self, upsample: int = 1, max_side: int = 1024):
        import dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(dlib_model_path()))
        self.upsample, self.max_side = upsample, max_side

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        """Five landmarks (5, 2) of the face nearest the image centre, or None if none is found."""
        return self.detect(image)[0]

    def detect(self, image: np.ndarray, pad: float = 0.0) -> tuple[np.ndarray | None, int]:
        """(five landmarks (5, 2) in `image` pixels or None, number of faces detected).

        pad: a black border of `pad` x the longer side is added on every side before detecting,
            so that a tight crop (the face touching the edges) looks like a photo with a face in
            it. Of several faces the one nearest the image centre is kept. The 68 points are
            predicted on the unpadded image (dlib reads pixels outside it as 0, the same black
            border)."""
        import dlib
        image = np.ascontiguousarray(image)
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / ((1 + 2 * pad) * max(h, w)))
        small = image if scale == 1.0 else np.asarray(Image.fromarray(image).resize(
            (max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR))
        p = round(pad * max(small.shape[:2]))
        seen = np.pad(small, ((p, p), (p, p), (0, 0))) if p else small
        faces = self.detector(seen, self.upsample)
        if len(faces) == 0:
            return None, 0
        centre = np.array([seen.shape[1] / 2, seen.shape[0] / 2])
        box = min(faces, key=lambda r: np.linalg.norm(
            np.array([(r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2]) - centre))
        left, top, right, bottom = ((np.array([box.left(), box.top(), box.right(), box.bottom()]) - p)
                                    / scale).round().astype(int).tolist()
        shape = self.predictor(image, dlib.rectangle(left, top, right, bottom))
        pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], np.float64)
        return np.stack([pts[36:42].mean(0), pts[42:48].mean(0), pts[30], pts[48], pts[54]]), len(faces)


def pad_image(image: np.ndarray, pad: float) -> np.ndarray:
    """`image` (H, W, 3) with a black border of `pad` x max(H, W) pixels on every side (what
    `DlibLandmarker.detect(image, pad)` looks at; the centre-crop fallback crops it too)."""
    p = round(pad * max(image.shape[:2]))
    return np.pad(image, ((p, p), (p, p), (0, 0))) if p else image
