"""`prepare folder`: align raw photos of any size into a prepared folder that ImageFolderFaces,
`load_prepared_folder`, train (`data.source=folder`) and eval (`--data DIR`) read."""
import io
import json
import tarfile
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from facecourse.data import (ImageFolderFaces, align_faces, alignment_report, load_lfw, load_prepared_folder,
                             prepare_folder, prepare_lfw, safe_extract, template)
from facecourse.data.__main__ import main
from facecourse.data.align import DlibLandmarker


def jpeg(path, colour, size=(40, 50)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, "JPEG")


@pytest.fixture
def fake_dlib(monkeypatch):
    """A detector that 'finds' one face in reddish images, two in greenish ones, none in blue."""
    def detect(self, image, pad=0.0):
        r, g, b = image.reshape(-1, 3).mean(0)
        if b > max(r, g):
            return None, 0
        h, w = image.shape[:2]
        return template(min(h, w)), (2 if g > r else 1)
    import facecourse.data.aligner as aligner
    monkeypatch.setattr(aligner, "_WORKER", {})  # no real landmarker cached from earlier tests
    monkeypatch.setattr(DlibLandmarker, "__init__", lambda self, *a, **k: None)
    monkeypatch.setattr(DlibLandmarker, "detect", detect)


@pytest.fixture
def photos(tmp_path):
    root = tmp_path / "photos"
    jpeg(root / "alice" / "1.jpg", "red", (300, 200))  # any size
    jpeg(root / "alice" / "2.jpg", "blue")
    jpeg(root / "bob" / "group.jpg", "green", (120, 90))
    jpeg(root / "bob" / "3.jpg", "red")
    jpeg(root / "carol" / "x.jpg", "blue")  # carol: no face anywhere
    return root


def test_cli_reports_faces_found_missing_and_several(photos, tmp_path, capsys, fake_dlib):
    out = tmp_path / "prepared"
    assert main(["prepare", "folder", str(photos), "--out", str(out), "--workers", "1", "--size", "48", "24"]) == 0
    printed = capsys.readouterr().out
    assert f"prepared 5 images of 3 identities in {out}" in printed
    assert "faces found in 3 of 5 images (each padded by 25% of its longer side" in printed
    assert "no face found in 2 image(s) (a centre crop used instead):\n  alice/2.jpg\n  carol/x.jpg" in printed
    assert "several faces in 1 image(s); kept the one nearest the centre:\n  bob/group.jpg  (2 faces)" in printed
    index = json.loads((out / "index.json").read_text())
    assert index["kind"] == "folder" and index["names"] == ["alice", "bob", "carol"] and index["sizes"] == [48, 24]
    assert index["files"] == ["alice/1.jpg", "alice/2.jpg", "bob/3.jpg", "bob/group.jpg", "carol/x.jpg"]
    assert index["no_face"] == ["alice/2.jpg", "carol/x.jpg"] and index["multi_face"] == [["bob/group.jpg", 2]]
    assert index["num_faces"] == [1, 0, 1, 2, 0] and index["landmarks"][1] is None
    ds = ImageFolderFaces(out, image_size=24)  # a prepared folder is read, not decoded again
    assert ds.images.shape == (5, 3, 24, 24) and ds.labels.tolist() == [0, 0, 1, 1, 2]
    assert ds.meta["fallback"].tolist() == [False, True, False, False, True] and ds.files == index["files"]
    assert ImageFolderFaces(out, image_size=None).images.shape[-1] == 48  # the largest prepared size
    assert alignment_report(out) in printed
    with pytest.raises(FileNotFoundError, match=r"images_112.npy is missing; sizes prepared: \[48, 24\]"):
        ImageFolderFaces(out, image_size=112)


def test_on_missing_skip_leaves_out_faceless_photos_and_people(photos, tmp_path, capsys, fake_dlib):
    out = tmp_path / "prepared"
    assert main(["prepare", "folder", str(photos), "--out", str(out), "--workers", "1",
                 "--on-missing", "skip", "--size", "16"]) == 0
    printed = capsys.readouterr().out
    assert "prepared 3 images of 2 identities" in printed and "left out (--on-missing skip)" in printed
    assert "identities left out (no image kept): carol" in printed
    ds = load_prepared_folder(out, 16)
    assert ds.identity_names == ["alice", "bob"] and ds.files == ["alice/1.jpg", "bob/3.jpg", "bob/group.jpg"]
    assert not ds.meta["fallback"].any() and ds.meta["num_faces"].tolist() == [1, 1, 2]
    for p in photos.rglob("*.jpg"):
        if "2.jpg" not in p.name and "x.jpg" not in p.name:
            p.unlink()
    (photos / "bob").rmdir()
    assert main(["prepare", "folder", str(photos), "--out", str(out), "--on-missing", "skip", "--workers", "1"]) == 2
    assert "no image of" in capsys.readouterr().err and load_prepared_folder(out, 16).identity_names == ["alice", "bob"]


def test_default_out_and_option_errors(photos, tmp_path, monkeypatch, capsys, fake_dlib):
    monkeypatch.setenv("FACECOURSE_CACHE", str(tmp_path / "cache"))
    out = prepare_folder(photos, sizes=(16,), workers=1, progress=False)
    assert out == tmp_path / "cache" / "folders" / "photos" and (out / "index.json").is_file()
    for argv, message in (
            (["prepare", "lfw", str(photos), "--on-missing", "skip"], "--on-missing applies to `prepare folder` only"),
            (["prepare", "att", str(photos), "--pad", "0.1"], "--pad applies to `prepare folder / lag` only"),
            (["prepare", "folder", str(photos), "--pad", "3"], "--pad is a fraction of the image's longer side"),
            (["prepare", "folder", str(photos), "--size", "4"], "--size must be at least 8 pixels, got 4"),
            (["prepare", "folder", str(photos), "--limit", "2"], "--limit applies to `prepare lfw` only")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_train_and_eval_read_the_prepared_folder(photos, tmp_path, fake_dlib):
    from facecourse.train.build import build_train_set
    out = prepare_folder(photos, tmp_path / "prepared", sizes=(32,), workers=1, progress=False)
    faces = build_train_set(SimpleNamespace(source="folder", root=str(out), on_error="raise"), 32)
    assert faces.images.shape == (5, 3, 32, 32) and faces.num_classes == 3  # what `data.source=folder` trains on
    np.testing.assert_array_equal(faces.images.numpy(), np.load(out / "images_32.npy"))


@pytest.fixture
def att_people(att_tgz, tmp_path):
    """Four people of the AT&T faces (92x112 greyscale PGM), extracted into tmp_path."""
    safe_extract(att_tgz, tmp_path / "att", lambda n: any(f"/s{k}/" in n for k in (1, 2, 3, 4)))
    return tmp_path / "att" / "att_faces"


def test_att_faces_are_found_and_aligned(att_people, tmp_path, capsys):
    out = tmp_path / "att_prepared"
    assert main(["prepare", "folder", str(att_people), "--out", str(out), "--workers", "2", "--size", "64"]) == 0
    printed = capsys.readouterr().out
    assert "prepared 40 images of 4 identities" in printed
    ds = ImageFolderFaces(out, 64)
    assert ds.identity_names == ["s1", "s2", "s3", "s4"] and ds.images.shape == (40, 3, 64, 64)
    assert (~ds.meta["fallback"]).sum() >= 38  # dlib finds (nearly) every padded AT&T face
    assert (ds.images[:, 0] == ds.images[:, 1]).all()  # greyscale stays grey
    found = ~ds.meta["fallback"]
    eyes = ds.source_landmarks[found][:, :2]  # in the 92 x 112 source pixels
    assert ((eyes[..., 0] > 0) & (eyes[..., 0] < 92) & (eyes[..., 1] > 0) & (eyes[..., 1] < 112)).all()


@pytest.mark.lfw
def test_lfw_originals_align_exactly_as_prepare_lfw(lfw_dir, tmp_path):
    names = ["Aaron_Eckhart", "Abdullah_Gul", "Adriana_Lima"]
    src = tmp_path / "photos"
    with tarfile.open(lfw_dir / "lfw-deepfunneled.tgz") as tar:
        for m in tar:
            person = m.name.split("/")[1] if m.name.count("/") == 2 else None
            if m.isfile() and person in names:
                (src / person).mkdir(parents=True, exist_ok=True)
                (src / person / m.name.rsplit("/", 1)[1]).write_bytes(tar.extractfile(m).read())
    files = sorted(src.rglob("*.jpg"))
    assert Image.open(files[0]).size == (250, 250)
    folder = load_prepared_folder(prepare_folder(src, tmp_path / "f", sizes=(64,), workers=1, progress=False,
                                                 pad=0.0), 64)
    lfw = load_lfw(prepare_lfw(lfw_dir, tmp_path / "lfw", workers=1, names=names, progress=False, sizes=(64,)), 64)
    assert folder.files == lfw.dataset.files and folder.identity_names == names
    np.testing.assert_array_equal(folder.images.numpy(), lfw.dataset.images.numpy())  # one pipeline
    direct = align_faces(files, sizes=(64,), workers=1, progress=False)
    np.testing.assert_array_equal(direct.images[64], folder.images.numpy())
    padded = load_prepared_folder(prepare_folder(src, tmp_path / "g", sizes=(64,), workers=1, progress=False), 64)
    assert (~padded.meta["fallback"]).sum() >= len(files) - 1
    buf = io.StringIO()
    print(alignment_report(tmp_path / "g"), file=buf)
    assert buf.getvalue().startswith(f"faces found in {(~padded.meta['fallback']).sum()} of {len(files)} images")
