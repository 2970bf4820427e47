"""facecourse: the training, evaluation and data code behind the deep face recognition course.

Lessons import from here (``from facecourse import SyntheticFaces, fit, create_head``) or from
the subpackages. The names of ``facecourse.data``, ``.models``, ``.losses``, ``.train``,
``.eval`` and ``.viz`` are re-exported flat, and loaded on first use, so that
``import facecourse`` (and the CLI) stays quick.
"""
from __future__ import annotations

import importlib

from .course import check, claim, report
from .profiles import Profile, get_profile, list_profiles

__version__ = "0.1.0"

_SUBPACKAGES = ("data", "models", "losses", "train", "eval", "viz")
_EAGER = ["Profile", "get_profile", "list_profiles", "report", "claim", "check"]


def _lazy_names() -> dict[str, str]:
    """{exported name: subpackage} from each subpackage's __all__ (imports them once)."""
    names: dict[str, str] = {}
    for sub in _SUBPACKAGES:
        module = importlib.import_module(f"{__name__}.{sub}")
        for name in getattr(module, "__all__", []):
            names.setdefault(name, sub)
    return names


_LAZY: dict[str, str] | None = None


def __getattr__(name: str):
    global _LAZY
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    if name.startswith("__"):
        raise AttributeError(name)
    if _LAZY is None:
        _LAZY = _lazy_names()
    if name not in _LAZY:
        raise AttributeError(f"module 'facecourse' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY or _lazy_names()))


__all__ = _EAGER  # `from facecourse import *` gives the eager names; others by name
