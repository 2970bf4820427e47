"""Exercise notebooks from solution notebooks, nbgrader style, and the check helper.

Authors write complete notebooks in ``solutions/``. Inside a code cell, the lines between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` are the student's work; the generated copy in
``notebooks/`` replaces them, at the same indentation, with::

    # YOUR CODE HERE
    raise NotImplementedError()

Everything else is copied, outputs and execution counts stripped, so ``notebooks/`` is a pure
function of ``solutions/`` (a test regenerates it and compares).

A check cell wraps its asserts in :func:`check` (`facecourse.check`), which turns an unfilled
stub or a wrong answer into one clear message instead of a bare traceback; every lesson's
``## Exercises`` section uses it.

Rules for exercise cells (the tests rely on them): the exercise cell carries the tag
``exercise`` and the check cell after it the tag ``check``; both may use only what the cells
tagged ``setup`` (imports, the parameters cell) define, so each exercise can be checked
without running the lesson's training.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import re
import sys
from pathlib import Path

__all__ = ["make_exercise", "generate", "check", "ExerciseError", "REPO"]

REPO = Path(__file__).resolve().parents[2]  # the checkout: solutions/, notebooks/, runs/
BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
_MARK = re.compile(r"^(\s*)### (BEGIN|END) SOLUTION\s*$")


class ExerciseError(AssertionError):
    """A check cell failed: the message says which exercise and what to do."""


def _strip_solution(source: str, where: str) -> str:
    out, inside, indent = [], False, ""
    for n, line in enumerate(source.splitlines(), 1):
        m = _MARK.match(line)
        if m and m.group(2) == "BEGIN":
            if inside:
                raise ValueError(f"{where}, line {n}: {BEGIN} inside another solution block")
            inside, indent = True, m.group(1)
            out.extend(indent + s for s in STUB)
        elif m:
            if not inside:
                raise ValueError(f"{where}, line {n}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def make_exercise(nb: dict, where: str = "notebook") -> dict:
    """The student copy of a solution notebook (a JSON dict, as nbformat reads it)."""
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code":
            cell["source"] = _strip_solution(_source(cell), f"{where}, cell {i}")
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
    nb.setdefault("metadata", {}).pop("papermill", None)
    return nb


def dumps(nb: dict) -> str:
    """Canonical JSON for committed notebooks (what Jupyter writes: indent 1, sorted keys)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def generate(solutions: Path = REPO / "solutions", notebooks: Path = REPO / "notebooks",
             write: bool = True) -> dict[str, str]:
    """Generate ``notebooks/`` from ``solutions/``; returns {file name: text}."""
    out = {}
    for path in sorted(Path(solutions).glob("*.ipynb")):
        nb = json.loads(path.read_text())
        out[path.name] = dumps(make_exercise(nb, str(path)))
    if write:
        Path(notebooks).mkdir(parents=True, exist_ok=True)
        for stale in Path(notebooks).glob("*.ipynb"):
            if stale.name not in out:
                stale.unlink()
        for name, text in out.items():
            (Path(notebooks) / name).write_text(text)
    return out


@contextlib.contextmanager
def check(name: str, hint: str = ""):
    """Context manager for check cells: one readable verdict per exercise.

    >>> with check("softmax cross-entropy", hint="subtract the max before exp"):
    ...     assert 1 + 1 == 2
    """
    try:
        yield
    except NotImplementedError:
        raise ExerciseError(
            f"{name}: not done yet — replace the `# YOUR CODE HERE` / "
            f"`raise NotImplementedError()` lines in the exercise cell above, run it, "
            f"then run this check again." + (f" Hint: {hint}" if hint else "")
        ) from None
    except AssertionError as err:
        raise ExerciseError(
            f"{name}: not right yet — {err}" + (f" Hint: {hint}" if hint else "")
        ) from None
    print(f"✓ {name}: correct")


def exercises_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m facecourse exercises",
                                     description="Regenerate notebooks/ from solutions/.")
    parser.add_argument("--check", action="store_true",
                        help="only compare; exit 1 when notebooks/ differs from a fresh generation")
    args = parser.parse_args(argv)
    fresh = generate(write=not args.check)
    if args.check:
        nbdir = REPO / "notebooks"
        stale = [n for n, t in fresh.items()
                 if not (nbdir / n).exists() or (nbdir / n).read_text() != t]
        extra = sorted(p.name for p in nbdir.glob("*.ipynb") if p.name not in fresh)
        if stale or extra:
            print(f"notebooks/ is out of date: {stale + extra}; run `make exercises`",
                  file=sys.stderr)
            return 1
        print(f"notebooks/ matches solutions/ ({len(fresh)} notebooks)")
        return 0
    print(f"wrote {len(fresh)} exercise notebooks to notebooks/")
    return 0
