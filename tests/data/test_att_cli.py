import numpy as np
import pytest

from facecourse.data import load_att
from facecourse.data.__main__ import main


def test_load_att_from_tgz(att_tgz):
    ds = load_att(att_tgz)
    assert len(ds) == 400 and ds.num_classes == 40 and ds.images.shape[1:] == (3, 112, 92)
    assert ds.identity_names[:2] == ["s1", "s2"] and np.bincount(ds.labels.numpy()).tolist() == [10] * 40
    assert (ds.images[:, 0] == ds.images[:, 2]).all()  # greyscale repeated to 3 channels
    assert load_att(att_tgz, image_size=64).images.shape[1:] == (3, 64, 64)


def test_load_att_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass att_faces.tgz or its folder"):
        load_att(tmp_path / "missing.tgz")
    with pytest.raises(ValueError, match="no sN/K.pgm images found"):
        load_att(tmp_path)
    (tmp_path / "att.tgz").write_bytes(b"\x1f\x8b\x08 not really gzip")
    with pytest.raises(ValueError, match="(?s)att.tgz .*truncated or not a tar file"):
        load_att(tmp_path / "att.tgz")


def test_cli_prepare_att(att_tgz, tmp_path, capsys):
    assert main(["prepare", "att", str(att_tgz), "--out", str(tmp_path / "att")]) == 0
    assert np.load(tmp_path / "att" / "images_64.npy").shape == (400, 3, 64, 64)
    assert "prepared 400 images of 40 identities" in capsys.readouterr().out


def test_cli_errors(tmp_path, capsys):
    assert main(["prepare", "lfw", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no lfw-deepfunneled.tgz" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["prepare", "imagenet", str(tmp_path)])
    assert "invalid choice: 'imagenet'" in capsys.readouterr().err
