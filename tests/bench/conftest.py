from pathlib import Path

import pytest

from facecourse.data import find_lfw


@pytest.fixture(scope="session")
def lfw_dir(need_data) -> Path:
    """The raw LFW folder (FACECOURSE_DATA or ../shared/data); required in CI."""
    return need_data(find_lfw(), "LFW")
