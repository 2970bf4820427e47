import hashlib
import io
import tarfile

import pytest
from PIL import Image

from facecourse.data import BadImageError, ChecksumError, ImageFolderFaces, safe_extract, verify_checksum
from facecourse.data.archive import file_digest


def jpeg_bytes(colour, size=(20, 24)):
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def make_tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_safe_extract_extracts_and_filters(tmp_path):
    make_tar(tmp_path / "a.tgz", [("top/x/1.jpg", b"one"), ("top/y/2.jpg", b"two")])
    got = safe_extract(tmp_path / "a.tgz", tmp_path / "out", lambda n: "/y/" not in n)
    assert got == ["top/x/1.jpg"] and (tmp_path / "out/top/x/1.jpg").read_bytes() == b"one"
    assert not (tmp_path / "out/top/y").exists()


@pytest.mark.parametrize("name", ["../evil.txt", "top/../../evil.txt", "/tmp/evil.txt"])
def test_safe_extract_refuses_escaping_members(tmp_path, name):
    make_tar(tmp_path / "bad.tgz", [("top/ok.jpg", b"ok"), (name, b"evil")])
    with pytest.raises(ValueError) as e:
        safe_extract(tmp_path / "bad.tgz", tmp_path / "out")
    assert "bad.tgz" in str(e.value) and repr(name) in str(e.value) and "outside the target folder" in str(e.value)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out/top/ok.jpg").exists()


def test_safe_extract_refuses_links_and_truncation(tmp_path):
    with tarfile.open(tmp_path / "link.tar", "w") as tar:
        info = tarfile.TarInfo("top/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(ValueError, match="is a link"):
        safe_extract(tmp_path / "link.tar", tmp_path / "out")
    make_tar(tmp_path / "ok.tgz", [("top/a.jpg", jpeg_bytes("red") * 50)])
    data = (tmp_path / "ok.tgz").read_bytes()
    (tmp_path / "cut.tgz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut.tgz .*truncated or not a tar file: download it again"):
        safe_extract(tmp_path / "cut.tgz", tmp_path / "out2")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        safe_extract(tmp_path / "missing.tgz", tmp_path / "out3")


@pytest.mark.parametrize("kind, words", [(tarfile.FIFOTYPE, "FIFO"), (tarfile.CHRTYPE, "character device"),
                                         (tarfile.BLKTYPE, "block device")])
def test_safe_extract_refuses_special_members_before_writing_anything(tmp_path, kind, words):
    with tarfile.open(tmp_path / "dev.tar", "w") as tar:
        info = tarfile.TarInfo("top/a.jpg")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"one"))  # a regular file first: it must not be written either
        special = tarfile.TarInfo("top/console")
        special.type, special.devmajor, special.devminor = kind, 5, 1
        tar.addfile(special)
    with pytest.raises(ValueError) as e:
        safe_extract(tmp_path / "dev.tar", tmp_path / "out")
    msg = str(e.value)
    assert "dev.tar" in msg and "'top/console'" in msg and words in msg
    assert "not a regular file or a folder" in msg and "download it again" in msg
    assert not (tmp_path / "out").exists() or not any(p.is_file() for p in (tmp_path / "out").rglob("*"))


def test_checksum_mismatch_names_file_and_keeps_it(tmp_path):
    f = tmp_path / "lfw-deepfunneled.tgz"
    f.write_bytes(b"not the archive")
    assert file_digest(f, "md5") == hashlib.md5(b"not the archive").hexdigest()
    sha = hashlib.sha256(b"not the archive").hexdigest()
    assert verify_checksum(f, {"md5": ["0" * 32], "sha256": [sha]}) == "sha256"
    with pytest.raises(ChecksumError) as e:
        verify_checksum(f, {"md5": ["0" * 32]})
    assert str(f) in str(e.value) and "download it again" in str(e.value) and "--no-verify" in str(e.value)
    assert f.read_bytes() == b"not the archive"  # nothing lost


@pytest.fixture
def folder(tmp_path):
    for person, colour in (("alice", "red"), ("bob", "blue")):
        (tmp_path / person).mkdir()
        for k in range(3):
            (tmp_path / person / f"{k}.jpg").write_bytes(jpeg_bytes(colour))
    return tmp_path


def test_image_folder_loads(folder):
    ds = ImageFolderFaces(folder, image_size=16)
    assert ds.images.shape == (6, 3, 16, 16) and ds.identity_names == ["alice", "bob"]
    assert ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert ds.images[0, 0].float().mean() > 200 and ds.images[3, 2].float().mean() > 200  # red, blue
    raw = ImageFolderFaces(folder, image_size=None)
    assert raw.images.shape == (6, 3, 24, 20)


def test_image_folder_corrupt_image_raise_or_skip(folder):
    good = (folder / "bob" / "1.jpg").read_bytes()
    (folder / "bob" / "1.jpg").write_bytes(good[: len(good) // 2])  # truncated
    (folder / "bob" / "2.jpg").write_bytes(b"garbage")
    with pytest.raises(BadImageError) as e:
        ImageFolderFaces(folder, 16)
    assert "bob/1.jpg" in str(e.value) and "on_error='skip'" in str(e.value)
    ds = ImageFolderFaces(folder, 16, on_error="skip")
    assert len(ds) == 4 and sorted(p.split("/")[-1] for p, _ in ds.skipped) == ["1.jpg", "2.jpg"]
    assert all("cannot decode image" in why for _, why in ds.skipped)
    assert (folder / "bob" / "1.jpg").exists()  # nothing deleted


def test_bad_image_message_names_the_file_and_every_way_to_skip_it(folder):
    (folder / "alice" / "0.jpg").write_bytes(b"garbage")
    with pytest.raises(BadImageError) as e:
        ImageFolderFaces(folder, 16)
    msg = str(e.value)
    assert msg.startswith(f"cannot decode image {folder / 'alice' / '0.jpg'}: not a known image format")
    assert "BytesIO" not in msg and " at 0x" not in msg
    assert msg.endswith("replace or delete it, or pass --on-error skip (ImageFolderFaces(on_error='skip') "
                        "in Python; train: --set data.on_error=skip).")


def test_image_folder_empty_identity_and_layout_errors(folder, tmp_path_factory):
    (folder / "carol").mkdir()
    with pytest.raises(ValueError, match=r"identity folder .*carol holds no images"):
        ImageFolderFaces(folder, 16)
    ds = ImageFolderFaces(folder, 16, on_error="skip")
    assert ds.num_classes == 2 and ds.skipped[0][1] == "empty identity folder"
    flat = tmp_path_factory.mktemp("flat")
    (flat / "a.jpg").write_bytes(jpeg_bytes("red"))
    with pytest.raises(ValueError, match=r"wrong layout: expected root/<identity>/<image>.*'a.jpg'"):
        ImageFolderFaces(flat, 16)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFolderFaces(flat / "nope", 16)
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip'"):
        ImageFolderFaces(folder, 16, on_error="ignore")
    (folder / "bob" / "big.jpg").write_bytes(jpeg_bytes("blue", (30, 30)))
    with pytest.raises(ValueError, match="pass image_size=112"):
        ImageFolderFaces(folder, None, on_error="skip")


def test_image_folder_with_nothing_readable(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "0.jpg").write_bytes(b"broken")
    with pytest.raises(ValueError, match=r"no readable image under .* \(1 skipped\)"):
        ImageFolderFaces(tmp_path, 16, on_error="skip")


def test_safe_extract_reads_zips_with_the_same_refusals(tmp_path):
    import stat
    import zipfile
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as zf:
        zf.writestr("LAG/ann/a.png", b"adult")
        zf.writestr("LAG/ann/y/b.png", b"young")
    got = safe_extract(tmp_path / "ok.zip", tmp_path / "out", lambda n: "/y/" in n)
    assert got == ["LAG/ann/y/b.png"] and (tmp_path / "out/LAG/ann/y/b.png").read_bytes() == b"young"
    assert not (tmp_path / "out/LAG/ann/a.png").exists()
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("LAG/ok.png", b"ok")
        zf.writestr("../evil.txt", b"evil")
    with pytest.raises(ValueError, match=r"evil.zip: member '../evil.txt' would be written outside"):
        safe_extract(tmp_path / "evil.zip", tmp_path / "out2")
    assert not (tmp_path / "out2").exists() and not (tmp_path / "evil.txt").exists()
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as zf:
        info = zipfile.ZipInfo("LAG/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ValueError, match="'LAG/link' is a link"):
        safe_extract(tmp_path / "link.zip", tmp_path / "out3")
