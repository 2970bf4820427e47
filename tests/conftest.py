"""Shared test set-up: keep Jupyter, IPython, matplotlib and pip state inside .cache/."""
import os
from pathlib import Path

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
