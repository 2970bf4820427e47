"""insightface data files without mxnet: `.bin` verification sets and `.rec/.idx` RecordIO.

`.bin` (LFW, CFP-FP, AgeDB-30, CALFW, CPLFW as distributed with insightface): a pickle of
(list of encoded images, list of issame), image 2i and 2i+1 forming pair i, folds being 10
consecutive blocks (insightface's KFold without shuffling). Pickles can run code, so they are
read with `RestrictedUnpickler`, which accepts only the types these files contain.

`.rec/.idx` (CASIA-WebFace, MS1M): MXNet RecordIO. Each record: uint32 magic 0xced7230a, uint32
(cflag << 29 | length), payload padded to 4 bytes. The payload starts with IRHeader
`struct IfQQ` (flag, label, id, id2); flag > 0 means `flag` float32 labels follow. insightface
stores a header record 0 whose label gives (first identity record, end).
"""
from __future__ import annotations

import pickle
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


def load_bin(path: str | Path, image_size: int | None = None) -> tuple[FaceDataset, Pairs]:
    """Read an insightface `.bin` set: (dataset of 2P images with labels -1, Pairs of 10 folds)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_bin: {path} does not exist; download the insightface .bin file.")
    try:
        with open(path, "rb") as f:
            obj = RestrictedUnpickler(f, str(path)).load()
    except UnsafePickleError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError) as e:
        raise ValueError(f"load_bin: {path} is truncated or not an insightface .bin pickle ({e!r}); "
                         "download it again.") from e
    if not (isinstance(obj, (tuple, list)) and len(obj) == 2):
        raise ValueError(f"load_bin: {path} holds {type(obj).__name__}, expected (images, issame); "
                         "is it an insightface .bin verification file?")
    blobs, issame = obj
    issame = np.asarray(issame, dtype=bool)
    if len(blobs) != 2 * len(issame):
        raise ValueError(f"load_bin: {path} has {len(blobs)} images for {len(issame)} pairs "
                         f"(expected {2 * len(issame)}); the file is damaged: download it again.")
    images = torch.stack([decode_image(bytes(b), f"{path}[{i}]", image_size) for i, b in enumerate(blobs)])
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
        self._f = None

    def keys(self) -> list[int]:
        return sorted(self.offsets)

    def read(self, key: int, limit: int | None = None) -> bytes:
        """The payload of record `key` (multi-part records joined); `limit`: only its first bytes."""
        if self._f is None:
            self._f = open(self.rec, "rb")
        pos, out = self.offsets[key], []
        while True:
            self._f.seek(pos)
            head = self._f.read(8)
            if len(head) < 8:
                raise ValueError(f"RecordIO: {self.rec} is truncated: record {key} at byte {pos} runs past the "
                                 f"end ({self.size} bytes). Download the .rec again.")
            magic, word = struct.unpack("<II", head)
            if magic != RECORDIO_MAGIC:
                raise ValueError(f"RecordIO: {self.rec} has no record at byte {pos} (magic {magic:#x}); the "
                                 ".idx does not belong to this .rec, or the file is damaged.")
            cflag, length = word >> 29, word & ((1 << 29) - 1)
            data = self._f.read(length)
            if len(data) < length:
                raise ValueError(f"RecordIO: {self.rec} is truncated: record {key} needs {length} bytes at "
                                 f"byte {pos + 8}, only {len(data)} remain. Download the .rec again.")
            out.append(data)
            if limit is not None and sum(map(len, out)) >= limit:
                return b"".join(out)[:limit]
            pos += 8 + length + (-length % 4)
            if cflag in (0, 3):
                break
        return struct.pack("<I", RECORDIO_MAGIC).join(out)

    def __getstate__(self):  # reopen the file in each DataLoader worker
        return {**self.__dict__, "_f": None}


def unpack_record(payload: bytes) -> tuple[np.ndarray, bytes]:
    """IRHeader + image bytes -> (labels float32 (k,), encoded image)."""
    flag, label, _, _ = _IR_HEADER.unpack_from(payload)
    body = payload[_IR_HEADER.size:]
    if flag > 0:
        return np.frombuffer(body[:4 * flag], dtype=np.float32).copy(), body[4 * flag:]
    return np.array([label], np.float32), body


class _RecordLoader:
    def __init__(self, reader: RecordIOReader, keys: np.ndarray, image_size: int | None):
        self.reader, self.keys, self.image_size = reader, keys, image_size

    def __call__(self, i: int) -> torch.Tensor:
        key = int(self.keys[i])
        _, img = unpack_record(self.reader.read(key))
        return decode_image(img, f"{self.reader.rec}[{key}]", self.image_size)


def load_rec(rec: str | Path, idx: str | Path | None = None, image_size: int | None = None) -> FaceDataset:
    """A lazy FaceDataset over an insightface `.rec/.idx` (CASIA-WebFace, MS1M): images are
    decoded on access. Labels come from each record's header."""
    reader = RecordIOReader(rec, idx)
    keys = reader.keys()
    if not keys:
        raise ValueError(f"load_rec: {reader.idx_path} lists no records.")
    first_labels, _ = unpack_record(reader.read(keys[0]))
    if keys[0] == 0 and len(first_labels) >= 2:  # insightface header: images are 1..label[0]-1
        keys = list(range(1, int(first_labels[0])))
    head = _IR_HEADER.size + 4  # the header and the first label are all we need here
    labels = np.array([int(unpack_record(reader.read(k, head))[0][0]) for k in keys], np.int64)
    ids = np.unique(labels)
    remap = np.searchsorted(ids, labels)
    return FaceDataset(None, remap, [str(i) for i in ids], {"record": np.array(keys)},
                       loader=_RecordLoader(reader, np.array(keys), image_size), name=f"rec:{Path(rec).stem}")
