"""`python -m facecourse.data prepare folder|att`: staging, --on-error, exit status 2."""
import io

import numpy as np
import pytest
from PIL import Image

from facecourse.data.__main__ import main


def jpeg_bytes(colour, size=(20, 24)):
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def faces(tmp_path):
    root = tmp_path / "faces"
    for person, colour in (("alice", "red"), ("bob", "blue")):
        (root / person).mkdir(parents=True)
        for k in range(3):
            (root / person / f"{k}.jpg").write_bytes(jpeg_bytes(colour))
    return root


def files_of(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_corrupt_image_in_raise_mode_keeps_the_old_folder(faces, tmp_path, capsys):
    out = tmp_path / "prepared"
    assert main(["prepare", "folder", str(faces), "--out", str(out)]) == 0
    assert "prepared 6 images of 2 identities" in capsys.readouterr().out
    before = files_of(out)
    (faces / "bob" / "1.jpg").write_bytes(b"garbage")
    (faces / "carol").mkdir()
    (faces / "carol" / "0.jpg").write_bytes(jpeg_bytes("green"))
    assert main(["prepare", "folder", str(faces), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot decode image {faces / 'bob' / '1.jpg'}" in err
    assert "pass --on-error skip" in err
    assert files_of(out) == before  # still the 6 images of alice and bob
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faces", "prepared"]  # no staging folder left


def test_skip_mode_lists_what_it_left_out(faces, tmp_path, capsys):
    for k in range(12):
        (faces / "bob" / f"bad{k:02d}.jpg").write_bytes(b"garbage")
    (faces / "empty").mkdir()
    out = tmp_path / "prepared"
    assert main(["prepare", "folder", str(faces), "--out", str(out), "--on-error", "skip"]) == 0
    printed = capsys.readouterr().out
    assert "prepared 6 images of 2 identities" in printed
    assert "skipped 13 unreadable image(s) or empty identity folder(s) (--on-error skip" in printed
    assert f"  {faces / 'bob' / 'bad00.jpg'}\n" in printed and f"{faces / 'bob' / 'bad09.jpg'}" in printed
    assert "bad10.jpg" not in printed and "... and 3 more" in printed  # the first 10 only
    assert np.load(out / "labels.npy").tolist() == [0, 0, 0, 1, 1, 1]
    assert (faces / "bob" / "bad00.jpg").exists()  # nothing deleted


def test_prepare_option_errors_exit_2_with_one_line(faces, tmp_path, capsys):
    assert main(["prepare", "att", str(faces), "--on-error", "skip"]) == 2
    assert capsys.readouterr().err == "error: --on-error applies to `prepare folder` only, not `prepare att`\n"
    assert main(["prepare", "folder", str(faces), "--workers", "0"]) == 2
    assert "--workers must be at least 1, got 0" in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["prepare", "folder", str(faces), "--out", str(tmp_path / "mine")]) == 2
    assert "holds other files (notes.txt) and is not a prepared data set" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert main(["prepare", "folder", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_help_lists_on_error(capsys):
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    assert "--on-error {raise,skip}" in capsys.readouterr().out


def test_staging_folders_of_killed_prepares_are_removed(faces, tmp_path):
    import subprocess
    import sys
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".prepared.preparing-{dead.pid}"
    (stale / "raw").mkdir(parents=True)
    assert main(["prepare", "folder", str(faces), "--out", str(tmp_path / "prepared")]) == 0
    assert not stale.exists()
