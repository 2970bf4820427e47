"""Labeled Faces in the Wild: checksums, pairs files, `prepare_lfw` (align + cache), `load_lfw`.

Huang, Ramesh, Berg, Learned-Miller, "Labeled Faces in the Wild: A Database for Studying Face
Recognition in Unconstrained Environments", UMass TR 07-49, 2007. View 1 (`pairsDevTrain.txt`,
`pairsDevTest.txt`) is for model development; View 2 (`pairs.txt`) is the 10-fold test protocol.

Lesson 00 shows an LFW photo (`lfw_photo`); every lesson's real-face section starts from the
LFW prepared here (`facecourse.lesson_lfw`).
"""
from __future__ import annotations

import json
import re
import shutil
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .aligner import align_faces
from .archive import safe_extract, verify_checksum
from .dataset import FaceDataset
from .pairs import Pairs
from .paths import default_cache_dir, find_lfw
from .prepared import _attach, read_prepared, write_prepared
from .staging import staged_folder

# official md5s (vis-www.cs.umass.edu/lfw) and sha256s of the repacked CI copy (../shared/data)
CHECKSUMS = {
    "lfw-deepfunneled.tgz": {"md5": ["68331da3eb755a505a502b5aacb3c201"],
                             "sha256": ["b3265d347b48c89a5bdaeea12878d7196087f598e40231ff10f3689f356a290e"]},
    "pairs.txt": {"md5": ["9f1ba174e4e1c508ff7cdf10ac338a7d"]},
    "pairsDevTrain.txt": {"md5": ["4f27cbf15b2da4a85c1907eb4181ad21"]},
    "pairsDevTest.txt": {"md5": ["5132f7440eb68cf58910c8a45a2ac10b"]},
    "people.txt": {"md5": ["450f0863dd89e85e73936a6d71a3474b"]},
    "peopleDevTrain.txt": {"md5": ["54eaac34beb6d042ed3a7d883e247a21"]},
    "peopleDevTest.txt": {"md5": ["e4bf5be0a43b5dcd9dc5ccfcb8fb19c5"]},
}
PAIRS_FILES = {"view2": "pairs.txt", "dev_train": "pairsDevTrain.txt", "dev_test": "pairsDevTest.txt"}
TEXT_FILES = ("pairs.txt", "pairsDevTrain.txt", "pairsDevTest.txt", "peopleDevTrain.txt", "peopleDevTest.txt")
_IMAGE = re.compile(r"^lfw-deepfunneled/([^/]+)/\1_(\d{4})\.jpg$")


def read_pairs(path: str | Path) -> tuple[list[tuple[str, int, str, int]], np.ndarray]:
    """Parse an LFW pairs file: ([(name1, i1, name2, i2)], fold (P,)). `pairs.txt` starts with
    "10 300" (10 folds of 300 matched then 300 mismatched); View 1 files with the count."""
    path = Path(path)
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    head = [int(x) for x in lines[0]]
    folds, n = (head[0], head[1]) if len(head) == 2 else (1, head[0])
    rows = []
    for k, parts in enumerate(lines[1:], start=2):
        if len(parts) == 3:
            rows.append((parts[0], int(parts[1]), parts[0], int(parts[2])))
        elif len(parts) == 4:
            rows.append((parts[0], int(parts[1]), parts[2], int(parts[3])))
        else:
            raise ValueError(f"{path} line {k}: {' '.join(parts)!r} is neither 'name i j' nor "
                             "'name1 i name2 j'; the file is damaged: download it again.")
    if len(rows) != 2 * folds * n:
        raise ValueError(f"{path}: header says {folds} x 2 x {n} pairs but the file has {len(rows)}; "
                         "it is truncated: download it again.")
    return rows, np.repeat(np.arange(folds), 2 * n)


def read_people(path: str | Path) -> list[tuple[str, int]]:
    """Parse `peopleDevTrain.txt` / `peopleDevTest.txt` / `people.txt`: [(name, image count)]."""
    return [(p[0], int(p[1])) for p in (ln.split() for ln in Path(path).read_text().splitlines()) if len(p) == 2]


def _source_files(source: Path) -> tuple[Path, Path]:
    """(archive or extracted folder, folder with the text files) for a source dir or tgz."""
    if source.is_file():
        return source, source.parent
    for cand in (source / "lfw-deepfunneled.tgz", source / "lfw-deepfunneled"):
        if cand.exists():
            return cand, source
    raise FileNotFoundError(f"prepare lfw: no lfw-deepfunneled.tgz (or extracted lfw-deepfunneled/) in "
                            f"{source}; download it as datasets/lfw.md describes.")


def lfw_inventory(archive: str | Path) -> dict[str, int]:
    """Images and identities listed in the tarball (fast: reads the member list only)."""
    names = [m.name for m in tarfile.open(archive).getmembers() if m.isfile()]
    hits = [h for h in map(_IMAGE.match, names) if h]
    return {"images": len(hits), "identities": len({h[1] for h in hits})}


def lfw_photo(name: str | None = None, source: str | Path | None = None):
    """``(name, image)``: an original LFW photo (deep-funneled, 250x250, RGB uint8 (H, W, 3)) of
    person `name` (None: the first person in the archive), read from the archive in `source`
    (default `find_lfw()`), or None when there is no LFW. Lesson 00 aligns it step by step."""
    from PIL import Image
    source = Path(source) if source is not None else find_lfw()
    if source is None:
        return None
    archive, _ = _source_files(source)
    if archive.is_dir():
        path = next(iter(sorted(archive.glob(f"{name or '*'}/*_0001.jpg"))), None)
        return None if path is None else (path.parent.name, np.asarray(Image.open(path).convert("RGB")))
    with tarfile.open(archive) as tar:  # stream: stop at the first match, no full index
        for member in tar:
            hit = _IMAGE.match(member.name) if member.isfile() else None
            if hit and (name is None or hit[1] == name):
                return hit[1], np.asarray(Image.open(tar.extractfile(member)).convert("RGB"))
    return None


_IMAGE_FIX = "the LFW archive is damaged: download lfw-deepfunneled.tgz again and prepare again"


def prepare_lfw(source: str | Path | None = None, out: str | Path | None = None, workers: int | None = None,
                names: list[str] | None = None, limit: int | None = None, verify: bool = True,
                sizes=(112, 64), progress: bool = True) -> Path:
    """Extract (safely), verify, detect and align LFW; write `images_<size>.npy` uint8
    (N, 3, size, size), `index.json` (files, labels, names, landmarks, fallbacks, dropped_pairs)
    and the pairs files into `out` (default `<cache>/lfw`). `names`/`limit`: only these / the
    first `limit` people (sorted), for quick tests; pairs naming anyone else are dropped and
    counted in `index.json` and `LFW.dropped_pairs`. Returns `out`.

    Everything is written into a staging folder beside `out` and swapped in only once it loads
    (`facecourse.data.staging`): if anything fails, an earlier `out` is left exactly as it was.
    The extracted `out/raw/` is reused when it came from the same archive."""
    source = Path(source) if source is not None else find_lfw()
    if source is None or not source.exists():
        raise FileNotFoundError(f"prepare lfw: source {source} not found; download LFW (datasets/lfw.md) and "
                                "pass its folder, or set FACECOURSE_DATA.")
    archive, text_dir = _source_files(source)
    out = Path(out) if out is not None else default_cache_dir() / "lfw"
    t0 = time.time()
    for fname in TEXT_FILES:
        if not (text_dir / fname).is_file():
            raise FileNotFoundError(f"prepare lfw: {text_dir / fname} is missing; download it from the LFW site.")
    if verify:
        for p in [archive] * archive.is_file() + [text_dir / f for f in TEXT_FILES]:
            verify_checksum(p, CHECKSUMS[p.name])
    wanted = set(names) if names else None
    with staged_folder(out, carry=("raw",)) as tmp:
        folder = _extracted(archive, out, tmp, wanted) if archive.is_file() else archive
        people = sorted(p.name for p in (folder.iterdir() if folder.is_dir() else [])
                        if p.is_dir() and (wanted is None or p.name in wanted))
        if limit is not None:
            people = people[:limit]
        files = [f for person in people for f in sorted((folder / person).glob("*.jpg"))]
        if not files:
            raise ValueError(f"prepare lfw: no images found under {folder} for the chosen people.")
        rel = [f.relative_to(folder).as_posix() for f in files]
        complete = wanted is None and limit is None
        dropped = _check_pairs(text_dir, {f: i for i, f in enumerate(rel)}, complete, out)  # before aligning
        aligned = align_faces(files, sizes, workers, progress, fix=_IMAGE_FIX, desc="align LFW")
        label_of = {p: i for i, p in enumerate(people)}
        write_prepared(tmp, "lfw", aligned, rel, [label_of[f.parent.name] for f in files], people,
                       complete=complete, dropped_pairs=dropped, seconds=round(time.time() - t0, 1))
        for fname in TEXT_FILES:
            shutil.copyfile(text_dir / fname, tmp / fname)
        load_lfw(tmp, image_size=sizes[0])  # it must load before it replaces `out`
    return out


def _extracted(archive: Path, out: Path, tmp: Path, wanted: set[str] | None) -> Path:
    """The extracted `lfw-deepfunneled/` folder: `out/raw/` when an earlier prepare extracted it
    from this very archive (same name, size and time) with every wanted person, else a fresh
    safe extraction into `tmp/raw/` (the staging folder: it replaces the old cache on success)."""
    st = archive.stat()
    stamp = {"archive": archive.name, "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    marker = out / "raw" / ".extracted.json"
    if marker.is_file():
        got = json.loads(marker.read_text())
        has_all = got.get("names") is None or (wanted is not None and wanted <= set(got["names"]))
        if all(got.get(k) == v for k, v in stamp.items()) and has_all:
            return out / "raw" / "lfw-deepfunneled"

    def keep(member: str) -> bool:
        parts = member.split("/")
        return wanted is None or (len(parts) > 1 and parts[1] in wanted) or len(parts) == 1
    safe_extract(archive, tmp / "raw", keep)
    stamp["names"] = sorted(wanted) if wanted is not None else None
    (tmp / "raw" / ".extracted.json").write_text(json.dumps(stamp))
    return tmp / "raw" / "lfw-deepfunneled"


def _check_pairs(text_dir: Path, index_of: dict, strict: bool, out: Path) -> dict[str, int]:
    """Pairs of each protocol that name people left out: {"view2": n, "dev_train": n, "dev_test": n}.
    With every person (`strict`), a pair naming a missing image is an error."""
    try:
        return {attr: _pairs_for(text_dir / fname, index_of, strict)[1] for attr, fname in PAIRS_FILES.items()}
    except ValueError as e:
        raise ValueError(f"prepare lfw: {e} Nothing was changed in {out}.") from e


@dataclass
class LFW:
    """Prepared LFW: `dataset` (all images), `view2` (6,000 pairs, 10 folds), `dev_train` and
    `dev_test` (View 1), identity lists, the images that fell back to a centre crop, and per
    protocol the pairs left out because they name people a `--limit`/`names=` prepare skipped."""
    dataset: FaceDataset
    view2: Pairs
    dev_train: Pairs
    dev_test: Pairs
    devtrain_identities: list[str]
    devtest_identities: list[str]
    fallbacks: list[str] = field(default_factory=list)
    dropped_pairs: dict[str, int] = field(default_factory=dict)  # pairs naming people not prepared

    def devtrain(self, hold_out: str = "") -> FaceDataset:
        """The images of DevTrain identities (disjoint from DevTest's), to train on: image i
        is `dataset`'s image `devtrain_indices(hold_out)[i]`."""
        return self.dataset.subset(self.devtrain_indices(hold_out))

    def devtrain_indices(self, hold_out: str = "") -> np.ndarray:
        """Indices into `dataset` of the images of DevTrain identities, in dataset order, less
        the photos of View 1's DevTrain pairs that `hold_out` names: "matched" those of the
        matched pairs (1,973 of the 9,525), "pairs" those of every pair (3,443), "people" every
        photo of the `validation_people` (909), "" none. A threshold chosen on those pairs
        (`threshold_pairs`) is then chosen on photos the model never trained on (with "matched"
        and "pairs", a person with other photos still trains on them)."""
        _check_hold_out(hold_out)
        keep = set(self.devtrain_identities)
        names = self.dataset.identity_names
        labels = self.dataset.labels.numpy()
        rows = np.flatnonzero([names[c] in keep for c in labels])
        p = self.dev_train
        if hold_out == "people":
            return rows[~np.isin(labels[rows], self.validation_people())]
        pairs = np.ones(len(p), bool) if hold_out == "pairs" else np.asarray(p.issame, bool)
        if hold_out:
            rows = np.setdiff1d(rows, np.r_[p.a[pairs], p.b[pairs]])
        return rows

    def validation_people(self) -> np.ndarray:
        """Labels of the DevTrain people each of whose photos is in a DevTrain matched pair
        (402 people with 909 photos in full LFW, most of them with 2): leaving them out of
        training (hold_out="people") costs a tenth of the photos and leaves their 504 matched
        pairs as pairs of people the model never saw, as DevTest's are."""
        p, labels = self.dev_train, self.dataset.labels.numpy()
        same = np.asarray(p.issame, bool)
        in_pairs = np.zeros(len(labels), bool)
        in_pairs[np.r_[p.a[same], p.b[same]]] = True
        people = np.unique(labels[p.a[same]])
        return np.array([c for c in people if in_pairs[labels == c].all()], dtype=labels.dtype)

    def threshold_pairs(self, hold_out: str = "") -> np.ndarray:
        """Which DevTrain pairs choose the View 1 threshold, as a mask over `dev_train`: every
        pair, except with hold_out="people": the matched pairs of the `validation_people` and
        every mismatched pair (`view1_metrics` weighs the two kinds equally, as DevTest's 500 +
        500 are). Mismatched pairs may use photos the model trained on: a convnet trained on every
        DevTrain photo scored them as it scored new people's (mean cosine -0.002 against 0.011 on
        DevTest, bench/results/lfw.json "scratch_convnet_4stage_dropout04_50ep")."""
        _check_hold_out(hold_out)
        p = self.dev_train
        same = np.asarray(p.issame, bool)
        if hold_out != "people":
            return np.ones(len(p), bool)
        held = np.isin(self.dataset.labels.numpy()[p.a], self.validation_people())
        return ~same | (same & held)


HOLD_OUT = ("", "matched", "pairs", "people")  # LFW.devtrain(hold_out=...): which DevTrain pair photos stay out


def _check_hold_out(hold_out: str) -> None:
    if hold_out not in HOLD_OUT:
        raise ValueError(f"hold_out={hold_out!r}: use one of {', '.join(map(repr, HOLD_OUT))}")


def _pairs_for(path: Path, index_of: dict, strict: bool) -> tuple[Pairs, int]:
    """The pairs of `path` as indices into the prepared images, and how many were dropped
    because they name an image not prepared (an error when `strict`)."""
    rows, fold = read_pairs(path)
    a, b, same, keep = [], [], [], []
    for k, (n1, i1, n2, i2) in enumerate(rows):
        f1, f2 = f"{n1}/{n1}_{i1:04d}.jpg", f"{n2}/{n2}_{i2:04d}.jpg"
        missing = [f for f in (f1, f2) if f not in index_of]
        if missing:
            if strict:
                raise ValueError(f"{path}: pair {k + 1} names {missing[0]}, which is not in the prepared "
                                 "images; the pairs file and the image archive do not match. Prepare again "
                                 "from the official files (datasets/lfw.md).")
            continue
        a.append(index_of[f1]), b.append(index_of[f2]), same.append(n1 == n2), keep.append(fold[k])
    pairs = Pairs(np.array(a, np.int64), np.array(b, np.int64), np.array(same, bool), np.array(keep, np.int64))
    return pairs, len(rows) - len(a)


def load_lfw(root: str | Path | None = None, image_size: int = 112, mmap: bool = True) -> LFW:
    """Load prepared LFW (see `prepare_lfw`) from `root` (default `<cache>/lfw`)."""
    root = Path(root) if root is not None else default_cache_dir() / "lfw"
    index_file = root / "index.json"
    if not index_file.is_file():
        raise FileNotFoundError(f"load_lfw: {root} is not a prepared LFW folder (no index.json). Run "
                                f"`python -m facecourse.data prepare lfw <folder with lfw-deepfunneled.tgz> "
                                f"--out {root}` first.")
    index, images, meta = read_prepared(root, image_size, mmap, what="load_lfw")
    ds = _attach(FaceDataset(images, index["labels"], index["names"], meta, name="lfw"), index, root)
    index_of = {f: i for i, f in enumerate(index["files"])}
    strict = bool(index["complete"])
    pairs = {attr: _pairs_for(root / fname, index_of, strict) for attr, fname in PAIRS_FILES.items()}
    return LFW(ds, pairs["view2"][0], pairs["dev_train"][0], pairs["dev_test"][0],
               [n for n, _ in read_people(root / "peopleDevTrain.txt")],
               [n for n, _ in read_people(root / "peopleDevTest.txt")], index["fallbacks"],
               {attr: n for attr, (_, n) in pairs.items()})
