import numpy as np
import pytest

from facecourse.data import ARCFACE_TEMPLATE, SyntheticFaces, align, centre_crop, template, umeyama, warp
from facecourse.data.align import DlibLandmarker, dlib_model_path


def similarity(s, angle, t):
    c, si = np.cos(angle), np.sin(angle)
    return np.array([[s * c, -s * si, t[0]], [s * si, s * c, t[1]]])


def apply(M, pts):
    return pts @ M[:, :2].T + M[:, 2]


def test_umeyama_recovers_exact_similarity():
    M = similarity(1.7, 0.4, (5.0, -3.0))
    src = np.random.default_rng(0).random((5, 2)) * 100
    np.testing.assert_allclose(umeyama(src, apply(M, src)), M, atol=1e-9)


def test_umeyama_equals_linear_least_squares():
    # with noise, the similarity LSQ  x' = a x - b y + tx, y' = b x + a y + ty  has the same optimum
    rng = np.random.default_rng(1)
    src = rng.random((5, 2)) * 100
    dst = apply(similarity(0.8, -0.3, (10, 20)), src) + rng.normal(0, 2, (5, 2))
    A = np.zeros((10, 4))
    A[0::2] = np.c_[src[:, 0], -src[:, 1], np.ones(5), np.zeros(5)]
    A[1::2] = np.c_[src[:, 1], src[:, 0], np.zeros(5), np.ones(5)]
    a, b, tx, ty = np.linalg.lstsq(A, dst.reshape(-1), rcond=None)[0]
    np.testing.assert_allclose(umeyama(src, dst), [[a, -b, tx], [b, a, ty]], atol=1e-8)


def test_umeyama_never_reflects():
    src = np.array([[0, 0], [1, 0], [0, 1.0]])
    mirrored = src * [-1, 1]
    assert np.linalg.det(umeyama(src, mirrored)[:, :2]) > 0


def test_template_and_errors():
    np.testing.assert_allclose(template(64), ARCFACE_TEMPLATE * 64 / 112)
    with pytest.raises(ValueError, match=r"need two \(n, 2\) point sets"):
        umeyama(np.zeros((5, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="source points all coincide"):
        umeyama(np.ones((5, 2)), np.zeros((5, 2)))


def test_warp_brings_synthetic_landmarks_to_template():
    ds = SyntheticFaces(1, 1, image_size=112, factors=dict(yaw=(0, 0), glasses_prob=0.0))
    img = ds.images[0].permute(1, 2, 0).numpy()
    M = umeyama(ds.landmarks[0], template(64))
    np.testing.assert_allclose(apply(M, ds.landmarks[0]), template(64), atol=4.0)
    assert align(img, ds.landmarks[0], 64).shape == (64, 64, 3)
    # a pure translation by (+2, +1) moves content right/down by exactly those pixels
    shifted = warp(img, np.array([[1, 0, 2.0], [0, 1, 1.0]]), 112)
    np.testing.assert_array_equal(shifted[11:100, 12:100], img[10:99, 10:98])
    assert centre_crop(img, 32).shape == (32, 32, 3)


def test_dlib_model_files_are_found():
    assert dlib_model_path().name == "shape_predictor_68_face_landmarks.dat"
    with pytest.raises(FileNotFoundError, match="reinstall face-recognition-models"):
        dlib_model_path("no_such_model.dat")


def test_dlib_finds_nothing_on_a_blank_image():
    assert DlibLandmarker()(np.zeros((100, 100, 3), np.uint8)) is None


@pytest.mark.lfw
def test_dlib_aligns_a_real_lfw_face(lfw_dir):
    import tarfile
    from PIL import Image
    with tarfile.open(lfw_dir / "lfw-deepfunneled.tgz") as tar:
        m = next(m for m in tar if m.name.endswith("Aaron_Eckhart_0001.jpg"))
        img = np.array(Image.open(tar.extractfile(m)).convert("RGB"))
    pts = DlibLandmarker()(img)
    assert pts is not None
    assert pts[0, 0] < pts[1, 0] and pts[0, 1] < pts[2, 1] < pts[3, 1]  # eyes, nose, mouth in order
    assert 60 < np.linalg.norm(pts[1] - pts[0]) * 2 < 140  # eye distance of a 250 px LFW face
    assert np.abs(apply(umeyama(pts, template()), pts) - template()).max() < 8


def test_missing_face_recognition_models(monkeypatch):
    import importlib.util
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install face-recognition-models"):
        dlib_model_path()
