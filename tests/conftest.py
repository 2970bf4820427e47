"""Shared test set-up: keep Jupyter, IPython, matplotlib and pip state inside .cache/."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"

for var, sub in {
    "IPYTHONDIR": "ipython",
    "JUPYTER_CONFIG_DIR": "jupyter/config",
    "JUPYTER_DATA_DIR": "jupyter/data",
    "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
    "MPLCONFIGDIR": "matplotlib",
    "XDG_CACHE_HOME": "xdg",
    "PIP_CACHE_DIR": "pip",
}.items():
    os.environ.setdefault(var, str(CACHE / sub))
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
os.environ.pop("MPLBACKEND", None)  # kernels started by the tests pick the inline backend

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # this process draws off-screen


def _need(found, what):
    """`found`, or skip (locally) / fail (in CI, where ../shared/data is always there) saying
    what is missing: the tests that need real data never download it."""
    if found is None:
        msg = (f"{what} not found: set FACECOURSE_DATA or put the data in ../shared/data "
               "(see datasets/README.md)")
        if os.environ.get("CI"):
            pytest.fail(msg + " -- required in CI")
        pytest.skip(msg)
    return found


@pytest.fixture(scope="session")
def need_data():
    """`need_data(found, what)`: `found`, or skip locally / fail in CI naming `what`."""
    return _need
