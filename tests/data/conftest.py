import os
from pathlib import Path

import pytest

from facecourse.data import default_data_root, find_lfw


def _need(path, what):
    if path is None:
        msg = (f"{what} not found: set FACECOURSE_DATA or put the data in ../shared/data "
               "(see datasets/README.md)")
        if os.environ.get("CI"):
            pytest.fail(msg + " -- required in CI")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def lfw_dir() -> Path:
    return _need(find_lfw(), "LFW")


@pytest.fixture(scope="session")
def att_tgz() -> Path:
    root = default_data_root()
    path = root / "att_faces.tgz" if root is not None and (root / "att_faces.tgz").is_file() else None
    return _need(path, "att_faces.tgz")
