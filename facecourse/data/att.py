"""AT&T / ORL faces (Samaria & Harter 1994): 40 people x 10 greyscale 92x112 PGM images."""
from __future__ import annotations

import re
import tarfile
from pathlib import Path

import torch

from .dataset import FaceDataset
from .images import decode_image, read_image

_FIX = "the AT&T faces are damaged: download att_faces.tgz again (and extract it afresh)"
_MEMBER = re.compile(r"(?:^|/)s(\d+)/(\d+)\.pgm$")


def load_att(root: str | Path, image_size: int | None = None) -> FaceDataset:
    """AT&T faces from `att_faces.tgz` (read in memory, nothing extracted) or its extracted folder
    (`s1/1.pgm` ... `s40/10.pgm`). Greyscale becomes 3 channels; image_size=None keeps 112x92
    (H x W), an int centre-crops a square and resizes. Labels: s1 -> 0, ..., s40 -> 39."""
    root = Path(root)
    entries = []  # (person, image, loader)
    if root.is_file():
        try:
            with tarfile.open(root) as tar:
                for m in tar.getmembers():
                    hit = _MEMBER.search(m.name)
                    if hit and m.isfile():
                        data = tar.extractfile(m).read()
                        image = decode_image(data, f"{root}:{m.name}", image_size, _FIX)
                        entries.append((int(hit[1]), int(hit[2]), image))
        except (tarfile.ReadError, EOFError) as e:
            raise ValueError(f"load_att: cannot read {root} ({e}); it is truncated or not a tar file: "
                             "download att_faces.tgz again.") from e
    elif root.is_dir():
        for p in sorted(root.rglob("*.pgm")):
            hit = _MEMBER.search(p.as_posix())
            if hit:
                entries.append((int(hit[1]), int(hit[2]), read_image(p, image_size, _FIX)))
    else:
        raise FileNotFoundError(f"load_att: {root} does not exist; pass att_faces.tgz or its folder.")
    if not entries:
        raise ValueError(f"load_att: no sN/K.pgm images found in {root}; is this the AT&T faces archive?")
    entries.sort(key=lambda e: (e[0], e[1]))
    people = sorted({e[0] for e in entries})
    label = {p: i for i, p in enumerate(people)}
    return FaceDataset(torch.stack([e[2] for e in entries]), [label[e[0]] for e in entries],
                       [f"s{p}" for p in people], {"image_index": [e[1] for e in entries]}, name="att")
