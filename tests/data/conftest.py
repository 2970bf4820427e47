from pathlib import Path

import pytest

from facecourse.data import default_data_root, find_lfw


@pytest.fixture(scope="session")
def lfw_dir(need_data) -> Path:
    return need_data(find_lfw(), "LFW")


@pytest.fixture(scope="session")
def att_tgz(need_data) -> Path:
    root = default_data_root()
    path = root / "att_faces.tgz" if root is not None and (root / "att_faces.tgz").is_file() else None
    return need_data(path, "att_faces.tgz")


@pytest.fixture(scope="session")
def lag_tgz(need_data) -> Path:
    from facecourse.data import find_lag
    path = find_lag()
    return need_data(path if path is not None and path.is_file() else None, "lag-dev.tgz (LAG)")


@pytest.fixture(scope="session")
def lfw_people_files(lfw_dir) -> tuple[Path, Path]:
    return lfw_dir / "peopleDevTrain.txt", lfw_dir / "peopleDevTest.txt"


def write_fake_lag(path: Path, people: dict, size: int = 100) -> Path:
    """A tiny LAG-shaped tgz (not LAG: flat colour crops, so no face is found): `lag/README.txt`,
    `lag/<person>/a<k>.png` adult and `lag/<person>/y/y<k>.png` young images; `people` maps a
    name to (young, adult) counts."""
    import io
    import tarfile

    from PIL import Image

    def add(tar, name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        add(tar, "lag/README.txt", b"a fake Large Age-Gap database for tests\n")
        for p, (name, (young, adult)) in enumerate(people.items()):
            for kind, count in (("y/y", young), ("a", adult)):
                for k in range(count):
                    buf = io.BytesIO()
                    colour = (20 * p % 256, 40 * k % 256, 200 if kind == "a" else 50)
                    Image.new("RGB", (size, size), colour).save(buf, "PNG")
                    add(tar, f"lag/{name}/{kind}{k}.png", buf.getvalue())
    return path


@pytest.fixture
def fake_lag(tmp_path):
    """`fake_lag(people, name="lag-fake.tgz")` writes a fake LAG tgz into tmp_path."""
    return lambda people, name="lag-fake.tgz": write_fake_lag(tmp_path / "src" / name, people)
