import io
import os
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

from facecourse.data import RecordIOReader, UnsafePickleError, load_bin, load_rec
from facecourse.data.insightface import RECORDIO_MAGIC, _write_record


def png(value, size=8):
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (value, value, value)).save(buf, "PNG")
    return buf.getvalue()


def write_bin(path, n_pairs=20, numpy_bools=False, protocol=2):
    blobs = [png(i) for i in range(2 * n_pairs)]
    issame = [i % 2 == 0 for i in range(n_pairs)]
    with open(path, "wb") as f:
        pickle.dump((blobs, np.array(issame) if numpy_bools else issame), f, protocol=protocol)
    return blobs, issame


@pytest.mark.parametrize("numpy_bools, protocol", [(False, 2), (True, 2), (False, 4), (True, 4)])
def test_load_bin(tmp_path, numpy_bools, protocol):
    _, issame = write_bin(tmp_path / "lfw.bin", 20, numpy_bools, protocol)
    ds, pairs = load_bin(tmp_path / "lfw.bin")
    assert len(ds) == 40 and ds.images.shape == (40, 3, 8, 8) and (ds.labels == -1).all()
    assert ds.images[7, 0, 0, 0] == 7  # image order kept
    np.testing.assert_array_equal(pairs.issame, issame)
    np.testing.assert_array_equal(pairs.a, np.arange(20) * 2)
    np.testing.assert_array_equal(pairs.fold, np.repeat(np.arange(10), 2))


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/facecourse_pwned",))


def test_hostile_pickle_is_refused(tmp_path):
    with open(tmp_path / "evil.bin", "wb") as f:
        pickle.dump(([Evil()], [True]), f)
    with pytest.raises(UnsafePickleError) as e:
        load_bin(tmp_path / "evil.bin")
    msg = str(e.value)
    assert "evil.bin" in msg and "system" in msg and "never contains" in msg
    assert not os.path.exists("/tmp/facecourse_pwned")


def test_truncated_and_wrong_bin(tmp_path):
    write_bin(tmp_path / "ok.bin")
    data = (tmp_path / "ok.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut.bin is not an insightface .bin file or is truncated"):
        load_bin(tmp_path / "cut.bin")
    with open(tmp_path / "odd.bin", "wb") as f:
        pickle.dump(([png(1)] * 3, [True, False]), f)
    with pytest.raises(ValueError, match="3 images for 2 pairs"):
        load_bin(tmp_path / "odd.bin")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_bin(tmp_path / "none.bin")


BAD_BIN = r"is not an insightface \.bin file or is truncated \(.*\): download it again\."
FUZZED_HEADERS = {  # protocol, opcode, declared length (or memo index), a few bytes that follow
    "bytes8_huge": b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 62) + b"abc",      # BINBYTES8, 4 EiB
    "bytes8_max": b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 64 - 1) + b"abc",   # past sys.maxsize
    "frame_huge": b"\x80\x04\x95" + struct.pack("<Q", 2 ** 40) + b"]",         # FRAME of 1 TiB
    "bytes_4gib": b"\x80\x03B" + struct.pack("<I", 2 ** 32 - 1) + b"abc",       # BINBYTES, 4 GiB
    "string_negative": b"\x80\x02T" + struct.pack("<i", -5) + b"abc",            # BINSTRING < 0
    "long_negative": b"\x80\x02\x8b" + struct.pack("<i", -5) + b"abc",          # LONG4 < 0
    "memo_huge": b"\x80\x02]r" + struct.pack("<I", 2 ** 32 - 1) + b".",         # LONG_BINPUT 4 G
    "put_huge": b"(lp99999999999\n.",                                            # text PUT
    "no_stop": b"\x80\x02]q\x00",                                                # truncated
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(FUZZED_HEADERS))
def test_fuzzed_bin_headers_are_refused_before_allocating(tmp_path, name):
    (tmp_path / f"{name}.bin").write_bytes(FUZZED_HEADERS[name])
    with pytest.raises(ValueError, match=BAD_BIN) as e:
        load_bin(tmp_path / f"{name}.bin")
    assert f"{name}.bin" in str(e.value)


class HugeArray:
    """Pickles as a numpy array whose state declares shape (2**62, 2**62) over 3 bytes."""

    def __reduce__(self):
        reconstruct, args, _ = np.zeros(0, np.uint8).__reduce__()
        return reconstruct, args, (1, (2 ** 62, 2 ** 62), np.dtype(np.uint8), False, b"abc")


def test_bin_holding_the_wrong_things(tmp_path):
    with open(tmp_path / "huge_array.bin", "wb") as f:
        pickle.dump(([HugeArray(), b""], [True]), f, protocol=2)
    with pytest.raises(ValueError, match=BAD_BIN) as e:
        load_bin(tmp_path / "huge_array.bin")
    assert "huge_array.bin" in str(e.value) and "larger than memory (MemoryError)" in str(e.value)
    with open(tmp_path / "ints.bin", "wb") as f:
        pickle.dump(([10 ** 12, 5], [True]), f)  # bytes(10**12) would allocate a terabyte
    with pytest.raises(ValueError, match=r"ints.bin .*\(image 0 is int, expected encoded image bytes\)"):
        load_bin(tmp_path / "ints.bin")
    with open(tmp_path / "none.bin", "wb") as f:
        pickle.dump(([], []), f)
    with pytest.raises(ValueError, match=r"none.bin .*\(it holds no pairs\)"):
        load_bin(tmp_path / "none.bin")


def test_bad_image_in_bin_names_the_file_and_image(tmp_path):
    with open(tmp_path / "agedb.bin", "wb") as f:
        pickle.dump(([png(1), b"not an image", png(2), png(3)], [True, False]), f)
    with pytest.raises(ValueError) as e:
        load_bin(tmp_path / "agedb.bin")
    msg = str(e.value)
    assert f"cannot decode image {tmp_path / 'agedb.bin'} image 1: not a known image format" in msg
    assert "BytesIO" not in msg and "download it again" in msg and "--on-error" not in msg


def write_rec(rec, idx, records):
    """A tiny MXNet RecordIO writer: records = [(key, flag, label(s), image bytes)]."""
    with open(rec, "wb") as f, open(idx, "w") as fi:
        for key, labels, img in records:
            _write_record(f, fi, key, labels, img)


def test_load_rec_insightface_layout(tmp_path):
    imgs = [png(10 * i) for i in range(5)]
    labels = [0, 0, 1, 1, 2]
    recs = [(0, [6.0, 9.0], b"")] + [(i + 1, labels[i], imgs[i]) for i in range(5)]
    recs.append((6, [1.0, 3.0], b""))  # identity records after the images are ignored
    write_rec(tmp_path / "train.rec", tmp_path / "train.idx", recs)
    ds = load_rec(tmp_path / "train.rec")
    assert len(ds) == 5 and ds.labels.tolist() == labels and ds.num_classes == 3
    assert ds.images is None and ds[3][0].shape == (3, 8, 8)
    assert ds.image_uint8(3)[0, 0, 0] == 30


def test_recordio_multipart_record(tmp_path):
    img = png(5) + struct.pack("<I", RECORDIO_MAGIC) + b"tail"  # payload containing the magic
    write_rec(tmp_path / "m.rec", tmp_path / "m.idx", [(0, 1.0, img)])
    payload = RecordIOReader(tmp_path / "m.rec").read(0)
    assert payload.endswith(img)


def test_truncated_rec_and_bad_idx(tmp_path):
    write_rec(tmp_path / "t.rec", tmp_path / "t.idx", [(0, 0.0, png(1)), (1, 0.0, png(2))])
    data = (tmp_path / "t.rec").read_bytes()
    (tmp_path / "t.rec").write_bytes(data[:-20])
    with pytest.raises(ValueError, match=r"t.rec is truncated: record 1 needs \d+ bytes"):
        load_rec(tmp_path / "t.rec")
    (tmp_path / "t.idx").write_text("0\t0\n1\t")
    with pytest.raises(ValueError, match=r"t.idx line 2 is '1\\t', expected 'key<TAB>offset'"):
        load_rec(tmp_path / "t.rec")
    (tmp_path / "t.idx").write_text("0\t4\n")
    with pytest.raises(ValueError, match="has no record at byte 4"):
        load_rec(tmp_path / "t.rec")
    with pytest.raises(FileNotFoundError, match="needs its .idx beside it"):
        load_rec(tmp_path / "none.rec")


def test_fuzzed_rec_headers(tmp_path):
    rec, idx = tmp_path / "f.rec", tmp_path / "f.idx"
    write_rec(rec, idx, [(0, [3.0, 9.0], b""), (1, 0.0, b"garbage"), (2, 1.0, png(2))])
    ds = load_rec(rec)
    with pytest.raises(ValueError) as e:
        ds.image_uint8(0)
    assert f"cannot decode image {rec} record 1: not a known image format" in str(e.value)
    assert "BytesIO" not in str(e.value) and "download it again" in str(e.value)
    data = bytearray(rec.read_bytes())
    data[4:8] = struct.pack("<I", (1 << 29) - 1)  # record 0 declares 512 MiB
    rec.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"f.rec is truncated: record 0 needs 536870911 bytes"):
        load_rec(rec)
    write_rec(rec, idx, [(0, [1e30, 9.0], b""), (1, 0.0, png(1))])  # header names 1e30 records
    with pytest.raises(ValueError, match=r"f.rec record 0 is not an insightface record .*lists records up to 1"):
        load_rec(rec)
    write_rec(rec, idx, [(0, float("nan"), png(1))])
    with pytest.raises(ValueError, match=r"f.rec record 0 is not an insightface record \(its label is nan"):
        load_rec(rec)
    write_rec(rec, idx, [(0, 0.0, b"")])
    data = rec.read_bytes()
    rec.write_bytes(data[:8] + data[8:20])  # payload shorter than IRHeader
    (idx).write_text("0\t0\n")
    data = bytearray(rec.read_bytes())
    data[4:8] = struct.pack("<I", 12)
    rec.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"record 0 is not an insightface record \(12 bytes, shorter"):
        load_rec(rec)


def test_bin_of_the_wrong_shape_and_empty_rec(tmp_path):
    with open(tmp_path / "dict.bin", "wb") as f:
        pickle.dump([b"a", b"b", b"c"], f)
    with pytest.raises(ValueError, match=r"holds list, expected \(images, issame\)"):
        load_bin(tmp_path / "dict.bin")
    (tmp_path / "e.rec").write_bytes(b"")
    (tmp_path / "e.idx").write_text("")
    with pytest.raises(ValueError, match="e.idx lists no records"):
        load_rec(tmp_path / "e.rec")
