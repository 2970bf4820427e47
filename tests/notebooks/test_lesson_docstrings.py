"""Each package module a lesson imports from names that lesson in its docstring, so a reader
of the package finds where it is taught (and a newcomer sees which lessons a change touches)."""
import ast
import importlib
import inspect
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FEW = 4  # a module used by at most this many lessons names each; others say "lesson(s)" at least
EVERY = re.compile(r"\bevery lesson\b|\ball (the )?lessons\b", re.IGNORECASE)  # ... or "every lesson"


def _lesson_imports() -> dict[str, set[str]]:
    """{defining module: lessons that import a name of it}."""
    used = defaultdict(set)
    for path in sorted((REPO / "solutions").glob("*.ipynb")):
        lesson = path.name[:2]
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("facecourse"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    obj = getattr(module, alias.name)
                    home = obj if inspect.ismodule(obj) else inspect.getmodule(obj)
                    if home is not None and home.__name__.startswith("facecourse"):
                        used[home.__name__].add(lesson)
    return used


def _named(doc: str) -> set[str]:
    """Lesson numbers a docstring names: '06', '01-03' / '01–03' (ranges), '00-11'."""
    found = set(re.findall(r"\b(0\d|1[01])\b", doc))
    for a, b in re.findall(r"\b(\d\d)\s*[-–]\s*(\d\d)\b", doc):
        found |= {f"{n:02d}" for n in range(int(a), int(b) + 1)}
    return found


def test_modules_name_the_lessons_that_import_them():
    used = _lesson_imports()
    assert len(used) > 30  # the scan finds the lessons' imports
    missing = []
    for name, lessons in sorted(used.items()):
        doc = sys.modules[name].__doc__ or ""
        if not re.search(r"\blessons?\b", doc, re.IGNORECASE):
            missing.append(f"{name}: no lesson named (imported by lessons {sorted(lessons)})")
        elif len(lessons) <= FEW and not lessons <= _named(doc) and not EVERY.search(doc):
            missing.append(f"{name}: imported by lessons {sorted(lessons)}, its docstring names "
                           f"{sorted(_named(doc) & set(map('{:02d}'.format, range(12))))}")
    assert not missing, "add 'Taught in lesson NN (...)' to these docstrings:\n" + "\n".join(missing)


def test_lesson_numbers_are_read_from_ranges():
    assert _named("lessons 01-03 and 08") == {"01", "02", "03", "08"}
    assert _named("Lesson 06 (cross-age); lessons 10–11") == {"06", "10", "11"}
