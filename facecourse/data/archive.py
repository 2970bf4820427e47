"""Safe archive extraction and checksum verification for downloaded data sets."""
from __future__ import annotations

import hashlib
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath


class ChecksumError(ValueError):
    """A downloaded file's checksum matches none of the known ones."""


def file_digest(path: str | Path, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_checksum(path: str | Path, known: dict[str, list[str]]) -> str:
    """Check `path` against known digests {"md5": [...], "sha256": [...]}; return the algorithm
    that matched. Raises ChecksumError naming the file, and never deletes or changes it."""
    got = {}
    for algorithm, digests in known.items():
        got[algorithm] = file_digest(path, algorithm)
        if got[algorithm] in digests:
            return algorithm
    shown = ", ".join(f"{a} {d}" for a, d in got.items())
    raise ChecksumError(f"checksum mismatch for {path}: got {shown}, expected one of {known}. "
                        "The download is incomplete or a different file: download it again (the file "
                        "was left in place), or pass --no-verify if you trust it.")


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    p = PurePosixPath(member.name)
    if p.is_absolute() or ".." in p.parts:
        raise ValueError(f"refusing to extract {archive}: member {member.name!r} would be written outside "
                         "the target folder (absolute path or '..'). The archive is damaged or hostile; "
                         "download it again from the official site.")
    if member.issym() or member.islnk():
        raise ValueError(f"refusing to extract {archive}: member {member.name!r} is a link; "
                         "face data archives hold only folders and images.")
    if not (member.isfile() or member.isdir()):
        raise ValueError(f"refusing to extract {archive}: member {member.name!r} is a {_kind(member)}, "
                         "not a regular file or a folder; face data archives hold only folders and images. "
                         "The archive is damaged or hostile: download it again from the official site.")


def _kind(member: tarfile.TarInfo) -> str:
    """What a special tar member is, in words."""
    if member.ischr():
        return "character device"
    if member.isblk():
        return "block device"
    if member.isfifo():
        return "FIFO (named pipe)"
    return f"special file (tar type {member.type!r})"


def _safe_extract_zip(archive: Path, target: Path, members) -> list[str]:
    """`safe_extract` for a .zip (e.g. the official LAG download): the same refusals."""
    with zipfile.ZipFile(archive) as zf:
        chosen = []
        for info in zf.infolist():
            kind = stat.S_IFMT(info.external_attr >> 16)  # unix file type; 0 when the zip records none
            fake = tarfile.TarInfo(info.filename)
            fake.type = (tarfile.DIRTYPE if info.is_dir() or kind == stat.S_IFDIR else
                         tarfile.REGTYPE if kind in (0, stat.S_IFREG) else
                         {stat.S_IFLNK: tarfile.SYMTYPE, stat.S_IFIFO: tarfile.FIFOTYPE,
                          stat.S_IFCHR: tarfile.CHRTYPE}.get(kind, tarfile.BLKTYPE))
            _check_member(fake, archive)
            if members is None or members(info.filename):
                chosen.append(info)
        target.mkdir(parents=True, exist_ok=True)
        for info in chosen:
            zf.extract(info, target)
    return [i.filename for i in chosen if not i.is_dir()]


def safe_extract(archive: str | Path, target: str | Path, members=None) -> list[str]:
    """Extract a tar(.gz) (with tarfile's "data" filter) or a .zip into `target`, after refusing
    any member with an absolute path, '..', a link, or a type other than regular file or folder (devices,
    FIFOs). Every member is checked before anything is written, so a refused archive leaves
    `target` untouched. `members`: optional predicate on member names. Returns the extracted
    file names."""
    archive, target = Path(archive), Path(target)
    if not archive.is_file():
        raise FileNotFoundError(f"archive {archive} does not exist; check the path you passed.")
    try:
        if zipfile.is_zipfile(archive):
            return _safe_extract_zip(archive, target, members)
        with tarfile.open(archive) as tar:
            chosen = []
            for m in tar.getmembers():
                _check_member(m, archive)
                if members is None or members(m.name):
                    chosen.append(m)
            target.mkdir(parents=True, exist_ok=True)
            tar.extractall(target, members=chosen, filter="data")
    except (tarfile.ReadError, zipfile.BadZipFile, EOFError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"cannot read archive {archive} ({e}); it is truncated or not a tar file: "
                         "download it again.") from e
    return [m.name for m in chosen if m.isfile()]
