"""Large Age-Gap (LAG): real cross-age faces, `prepare_lag`, `load_lag`, LFW-aware splits.

Bianco, "Large Age-Gap Face Verification by Feature Injection in Deep Networks", Pattern
Recognition Letters 90, 2017. `lag/<person>/*.png` are adult photos and `lag/<person>/y/*.png`
the same person as a child or young person; tight 100x100 colour crops, not aligned. Academic,
non-commercial use only, no redistribution: nothing of it (images or its list of people) is
ever written into the repository; everything here reads the archive at run time.

Alignment is LFW's (`align_faces`), with the crop padded by 40 % of its side first (a tight crop
gives the HOG detector no room around the face); a crop where no face is found becomes a centre
crop of the padded image, listed in `LAG.fallbacks` and `meta["fallback"]`.

LAG and LFW share people (celebrities): `lfw_overlap` finds them (names match
case-insensitively, `adriana_lima` ~ `Adriana_Lima`) and `LAG.split` keeps LFW DevTrain people
out of LAG test and LFW DevTest people out of LAG train. Taught in lesson 06.
"""
from __future__ import annotations

import shutil
import tarfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .aligner import align_faces
from .archive import ChecksumError, file_digest, safe_extract
from .dataset import FaceDataset
from .paths import default_cache_dir, find_lag, find_lfw
from .prepared import _attach, read_prepared, write_prepared
from .staging import staged_folder

# sha256 of the repacked CI copy (../shared/data/lag-dev.tgz, 515 of the 1,010 people). The
# official zips (100x100 and 200x200, see datasets/lag.md) have none on record yet: an archive
# that matches nothing known is prepared with a warning that prints its sha256.
SHA256 = {"lag-dev.tgz": "e1fc6d13b0c20ee5826a7b0c986cad092b23c7d29a2b073f460a3a58a62ab795"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
PAD = 0.4  # border added before detection, as a fraction of the crop's side
_FIX = "the LAG archive is damaged: download it again (datasets/lag.md) and prepare again"


def _member_names(source: Path) -> list[str]:
    """File names in an archive (.tgz / .zip) or under a folder, '/'-separated."""
    if source.is_dir():
        return [p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()]
    try:
        if zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as zf:
                return [i.filename for i in zf.infolist() if not i.is_dir()]
        with tarfile.open(source) as tar:
            return [m.name for m in tar.getmembers() if m.isfile()]
    except (tarfile.ReadError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(f"LAG: cannot read {source} ({e}); it is truncated or not an archive: download "
                         "it again (datasets/lag.md).") from e


def _parse(name: str) -> tuple[str, str, bool] | None:
    """(top folder, person, young) of an image path `top/<person>/[y/]<file>`, else None."""
    parts = name.split("/")
    if not name.lower().endswith(IMAGE_SUFFIXES) or len(parts) < 2:
        return None
    young = len(parts) >= 3 and parts[-2] == "y"
    person_at = -3 if young else -2
    return "/".join(parts[:len(parts) + person_at]), parts[person_at], young


def lag_inventory(source: str | Path) -> dict[str, tuple[int, int]]:
    """{person: (young images, adult images)} of a LAG archive or folder, from its file list
    only (nothing decoded). Raises when the layout is not `<top>/<person>/[y/]<image>`."""
    source = Path(source)
    counts: dict[str, list[int]] = {}
    tops = set()
    for name in _member_names(source):
        hit = _parse(name)
        if hit:
            tops.add(hit[0])
            counts.setdefault(hit[1], [0, 0])[0 if hit[2] else 1] += 1
    if not counts or len(tops) != 1:
        raise ValueError(f"LAG: {source} does not hold one folder of <person>/*.png and <person>/y/*.png "
                         f"images (found {len(counts)} people under {len(tops)} top folders); is this the "
                         "LAG database (datasets/lag.md)?")
    return {p: (y, a) for p, (y, a) in sorted(counts.items())}


def _check_sha256(archive: Path) -> str:
    digest = file_digest(archive)
    if digest in SHA256.values():
        return digest
    if archive.name in SHA256:
        raise ChecksumError(f"checksum mismatch for {archive}: got sha256 {digest}, expected "
                            f"{SHA256[archive.name]}. The download is incomplete or a different file: "
                            "download it again (the file was left in place), or pass --no-verify if you trust it.")
    warnings.warn(f"prepare lag: no checksum on record for {archive.name} (sha256 {digest}); preparing it "
                  "unverified. Compare it with datasets/lag.md.", stacklevel=3)
    return digest


def prepare_lag(source: str | Path | None = None, out: str | Path | None = None, sizes=(112, 64),
                workers: int | None = None, progress: bool = True, names: list[str] | None = None,
                verify: bool = True, pad: float = PAD) -> Path:
    """Extract (safely), verify, detect and align LAG into `out` (default `<cache>/lag`):
    `images_<size>.npy`, `labels.npy`, `index.json` (files, landmarks, faces found per image,
    fallbacks, `meta["young"]`). `source`: the archive (.tgz / .zip) or its extracted folder
    (default `find_lag()`); `names`: only these people (quick tests). Every image is kept: where
    no face is found in the padded crop, a centre crop of it is used and listed. Written
    through a staging folder; an earlier `out` is replaced only once the new one loads."""
    source = Path(source) if source is not None else find_lag()
    if source is None or not source.exists():
        raise FileNotFoundError(f"prepare lag: source {source} not found; download LAG (datasets/lag.md) "
                                "and pass the archive, or put it in FACECOURSE_DATA.")
    out = Path(out) if out is not None else default_cache_dir() / "lag"
    t0 = time.time()
    inventory = lag_inventory(source)
    wanted = set(names) if names is not None else None
    if wanted is not None and not wanted & set(inventory):
        raise ValueError(f"prepare lag: none of the {len(wanted)} names asked for is a person of {source}.")
    digest = _check_sha256(source) if verify and source.is_file() else None
    with staged_folder(out) as tmp:
        if source.is_file():
            safe_extract(source, tmp / "raw", lambda n: bool(_parse(n)) and (
                wanted is None or _parse(n)[1] in wanted))
            folder = tmp / "raw"
        else:
            folder = source
        rows = []  # (person, young, <person>/[y/]<file>, path under `folder`): adults first
        for n in _member_names(folder):
            if (hit := _parse(n)) and (wanted is None or hit[1] in wanted):
                rows.append((hit[1], hit[2], n[len(hit[0]) + 1:] if hit[0] else n, n))
        rows.sort()
        aligned = align_faces([folder / n for *_, n in rows], sizes, workers, progress, pad=pad,
                              fix=_FIX, desc="align LAG")
        people = sorted({p for p, *_ in rows})
        label_of = {p: i for i, p in enumerate(people)}
        files = [f for _, _, f, _ in rows]
        write_prepared(tmp, "lag", aligned, files, [label_of[p] for p, *_ in rows], people,
                       meta={"young": [y for _, y, *_ in rows]}, sha256=digest, seconds=round(time.time() - t0, 1))
        shutil.rmtree(tmp / "raw", ignore_errors=True)  # the crops are all we keep
        load_lag(tmp, image_size=sizes[0])  # it must load before it replaces `out`
    return out


@dataclass
class LFWOverlap:
    """The LAG people who are also LFW people, by LAG name: `devtrain` (in LFW's
    peopleDevTrain.txt) and `devtest` (in peopleDevTest.txt)."""
    devtrain: list[str]
    devtest: list[str]


def _names(people) -> list[str]:
    """Names from a people file path, a list of names or of (name, count) rows, or a LAG."""
    from .lfw import read_people
    if isinstance(people, (str, Path)):
        return [n for n, _ in read_people(people)]
    if isinstance(people, LAG):
        return people.people
    if isinstance(people, FaceDataset):
        return people.identity_names
    return [p if isinstance(p, str) else p[0] for p in people]


def _lfw_people_file(name: str) -> Path:
    for root in (find_lfw(), default_cache_dir() / "lfw"):
        if root is not None and (root / name).is_file():
            return root / name
    raise FileNotFoundError(f"lfw_overlap: no LFW {name} found (FACECOURSE_DATA/lfw or a prepared "
                            "<cache>/lfw); pass LFW's people lists.")


def lfw_overlap(lag, devtrain=None, devtest=None) -> LFWOverlap:
    """The people of `lag` (a LAG, its dataset, or names) who are LFW DevTrain / DevTest
    people, names compared case-insensitively. `devtrain`, `devtest`: LFW's
    peopleDevTrain.txt / peopleDevTest.txt (paths), their names or `read_people` rows
    (`LFW.devtrain_identities` works); None reads them from the LFW copy (`find_lfw`) or the
    prepared LFW cache."""
    ours = _names(lag)
    out = []
    for given, fname in ((devtrain, "peopleDevTrain.txt"), (devtest, "peopleDevTest.txt")):
        theirs = {n.casefold() for n in _names(given if given is not None else _lfw_people_file(fname))}
        out.append([n for n in ours if n.casefold() in theirs])
    return LFWOverlap(*out)


def split_people(people, test_fraction: float = 0.5, seed: int = 0, not_in_test=(), not_in_train=(),
                 lfw: LFWOverlap | None = None) -> tuple[list[str], list[str]]:
    """Identity-disjoint (train people, test people) of LAG.

    people: a LAG, or {name: (young images, adult images)} (`lag_inventory`); only people
        with both a young and an adult image take part (a cross-age pair needs both).
    not_in_test: people who go to train (e.g. the LFW DevTrain people a stage-1 model trained
        on: a test person must be new to the model under test). not_in_train: people who go
        to test (e.g. LFW DevTest people: no image of theirs may train a model whose LFW DevTest
        figure is reported). A person in both goes to neither. `lfw`: an `LFWOverlap`, adding
        its devtrain to not_in_test and its devtest to not_in_train. Names are compared
        case-insensitively. The other people are dealt at random (seed) so that test holds
        round(test_fraction x people) of them where the forced ones allow."""
    counts = people.counts() if isinstance(people, LAG) else dict(people)
    eligible = sorted(p for p, (y, a) in counts.items() if y > 0 and a > 0)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"split_people: test_fraction must be in (0, 1), got {test_fraction}.")
    no_test = {n.casefold() for n in not_in_test} | {n.casefold() for n in (lfw.devtrain if lfw else ())}
    no_train = {n.casefold() for n in not_in_train} | {n.casefold() for n in (lfw.devtest if lfw else ())}
    to_train = [p for p in eligible if p.casefold() in no_test and p.casefold() not in no_train]
    to_test = [p for p in eligible if p.casefold() in no_train and p.casefold() not in no_test]
    free = [p for p in eligible if p.casefold() not in no_test | no_train]
    free = [free[i] for i in np.random.default_rng([seed, 18]).permutation(len(free))]
    n_free_test = int(np.clip(round(test_fraction * len(eligible)) - len(to_test), 0, len(free)))
    train, test = sorted(to_train + free[n_free_test:]), sorted(to_test + free[:n_free_test])
    if not train or not test:
        raise ValueError(f"split_people: {len(eligible)} people with young and adult images give "
                         f"{len(train)} train and {len(test)} test people; each side needs one.")
    return train, test


@dataclass
class LAG:
    """Prepared LAG: `dataset` (every image; `meta["young"]`, `meta["fallback"]`,
    `meta["num_faces"]`; identity names as in the archive), the images that fell back to a
    centre crop and those in which several faces were found."""
    dataset: FaceDataset
    fallbacks: list[str] = field(default_factory=list)
    multi_face: list[str] = field(default_factory=list)

    @property
    def people(self) -> list[str]:
        return self.dataset.identity_names

    def counts(self) -> dict[str, tuple[int, int]]:
        """{person: (young images, adult images)}."""
        labels, young = self.dataset.labels.numpy(), self.dataset.meta["young"]
        y = np.bincount(labels[young], minlength=len(self.people))
        a = np.bincount(labels[~young], minlength=len(self.people))
        return {p: (int(y[i]), int(a[i])) for i, p in enumerate(self.people)}

    def lfw_overlap(self, devtrain=None, devtest=None) -> LFWOverlap:
        """`lfw_overlap(self, devtrain, devtest)`."""
        return lfw_overlap(self, devtrain, devtest)

    def split(self, test_fraction: float = 0.5, seed: int = 0, not_in_test=(), not_in_train=(),
              lfw: LFWOverlap | None = None) -> tuple[list[str], list[str]]:
        """(train people, test people): `split_people(self, ...)`."""
        return split_people(self, test_fraction, seed, not_in_test, not_in_train, lfw)

    def subset(self, people) -> FaceDataset:
        """The images of `people` (names), labels re-numbered in name order."""
        keep = {self.people.index(p) for p in people}
        return self.dataset.subset(np.flatnonzero(np.isin(self.dataset.labels.numpy(), sorted(keep))))


def load_lag(root: str | Path | None = None, image_size: int = 112, mmap: bool = True) -> LAG:
    """Load prepared LAG (see `prepare_lag`) from `root` (default `<cache>/lag`)."""
    root = Path(root) if root is not None else default_cache_dir() / "lag"
    if not (root / "index.json").is_file():
        raise FileNotFoundError(f"load_lag: {root} is not a prepared LAG folder (no index.json). Run "
                                f"`python -m facecourse.data prepare lag <lag archive> --out {root}` first.")
    index, images, meta = read_prepared(root, image_size, mmap, what="load_lag")
    if "young" not in meta:
        raise ValueError(f"load_lag: {root} was not prepared by `prepare lag` (no meta['young']).")
    meta["young"] = meta["young"].astype(bool)
    ds = _attach(FaceDataset(images, index["labels"], index["names"], meta, name="lag"), index, root)
    return LAG(ds, index["fallbacks"], [f for f, _ in index["multi_face"]])
