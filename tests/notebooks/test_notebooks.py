"""The course's notebooks: structure, generated copies, exercises, and an end-to-end smoke run."""
from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

from facecourse.course.exercises import ExerciseError, generate, make_exercise

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
NAMES = [p.stem for p in SOLUTIONS]
SUBPACKAGES = ["facecourse", "facecourse.data", "facecourse.models", "facecourse.losses",
               "facecourse.train", "facecourse.eval", "facecourse.viz"]


def _load(path):
    return json.loads(Path(path).read_text())


def _src(cell):
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def _tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def _python(source):
    """Cell source without IPython magics / shell escapes, for ast and exec."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def test_there_are_lessons():
    assert NAMES and NAMES[0] == "00_tour", NAMES


def test_notebooks_dir_is_a_fresh_generation_of_solutions():
    fresh = generate(write=False)
    committed = {p.name: p.read_text() for p in (REPO / "notebooks").glob("*.ipynb")}
    assert set(committed) == set(fresh), "notebooks/ and solutions/ list different lessons: run `make exercises`"
    stale = [n for n in fresh if committed[n] != fresh[n]]
    assert not stale, f"{stale} drifted from solutions/: run `make exercises`"


@pytest.mark.parametrize("path", SOLUTIONS + sorted((REPO / "notebooks").glob("*.ipynb")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebooks_carry_no_outputs(path):
    for i, cell in enumerate(_load(path)["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, \
                f"{path.name} cell {i} has outputs: strip them (Kernel > Restart & Clear Output)"


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_skeleton_title_goals_parameters_exercises(path):
    cells = _load(path)["cells"]
    assert cells[0]["cell_type"] == "markdown" and _src(cells[0]).startswith("# "), "title first"
    head = "\n".join(_src(c) for c in cells[:3] if c["cell_type"] == "markdown").lower()
    assert "learning goals" in head or "you will" in head, "learning goals near the top"
    params = [c for c in cells if "parameters" in _tags(c)]
    assert len(params) == 1, "exactly one cell tagged `parameters`"
    names = {t.id for node in ast.walk(ast.parse(_python(_src(params[0]))))
             if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}
    assert {"PROFILE", "SEED"} <= names
    assert 'PROFILE = "laptop"' in _src(params[0])
    assert any(c["cell_type"] == "markdown" and _src(c).startswith("## Exercises")
               for c in cells), "a `## Exercises` section"
    exercises = [c for c in cells if "exercise" in _tags(c)]
    assert exercises, "at least one exercise"
    for c in exercises:
        assert "### BEGIN SOLUTION" in _src(c)


def _exported():
    names = {}
    for mod in SUBPACKAGES:
        m = importlib.import_module(mod)
        for n in getattr(m, "__all__", []):
            names[n] = mod
    return names


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_notebooks_import_rather_than_redefine(path):
    exported = _exported()
    for i, cell in enumerate(_load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse(_python(_src(cell)))):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in exported:
                pytest.fail(f"{path.name} cell {i} redefines {node.name}, which "
                            f"{exported[node.name]} exports: import it instead")


def _exercise_pairs(nb):
    cells = nb["cells"]
    setup = [_src(c) for c in cells if _tags(c) & {"setup", "parameters"}]
    pairs = []
    for i, c in enumerate(cells):
        if "exercise" in _tags(c):
            checks = [d for d in cells[i + 1:] if d["cell_type"] == "code"][:1]
            assert checks and "check" in _tags(checks[0]), \
                f"cell {i}: the code cell after an exercise must be its check (tag `check`)"
            pairs.append((i, _src(c), _src(checks[0])))
    return setup, pairs


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_each_check_passes_on_solution_and_explains_the_stub(path, monkeypatch):
    monkeypatch.setenv("FACECOURSE_PROFILE", "smoke")
    nb = _load(path)
    stub_nb = make_exercise(nb)
    setup, pairs = _exercise_pairs(nb)
    _, stub_pairs = _exercise_pairs(stub_nb)
    for (i, solution, check), (_, stub, _) in zip(pairs, stub_pairs):
        ns = {"__name__": "__main__"}
        for s in setup:
            exec(compile(_python(s), f"{path.name}:setup", "exec"), ns)
        exec(compile(_python(stub), f"{path.name}:{i}:stub", "exec"), ns)
        with pytest.raises(ExerciseError, match="not done yet"):
            exec(compile(_python(check), f"{path.name}:{i}:check", "exec"), ns)
        exec(compile(_python(solution), f"{path.name}:{i}", "exec"), ns)
        exec(compile(_python(check), f"{path.name}:{i}:check", "exec"), ns)
