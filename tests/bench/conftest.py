import os
from pathlib import Path

import pytest

from facecourse.data import find_lfw


@pytest.fixture(scope="session")
def lfw_dir() -> Path:
    """The raw LFW folder (FACECOURSE_DATA or ../shared/data); required in CI."""
    path = find_lfw()
    if path is None:
        msg = "LFW not found: set FACECOURSE_DATA or put it in ../shared/data (datasets/lfw.md)"
        if os.environ.get("CI"):
            pytest.fail(msg + " -- required in CI")
        pytest.skip(msg)
    return path
