"""insightface data files without mxnet: `.bin` verification sets and `.rec/.idx` RecordIO.

`.bin` (LFW, CFP-FP, AgeDB-30, CALFW, CPLFW as distributed with insightface): a pickle of
(list of encoded images, list of issame), image 2i and 2i+1 forming pair i, folds being 10
consecutive blocks (insightface's KFold without shuffling). Pickles can run code, so they are
read with `RestrictedUnpickler`, which accepts only the types these files contain.

`.rec/.idx` (CASIA-WebFace, MS1M): MXNet RecordIO. Each record: uint32 magic 0xced7230a, uint32
(cflag << 29 | length), payload padded to 4 bytes. The payload starts with IRHeader
`struct IfQQ` (flag, label, id, id2); flag > 0 means `flag` float32 labels follow. insightface
stores a header record 0 whose label gives (first identity record, end).

Lesson 06 reads CALFW / AgeDB-30 as .bin files when they are in the data root; the GPU recipe
`casia-arcface` trains on a .rec and measures the .bin sets (`write_rec`, `write_bin` pack
prepared faces for it).
"""
from __future__ import annotations

import io
import os
import pickle
import pickletools
import struct
from pathlib import Path

import numpy as np
import torch

from .dataset import FaceDataset
from .images import decode_image
from .pairs import Pairs

_ALLOWED = {
    ("builtins", "list"), ("builtins", "tuple"), ("builtins", "bytes"), ("builtins", "bytearray"),
    ("builtins", "bool"), ("__builtin__", "list"), ("__builtin__", "tuple"), ("__builtin__", "bool"),
    ("_codecs", "encode"),  # how Python 3 pickles bytes at protocol < 3
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a type that a face data file never contains."""


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only builds lists, tuples, bytes, bools and numpy arrays."""

    def __init__(self, file, source: str):
        super().__init__(file, encoding="bytes")
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafePickleError(f"refusing to load {self.source}: it asks for {module}.{name}, which an "
                                "insightface .bin file never contains. The file may be hostile or is not a "
                                ".bin verification set; do not open it with pickle. Download it again.")


class BadBinError(ValueError):
    """A `.bin` file that is truncated, fuzzed or not an insightface verification set."""

    def __init__(self, path, why: str):
        self.path, self.why = path, why
        super().__init__(f"load_bin: {path} is not an insightface .bin file or is truncated ({why}): "
                         "download it again.")

    def __reduce__(self):  # picklable (e.g. raised in a DataLoader worker)
        return type(self), (self.path, self.why)


_MEMO_OPS = {"PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"}


def check_pickle_lengths(data: bytes, path) -> None:
    """Walk the opcodes of the pickle `data` (nothing is built, no code runs) and refuse any
    length or memo index the file cannot back, before the unpickler allocates for it.

    A fuzzed header can declare a 2**62-byte string, frame or memo table: the C unpickler
    allocates first and reads after, so it fails with a bare MemoryError or OverflowError.
    Reading through `io.BytesIO` never allocates more than the file holds."""
    ops = 0
    try:
        for op, arg, pos in pickletools.genops(io.BytesIO(data)):
            ops += 1
            if op.name == "FRAME" and arg > len(data) - pos - 9:  # 9: the opcode and its uint8
                raise BadBinError(path, f"a frame at byte {pos} declares {arg} bytes but the file has "
                                        f"{len(data)}")
            if op.name in _MEMO_OPS and int(arg) > ops:  # picklers number memo entries 0, 1, 2, ...
                raise BadBinError(path, f"memo index {arg} at byte {pos} after only {ops} opcodes")
    except (ValueError, struct.error) as e:  # genops: a length past the end, a negative count,
        if isinstance(e, BadBinError):       # an unknown opcode, no STOP
            raise
        raise BadBinError(path, str(e)) from e


def _unpickle(path: Path):
    """The object in `path`, read with `RestrictedUnpickler` after `check_pickle_lengths`."""
    data = path.read_bytes()
    if not data:
        raise BadBinError(path, "the file is empty")
    check_pickle_lengths(data, path)
    try:
        return RestrictedUnpickler(io.BytesIO(data), str(path)).load()
    except UnsafePickleError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, struct.error) as e:
        raise BadBinError(path, repr(e)) from e
    except (MemoryError, OverflowError) as e:  # e.g. a numpy array of shape (2**62, 2**62)
        raise BadBinError(path, f"it declares an object larger than memory ({type(e).__name__})") from e


def _blob(b, i: int, path: Path) -> bytes:
    """Image `i` of a `.bin` as encoded bytes (bytes, bytearray or a uint8 numpy array)."""
    if isinstance(b, (bytes, bytearray)):
        return bytes(b)
    if isinstance(b, np.ndarray) and b.dtype in (np.uint8, np.int8):
        return b.tobytes()
    raise BadBinError(path, f"image {i} is {type(b).__name__}, expected encoded image bytes")


_BIN_FIX = "the .bin file is damaged: download it again"


def load_bin(path: str | Path, image_size: int | None = None) -> tuple[FaceDataset, Pairs]:
    """Read an insightface `.bin` set: (dataset of 2P images with labels -1, Pairs of 10 folds)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_bin: {path} does not exist; download the insightface .bin file.")
    obj = _unpickle(path)
    if not (isinstance(obj, (tuple, list)) and len(obj) == 2):
        raise ValueError(f"load_bin: {path} holds {type(obj).__name__}, expected (images, issame); "
                         "is it an insightface .bin verification file?")
    blobs, issame = obj
    if not isinstance(blobs, (list, tuple)) or not isinstance(issame, (list, tuple, np.ndarray)):
        raise BadBinError(path, f"it holds ({type(blobs).__name__}, {type(issame).__name__}), expected "
                                "(list of images, list of issame)")
    try:
        issame = np.asarray(issame, dtype=bool).reshape(-1)
    except (ValueError, TypeError) as e:
        raise BadBinError(path, f"issame is not a list of booleans ({e})") from e
    if not len(issame):
        raise BadBinError(path, "it holds no pairs")
    if len(blobs) != 2 * len(issame):
        raise ValueError(f"load_bin: {path} has {len(blobs)} images for {len(issame)} pairs "
                         f"(expected {2 * len(issame)}); the file is damaged: download it again.")
    images = torch.stack([decode_image(_blob(b, i, path), f"{path} image {i}", image_size, fix=_BIN_FIX)
                          for i, b in enumerate(blobs)])
    n = len(issame)
    fold = np.arange(n) * 10 // max(n, 1)  # 10 consecutive blocks
    pairs = Pairs(np.arange(n) * 2, np.arange(n) * 2 + 1, issame, fold)
    return FaceDataset(images, -np.ones(2 * n, np.int64), [], name=f"bin:{path.stem}"), pairs


RECORDIO_MAGIC = 0xCED7230A
_IR_HEADER = struct.Struct("<IfQQ")


class RecordIOReader:
    """Random access to an MXNet RecordIO `.rec` through its `.idx` (lines "key<TAB>offset")."""

    def __init__(self, rec: str | Path, idx: str | Path | None = None):
        self.rec = Path(rec)
        self.idx_path = Path(idx) if idx is not None else self.rec.with_suffix(".idx")
        for p in (self.rec, self.idx_path):
            if not p.is_file():
                raise FileNotFoundError(f"RecordIO: {p} does not exist; the .rec needs its .idx beside it.")
        self.size = self.rec.stat().st_size
        self.offsets = {}
        for n, line in enumerate(self.idx_path.read_text().splitlines(), 1):
            parts = line.split()
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise ValueError(f"RecordIO: {self.idx_path} line {n} is {line!r}, expected 'key<TAB>offset'; "
                                 "the index is damaged or truncated: download it again.")
            self.offsets[int(parts[0])] = int(parts[1])
        self._f, self._pid = None, None

    def keys(self) -> list[int]:
        return sorted(self.offsets)

    def read(self, key: int, limit: int | None = None) -> bytes:
        """The payload of record `key` (multi-part records joined); `limit`: only its first bytes.
        Each declared length is checked against the file size before it is read."""
        if key not in self.offsets:
            raise ValueError(f"RecordIO: {self.idx_path} has no record {key}; the .idx does not belong to "
                             f"{self.rec} or is truncated: download both again.")
        if self._f is None or self._pid != os.getpid():  # a forked DataLoader worker: its own file
            self._f, self._pid = open(self.rec, "rb"), os.getpid()
        fd = self._f.fileno()  # positional reads: no shared file offset to race on
        pos, out = self.offsets[key], []
        while True:
            head = os.pread(fd, 8, pos)
            if len(head) < 8:
                raise ValueError(f"RecordIO: {self.rec} is truncated: record {key} at byte {pos} runs past the "
                                 f"end ({self.size} bytes). Download the .rec again.")
            magic, word = struct.unpack("<II", head)
            if magic != RECORDIO_MAGIC:
                raise ValueError(f"RecordIO: {self.rec} has no record at byte {pos} (magic {magic:#x}); the "
                                 ".idx does not belong to this .rec, or the file is damaged.")
            cflag, length = word >> 29, word & ((1 << 29) - 1)
            if pos + 8 + length > self.size:
                raise ValueError(f"RecordIO: {self.rec} is truncated: record {key} needs {length} bytes at "
                                 f"byte {pos + 8}, only {max(self.size - pos - 8, 0)} remain. Download the "
                                 ".rec again.")
            out.append(os.pread(fd, length, pos + 8))
            if limit is not None and sum(map(len, out)) >= limit:
                return b"".join(out)[:limit]
            pos += 8 + length + (-length % 4)
            if cflag in (0, 3):
                break
        return struct.pack("<I", RECORDIO_MAGIC).join(out)

    def __getstate__(self):  # reopen the file in each DataLoader worker
        return {**self.__dict__, "_f": None, "_pid": None}


def unpack_record(payload: bytes, source: str = "record", partial: bool = False) -> tuple[np.ndarray, bytes]:
    """IRHeader + image bytes -> (labels float32 (k,), encoded image). `source` names the
    record in errors (e.g. "train.rec record 7"); `partial`: `payload` is only the record's
    first bytes, so labels past its end are left out."""
    if len(payload) < _IR_HEADER.size:
        raise _bad_record(source, f"{len(payload)} bytes, shorter than its {_IR_HEADER.size}-byte header")
    flag, label, _, _ = _IR_HEADER.unpack_from(payload)
    body = payload[_IR_HEADER.size:]
    if flag > 0:
        k = min(flag, len(body) // 4) if partial else flag
        if 4 * k > len(body) or k == 0:
            raise _bad_record(source, f"its header declares {flag} labels but only {len(body)} bytes follow")
        return np.frombuffer(body[:4 * k], dtype=np.float32).copy(), body[4 * k:]
    return np.array([label], np.float32), body


def _bad_record(source: str, why: str) -> ValueError:
    return ValueError(f"RecordIO: {source} is not an insightface record ({why}); the .rec is damaged or "
                      "truncated: download it again.")


def _record_label(reader: RecordIOReader, key: int) -> int:
    """The identity label of record `key`: a finite, non-negative whole number. Reads only the
    header and the first label."""
    source = f"{reader.rec} record {key}"
    labels, _ = unpack_record(reader.read(key, _IR_HEADER.size + 4), source, partial=True)
    value = float(labels[0])
    if not (np.isfinite(value) and 0 <= value < 2 ** 31 and value == int(value)):
        raise _bad_record(source, f"its label is {value}, not an identity number")
    return int(value)


class _RecordLoader:
    def __init__(self, reader: RecordIOReader, keys: np.ndarray, image_size: int | None):
        self.reader, self.keys, self.image_size = reader, keys, image_size

    def fingerprint(self) -> bytes:
        """What `fit_cached` keys a run on instead of the decoded images (hashing 0.5 M JPEGs
        would take longer than a lesson wants to wait): the .rec's size, the sha256 of its .idx
        and of its first and last MiB, the records read and the decode size. A .rec rewritten
        with other images of the same size and the same index would fool it; copying one does not."""
        import hashlib
        h = hashlib.sha256(f"rec {self.reader.size} {self.image_size}|".encode())
        h.update(self.reader.idx_path.read_bytes())
        h.update(np.asarray(self.keys, np.int64).tobytes())
        with open(self.reader.rec, "rb") as f:
            h.update(f.read(1 << 20))
            f.seek(max(self.reader.size - (1 << 20), 0))
            h.update(f.read())
        return h.digest()

    def __call__(self, i: int) -> torch.Tensor:
        key = int(self.keys[i])
        source = f"{self.reader.rec} record {key}"
        _, img = unpack_record(self.reader.read(key), source)
        return decode_image(img, source, self.image_size, fix="the .rec file is damaged: download it again")


def _image_keys(end: float, reader: RecordIOReader) -> list[int]:
    """Records 1 .. end-1 named by insightface's header record 0, all of which the .idx must list."""
    last = max(reader.offsets)
    if not (np.isfinite(end) and 2 <= end <= last + 1):
        raise _bad_record(f"{reader.rec} record 0", f"its header says the images end at record {end}, but "
                                                     f"{reader.idx_path} lists records up to {last}")
    keys = list(range(1, int(end)))
    missing = [k for k in keys if k not in reader.offsets]
    if missing:
        raise ValueError(f"RecordIO: {reader.idx_path} lacks {len(missing)} of the image records 1..{int(end) - 1} "
                         f"(first: {missing[0]}); the .idx is truncated: download it again.")
    return keys


def load_rec(rec: str | Path, idx: str | Path | None = None, image_size: int | None = None) -> FaceDataset:
    """A lazy FaceDataset over an insightface `.rec/.idx` (CASIA-WebFace, MS1M): images are
    decoded on access. Labels come from each record's header."""
    reader = RecordIOReader(rec, idx)
    keys = reader.keys()
    if not keys:
        raise ValueError(f"load_rec: {reader.idx_path} lists no records.")
    first_labels, _ = unpack_record(reader.read(keys[0]), f"{reader.rec} record {keys[0]}")
    if keys[0] == 0 and len(first_labels) >= 2:  # insightface header: images are 1..label[0]-1
        keys = _image_keys(first_labels[0], reader)
    labels = np.array([_record_label(reader, k) for k in keys], np.int64)
    ids = np.unique(labels)
    remap = np.searchsorted(ids, labels)
    return FaceDataset(None, remap, [str(i) for i in ids], {"record": np.array(keys)},
                       loader=_RecordLoader(reader, np.array(keys), image_size), name=f"rec:{Path(rec).stem}")


# ---- writers: pack faces the course prepared into insightface's formats ------------------------
#
# For a GPU box that trains from a `.rec` (`--recipe casia-arcface`, bench/gpu.py): e.g. LFW
# DevTrain as train.rec and its DevTest pairs as a .bin. The readers above read them back.

def _jpeg(image_u8: torch.Tensor, quality: int) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(image_u8.permute(1, 2, 0).contiguous().numpy()).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _write_record(f, fi, key: int, labels, payload: bytes) -> None:
    labels = np.atleast_1d(np.asarray(labels, np.float32))
    flag = 0 if len(labels) == 1 else len(labels)
    head = _IR_HEADER.pack(flag, float(labels[0]) if flag == 0 else 0.0, key, 0)
    parts = (head + (labels.tobytes() if flag else b"") + payload).split(struct.pack("<I", RECORDIO_MAGIC))
    fi.write(f"{key}\t{f.tell()}\n")
    for k, part in enumerate(parts):  # MXNet splits a payload at the magic into continued parts
        cflag = 0 if len(parts) == 1 else (1 if k == 0 else (3 if k == len(parts) - 1 else 2))
        f.write(struct.pack("<II", RECORDIO_MAGIC, (cflag << 29) | len(part)) + part)
        f.write(b"\0" * (-len(part) % 4))


def write_rec(rec: str | Path, images: torch.Tensor, labels, quality: int = 95) -> Path:
    """Write uint8 images (N, 3, H, W) with int labels as an insightface `.rec` + `.idx`: header
    record 0 (label = [first image record, end]), the images sorted by label as JPEG, then one
    record per identity (label = [its first record, end]), as insightface's `im2rec` lays them
    out. Written beside under temporary names and renamed, so an existing pair is only replaced
    whole. Returns the .rec path."""
    rec = Path(rec)
    labels = np.asarray(labels, np.int64)
    if images.dtype != torch.uint8 or images.ndim != 4 or len(images) != len(labels) or not len(labels):
        raise ValueError(f"write_rec: expected uint8 images (N, 3, H, W) and N labels, got "
                         f"{tuple(images.shape)} {images.dtype} and {len(labels)} labels")
    order = np.argsort(labels, kind="stable")
    ids, first = np.unique(labels[order], return_index=True)
    n = len(labels)
    tmp_rec, tmp_idx = rec.with_name(rec.name + ".partial"), rec.with_name(rec.stem + ".idx.partial")
    rec.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp_rec, "wb") as f, open(tmp_idx, "w") as fi:
        _write_record(f, fi, 0, [n + 1.0, n + 1.0 + len(ids)], b"")
        for key, i in enumerate(order, 1):
            _write_record(f, fi, key, float(labels[i]), _jpeg(images[i], quality))
        ends = list(first[1:]) + [n]
        for k, (start, end) in enumerate(zip(first, ends)):
            _write_record(f, fi, n + 1 + k, [start + 1.0, end + 1.0], b"")
    tmp_rec.replace(rec)
    tmp_idx.replace(rec.with_suffix(".idx"))
    return rec


def write_bin(path: str | Path, images: torch.Tensor, pairs: Pairs, quality: int = 95) -> Path:
    """Write verification pairs as an insightface `.bin` (JPEG images 2i, 2i+1 = pair i, and
    issame), from uint8 `images` (N, 3, H, W) and `pairs` indexing them. `load_bin` reads it back;
    its folds are 10 consecutive blocks, so order `pairs` fold by fold."""
    path = Path(path)
    blobs = []
    for a, b in zip(np.asarray(pairs.a), np.asarray(pairs.b)):
        blobs += [_jpeg(images[int(a)], quality), _jpeg(images[int(b)], quality)]
    issame = [bool(x) for x in np.asarray(pairs.issame)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as f:
        pickle.dump((blobs, issame), f, protocol=4)
    tmp.replace(path)
    return path


def make_tiny_insightface(folder: str | Path, identities: int = 8, per_identity: int = 6,
                          pairs: int = 40, size: int = 112, bins=("lfw", "cfp_fp"), seed: int = 0) -> Path:
    """A tiny insightface data folder of synthetic faces (`SyntheticFaces`) for tests and
    `bench/gpu.py --tiny`: ``train.rec``/``train.idx`` (`identities` x `per_identity` images) and,
    for each name in `bins`, ``<name>.bin`` with `pairs` pairs of other synthetic people (another
    seed). Returns `folder`."""
    from .pairs import make_pairs
    from .synthetic import SyntheticFaces
    folder = Path(folder)
    train = SyntheticFaces(identities, per_identity, image_size=size, seed=seed)
    write_rec(folder / "train.rec", train.images, train.labels.numpy())
    for k, name in enumerate(bins):
        test = SyntheticFaces(20, 3, image_size=size, seed=seed + 1000 + k)  # 10 disjoint folds
        p = make_pairs(test, pairs, seed=seed + k)
        order = np.argsort(p.fold, kind="stable")  # a .bin's folds are consecutive blocks
        write_bin(folder / f"{name}.bin", test.images, Pairs(p.a[order], p.b[order], p.issame[order], p.fold[order]))
    return folder
