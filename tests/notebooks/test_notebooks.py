"""The course's notebooks: structure, generated copies, exercises, and an end-to-end smoke run."""
from __future__ import annotations

import ast
import importlib
import json
import re
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


# Lesson 09 corrupts labels under control, which it can only do on faces it draws (issue 18).
SYNTHETIC_ONLY = {"09_noisy_labels"}
PRIVATE_READ = re.compile(r"default_cache_dir\(\)\s*/\s*[\"'](lfw|lag)|images_\d+\.npy|index\.json")


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_real_faces_come_through_the_public_call_and_carry_a_claim(path):
    """A lesson's real-face section loads LFW / LAG with `lesson_lfw` / `lesson_lag` (never a
    cache file) and ends in a claim about the real-face figures."""
    cells = [_src(c) for c in _load(path)["cells"] if c["cell_type"] == "code"]
    private = [m.group(0) for src in cells for m in PRIVATE_READ.finditer(src)]
    assert not private, f"{path.name} reads cache files ({private}): use lesson_lfw(profile)"
    if path.stem in SYNTHETIC_ONLY:
        return
    assert any("lesson_lfw(" in src or "lesson_lag(" in src for src in cells), \
        f"{path.name} has no real-face section (lesson_lfw(profile))"
    guarded = [src for src in cells if re.search(r"if (real|lag)\b.* is not None", src)]
    assert any("claim(" in src for src in guarded), \
        f"{path.name}: the real-face section asserts nothing: end it in a claim(...)"


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_runs_are_configured_through_lesson_config(path):
    """No lesson builds a TrainConfig by hand: `lesson_config` / `real_config` fill in what the
    profile knows (backbone, sizes, epochs, batch, device, AMP); a lesson changes fields."""
    code = [_src(c) for c in _load(path)["cells"] if c["cell_type"] == "code"]
    built = [line.strip() for src in code for line in src.splitlines()
             if re.search(r"\bTrainConfig\s*\(", line)]
    assert not built, f"{path.name} builds a TrainConfig by hand: {built[:2]}; use lesson_config(profile, ...)"


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


# --- Notebooks import, never redefine (STYLE habit 8): no library code in a lesson ---------------
# Outside the exercises (which re-implement package code on purpose, and check it against the
# package), a notebook's `def` is lesson glue: at most MAX_HELPER_LINES lines under its `def`
# (docstring, blank and comment lines not counted), and no run of more than
# MAX_COPIED_STATEMENTS statements may be a copy of package code, with the names changed or not.
# Code that two lessons need goes into the package, whose docstring names the lessons.
MAX_HELPER_LINES = 5
MAX_COPIED_STATEMENTS = 4
PACKAGE = REPO / "facecourse"


def _library_cells(nb):
    """(index, source) of the code cells that are lesson code: not exercises, not checks."""
    for i, cell in enumerate(nb["cells"]):
        source = _src(cell)
        if cell["cell_type"] == "code" and not _tags(cell) & {"exercise", "check"} \
                and "### BEGIN SOLUTION" not in source:
            yield i, _python(source)


def _functions(tree):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _without_docstring(body):
    has_doc = body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
        and isinstance(body[0].value.value, str)
    return body[1:] if has_doc else body


def _body_lines(fn, lines):
    """Lines of code under `def`: no docstring, no blank or comment-only line."""
    used = {n for stmt in _without_docstring(fn.body) for n in range(stmt.lineno, stmt.end_lineno + 1)}
    return sum(1 for n in used if lines[n - 1].strip() and not lines[n - 1].strip().startswith("#"))


class _Anonymous(ast.NodeTransformer):
    """Every name a placeholder, no docstrings or annotations: what is left is the code's shape
    (its calls, attributes, constants and control flow)."""

    def visit_Name(self, node):
        return ast.Name(id="_", ctx=node.ctx)

    def visit_arg(self, node):
        return ast.arg(arg="_")

    def _function(self, node):
        self.generic_visit(node)
        node.name, node.returns, node.decorator_list = "_", None, []
        node.body = _without_docstring(node.body) or [ast.Pass()]
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = _function


def _shape(stmt) -> str:
    import copy

    return ast.dump(_Anonymous().visit(copy.deepcopy(stmt)))


def _statements(stmt) -> int:
    return sum(isinstance(n, ast.stmt) for n in ast.walk(stmt))


def _blocks(tree):
    """Every statement list in `tree` (bodies of functions, loops, ifs, withs, trys), docstrings out."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield _without_docstring(block)
        for handler in getattr(node, "handlers", []):
            yield handler.body


def _runs(block, key, limit):
    """(start, key tuple) of the shortest run from each start with more than `limit` statements."""
    keys, sizes = [key(s) for s in block], [_statements(s) for s in block]
    for i in range(len(block)):
        total = 0
        for j in range(i, len(block)):
            total += sizes[j]
            if total > limit:
                yield i, tuple(keys[i:j + 1])
                break


def _package_runs() -> dict:
    runs = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for fn in _functions(tree):
            for block in _blocks(fn):
                for _, run in _runs(block, _shape, MAX_COPIED_STATEMENTS):
                    runs.setdefault(run, f"{path.relative_to(REPO)}:{fn.lineno} ({fn.name})")
    return runs


@pytest.fixture(scope="module")
def package_runs():
    return _package_runs()


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_notebook_helpers_are_short(path):
    """A helper of more than a few lines is library code: it belongs in the package."""
    long = []
    for i, source in _library_cells(_load(path)):
        lines = source.splitlines()
        for fn in _functions(ast.parse(source)):
            n = _body_lines(fn, lines)
            if n > MAX_HELPER_LINES:
                long.append(f"cell {i}: {fn.name} ({n} lines)")
    assert not long, (f"{path.name} defines helpers longer than {MAX_HELPER_LINES} lines: "
                      f"{'; '.join(long)}. Move what is general into the package (a documented, "
                      "tested function whose docstring names this lesson) and call it")


def _copies(source: str, package_runs: dict) -> list[str]:
    """Where `source` (a cell) repeats more than MAX_COPIED_STATEMENTS statements of package code."""
    tree, found = ast.parse(source), []
    for block in [tree.body] + list(_blocks(tree)):
        for start, run in _runs(block, _shape, MAX_COPIED_STATEMENTS):
            if run in package_runs:
                found.append(f"line {block[start].lineno}: {len(run)} statement(s) copied from "
                             f"{package_runs[run]}")
    return found


def test_a_renamed_copy_of_package_code_is_found(package_runs):
    from facecourse.viz import galleries

    tree = ast.parse(Path(galleries.__file__).read_text())
    fn = next(f for f in _functions(tree) if f.name == "relabel_gallery")
    fn.name, fn.body = "correction_gallery", fn.body[:1] + [ast.parse("print('mine')").body[0]] + fn.body[1:]
    for node in ast.walk(fn):  # rename every variable, as a copy-paste-and-tidy would
        if isinstance(node, ast.Name):
            node.id = f"my_{node.id}"
        elif isinstance(node, ast.arg):
            node.arg, node.annotation = f"my_{node.arg}", None
    copy = ast.unparse(fn)
    assert _copies(copy, package_runs), copy
    assert "galleries.py" in _copies(copy, package_runs)[0]
    assert not _copies("def f(x):\n    return x + 1\n", package_runs)


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_notebooks_carry_no_copy_of_package_code(path, package_runs):
    """Not even renamed: names are placeholders when notebook and package code are compared."""
    copies = [f"cell {i} {where}" for i, source in _library_cells(_load(path))
              for where in _copies(source, package_runs)]
    assert not copies, f"{path.name} carries package code: {'; '.join(copies)}; call it instead"


def test_no_two_lessons_share_a_block_of_code():
    """What two lessons both need moves into the package (d2l: one source of truth)."""
    seen, shared = {}, set()
    for path in SOLUTIONS:
        nb = _load(path)
        for i, source in _library_cells(nb):
            if _tags(nb["cells"][i]) & {"setup", "parameters"}:
                continue  # the skeleton every lesson shares on purpose
            tree = ast.parse(source)
            for block in [tree.body] + list(_blocks(tree)):
                body = [s for s in block if not isinstance(s, (ast.Import, ast.ImportFrom))]
                for start, run in _runs(body, ast.dump, MAX_COPIED_STATEMENTS):
                    where = f"{path.stem} cell {i}"
                    first = seen.setdefault(run, where)
                    if first.split()[0] != path.stem:
                        shared.add(f"{first} = {where}")
    assert not shared, (f"lessons share code (more than {MAX_COPIED_STATEMENTS} statements): "
                        f"{'; '.join(sorted(shared))}; move it into the package")


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
