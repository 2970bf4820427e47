"""`align_faces`: the one detect -> five points -> template pipeline (prepare lfw|folder|lag)."""
import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from facecourse.data import BadImageError, align, align_faces, centre_crop, decode_image, pad_image, template, umeyama
from facecourse.data.align import DlibLandmarker


def test_no_face_gives_visible_centre_crops_of_the_padded_image():
    blank = np.full((60, 90, 3), 128, np.uint8)
    grey = np.full((50, 40), 90, np.uint8)  # greyscale (H, W) and (3, H, W) inputs work too
    chw = np.zeros((3, 30, 30), np.uint8)
    got = align_faces([blank, grey, chw], sizes=(32, 16), workers=1, progress=False, pad=0.5)
    assert got.num_faces.tolist() == [0, 0, 0] and got.no_face == [0, 1, 2] and got.fallback.all()
    assert got.images[32].shape == (3, 3, 32, 32) and got.images[16].shape == (3, 3, 16, 16)
    np.testing.assert_array_equal(got.images[32][0].transpose(1, 2, 0), centre_crop(pad_image(blank, 0.5), 32))
    assert np.isnan(got.landmarks).all() and got.kept.tolist() == [0, 1, 2]
    assert pad_image(blank, 0.5).shape == (150, 180, 3)  # 45 px (half the longer side) each side
    report = got.report()
    assert report.startswith("faces found in 0 of 3 images (each padded by 50% of its longer side")
    assert "no face found in 3 image(s) (a centre crop used instead):\n  image 0\n" in report
    skipped = align_faces([blank, grey], sizes=(16,), workers=1, progress=False, on_missing="skip")
    assert skipped.images[16].shape == (0, 3, 16, 16) and skipped.kept.tolist() == []
    assert "left out (--on-missing skip)" in skipped.report(["a.jpg", "b.jpg"])


def test_unreadable_files_raise_or_are_listed(tmp_path):
    good, bad = tmp_path / "good.png", tmp_path / "bad.jpg"
    Image.new("RGB", (40, 40), "red").save(good)
    bad.write_bytes(b"garbage")
    with pytest.raises(BadImageError, match=f"cannot decode image {bad}: not a known image format.*on-error skip"):
        align_faces([good, bad], sizes=(16,), workers=1, progress=False)
    got = align_faces([good, bad], sizes=(16,), workers=1, progress=False, on_error="skip")
    assert got.kept.tolist() == [0] and got.num_faces.tolist() == [0, -1]
    assert got.errors[0][0] == 1 and "cannot decode image" in got.errors[0][1]
    assert got.report().startswith("faces found in 0 of 1 images")  # the unreadable one is not counted


def test_argument_errors():
    img = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ValueError, match=r"on_missing must be one of \('centre', 'skip'\), got 'drop'"):
        align_faces([img], on_missing="drop")
    with pytest.raises(ValueError, match="on_error must be one of"):
        align_faces([img], on_error="ignore")
    with pytest.raises(ValueError, match=r"pad is a fraction of the image's longer side in \[0, 2\], got -0.1"):
        align_faces([img], pad=-0.1)
    with pytest.raises(ValueError, match="no images given"):
        align_faces([])
    with pytest.raises(ValueError, match=r"must be uint8 \(H, W, 3\).*float32"):
        align_faces([img.astype(np.float32)], workers=1, progress=False)


def test_exif_orientation_is_applied():
    im = Image.new("RGB", (20, 10), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    assert decode_image(buf.getvalue(), "phone.jpg").shape == (3, 20, 10)  # upright: taller than wide


def test_detect_keeps_the_face_nearest_the_centre_and_counts_them(monkeypatch):
    import dlib

    class FakeDetector:  # three faces: top-left, centre, bottom-right of a 300 x 300 image
        def __call__(self, image, upsample):
            return [dlib.rectangle(0, 0, 60, 60), dlib.rectangle(120, 120, 180, 180), dlib.rectangle(230, 230, 290, 290)]

    seen = []

    class FakePredictor:
        def __call__(self, image, rect):
            seen.append((rect.left(), rect.top()))
            return type("Shape", (), {"part": lambda self, i: dlib.point(rect.left() + i % 7, rect.top() + i % 5)})()

    lm = DlibLandmarker.__new__(DlibLandmarker)
    lm.detector, lm.predictor, lm.upsample, lm.max_side = FakeDetector(), FakePredictor(), 1, 1024
    pts, n = lm.detect(np.zeros((300, 300, 3), np.uint8))
    assert n == 3 and seen == [(120, 120)] and (pts >= 120).all() and (pts < 130).all()
    # with a border the detector's boxes are in padded pixels: they come back to the image's
    seen.clear()
    pts, n = lm.detect(np.zeros((200, 200, 3), np.uint8), pad=0.1)  # 20 px each side: 240 x 240 seen
    assert seen == [(100, 100)]  # the (120, 120) box in the padded image is (100, 100) here


def faces_of(lfw_dir, names):
    with tarfile.open(lfw_dir / "lfw-deepfunneled.tgz") as tar:
        members = {m.name.rsplit("/", 1)[-1]: m for m in tar if m.name.endswith(tuple(names))}
        return [np.array(Image.open(tar.extractfile(members[n])).convert("RGB")) for n in names]


@pytest.mark.lfw
def test_real_faces_align_onto_the_template_in_any_process_count(lfw_dir):
    imgs = faces_of(lfw_dir, ["Aaron_Eckhart_0001.jpg", "Abdullah_Gul_0001.jpg", "Adriana_Lima_0001.jpg"])
    one = align_faces(imgs, sizes=(112,), workers=1, progress=False)
    two = align_faces(imgs, sizes=(112,), workers=2, progress=False)
    assert one.found.all() and (one.num_faces == two.num_faces).all()
    np.testing.assert_array_equal(one.images[112], two.images[112])
    for img, pts, crop in zip(imgs, one.landmarks, one.images[112]):
        again = align(img, pts, 112).astype(int)  # pts are kept as float32: a pixel may differ by 1
        assert np.abs(crop.transpose(1, 2, 0).astype(int) - again).max() <= 1
        M = umeyama(pts, template())
        assert np.abs(pts @ M[:, :2].T + M[:, 2] - template()).max() < 8  # points land on the template


@pytest.mark.lfw
def test_tight_crops_big_photos_and_several_faces(lfw_dir):
    a, b = faces_of(lfw_dir, ["Aaron_Eckhart_0001.jpg", "Abdullah_Gul_0001.jpg"])
    full = DlibLandmarker().detect(a)[0]
    tight = a[65:185, 65:185]  # a LAG-like tight crop: the face touches the edges
    got = align_faces([tight], sizes=(64,), workers=1, progress=False, pad=0.4)
    assert got.found.all()
    assert np.abs(got.landmarks[0] - (full - 65)).max() < 4  # same points, in the crop's pixels
    big = np.asarray(Image.fromarray(a).resize((1500, 1500), Image.BILINEAR))  # detected at 1024 px
    pts, n = DlibLandmarker().detect(big)
    assert n == 1 and np.abs(pts / 6 - full).max() < 3
    canvas = np.zeros((500, 750, 3), np.uint8)
    canvas[125:375, 250:500], canvas[0:250, 0:250] = a, b  # a in the centre, b in a corner
    got = align_faces([canvas], sizes=(112,), workers=1, progress=False)
    assert got.num_faces.tolist() == [2] and got.multi_face == [0]
    assert np.abs(got.landmarks[0] - (full + [250, 125])).max() < 3  # the central face was kept
    assert "several faces in 1 image(s); kept the one nearest the centre:\n  image 0  (2 faces)" in got.report()
