"""`report(**figures)` and `claim(text, holds)`: how a lesson publishes its key numbers.

Every lesson (00 to 11) ends its run with them: `claim` checks the claim the lesson teaches,
`report` publishes the figures behind it (both are `facecourse.report` / `facecourse.claim`).

A notebook calls ``report(tar_at_far_1e3=0.81, auc=0.97)`` once per result. The figures are
shown as a small table in the notebook, kept in :data:`REPORTED` for the rest of the run, and,
when ``FACECOURSE_REPORT`` names a file (the course runner and the tests set it), merged into
that JSON file so that ``runs/<timestamp>/summary.json`` and the tests can read them.
"""
from __future__ import annotations

import json
import math
import numbers
import os
from pathlib import Path

__all__ = ["report", "claim", "REPORTED", "load_report"]

REPORTED: dict[str, object] = {}


def _plain(value):
    """Tensors, numpy scalars and arrays -> JSON-friendly Python values."""
    if hasattr(value, "tolist"):  # torch.Tensor, np.ndarray, np.generic
        value = value.tolist()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    raise TypeError(f"report(): cannot record a value of type {type(value).__name__}")


def report(**figures) -> dict:
    """Record and show a lesson's key figures; returns what was recorded."""
    if not figures:
        raise TypeError("report() needs at least one name=value figure")
    plain = {name: _plain(v) for name, v in figures.items()}
    REPORTED.update(plain)
    width = max(len(n) for n in plain)
    for name, value in plain.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"  {name:<{width}}  {shown}")
    target = os.environ.get("FACECOURSE_REPORT")
    if target:
        path = Path(target)
        old = load_report(path)
        old.update(plain)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(old, indent=2, sort_keys=True))
        tmp.replace(path)
    return plain


def load_report(path) -> dict:
    """The figures recorded so far in ``path`` ({} when it does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not a report file ({err}); delete it and run again") from err


def claim(text: str, holds, *, strict: bool = True, **figures) -> bool:
    """Check the claim a lesson teaches, in its own run, and record the verdict.

    ``claim("ArcFace beats softmax at FAR=1e-3", tar_arc > tar_soft, strict=profile.strict,
    tar_arc=tar_arc, tar_soft=tar_soft)`` reports the figures, records
    ``claims[text] = True/False`` and, when ``strict`` (the laptop and gpu profiles), raises an
    AssertionError if the claim does not hold. In the smoke profile (tiny data, seconds of
    training) a claim that fails is shown but not enforced.
    """
    holds = bool(holds)
    if figures:
        report(**figures)
    claims = dict(REPORTED.get("claims") or {})
    claims[text] = holds
    report(claims=claims)
    if holds:
        print(f"CLAIM HOLDS: {text}")
    elif strict:
        raise AssertionError(f"claim does not hold in this run: {text} (figures: {figures})")
    else:
        print(f"claim not met in this small run (not enforced outside strict profiles): {text}")
    return holds
