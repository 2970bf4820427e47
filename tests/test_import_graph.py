"""The package's layers import downwards only: data, models, losses and eval never import train.

`train` builds on the layers below it (it trains their models with their losses on their
data, and evaluates with `eval`); an import the other way round would tie a metric or a
backbone to the training loop. Every module is read with `ast`, so imports inside functions
count too, relative ones are resolved, and so are the flat names (`from facecourse import
fit` loads `facecourse.train` on first use).
"""
import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "facecourse"
LOWER = ("data", "models", "losses", "eval")  # the layers below facecourse.train
UPPER = "facecourse.train"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, train_names: set[str]):
    """(line, module) for every module `path` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: `from ..train import x` in facecourse/eval/cli.py
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            yield node.lineno, source
            for alias in node.names:  # `from facecourse import train` / `import fit` (flat)
                if source == "facecourse" and (alias.name == "train" or alias.name in train_names):
                    yield node.lineno, f"{UPPER} (facecourse.{alias.name})"
                else:
                    yield node.lineno, f"{source}.{alias.name}"
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value


def arrows_up(layers=LOWER) -> list[str]:
    train_names = set(importlib.import_module(UPPER).__all__)
    found = {}  # (file, line) -> the first train module that line imports
    for layer in layers:
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for line, module in imported_modules(path, train_names):
                if module == UPPER or module.startswith((UPPER + ".", UPPER + " ")):
                    found.setdefault((str(path.relative_to(PACKAGE.parent)), line), module)
    return [f"{file}:{line} imports {module}" for (file, line), module in sorted(found.items())]


def test_lower_layers_never_import_train():
    found = arrows_up()
    assert not found, ("these modules import facecourse.train, an arrow up the layers (move what "
                       "they need down, e.g. into facecourse.models.loading):\n  " + "\n  ".join(found))


@pytest.mark.parametrize("source, expected", [
    ("from facecourse.train.export import backbone_from_checkpoint", 1),
    ("def f():\n    from ..train import fit", 1),
    ("from .. import train", 1),
    ("import facecourse.train.config as c", 1),
    ("from facecourse import fit_cached, embed", 1),
    ("import importlib\nimportlib.import_module('facecourse.train.cli')", 1),
    ("from ..models import create_backbone\nfrom .embeddings import embed", 0),
    ("from facecourse import trainer_free_name", 0),
])
def test_the_check_sees_every_form_of_import(tmp_path, monkeypatch, source, expected):
    fake = tmp_path / "facecourse"
    (fake / "eval").mkdir(parents=True)
    (fake / "eval" / "probe.py").write_text(source + "\n")
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    found = arrows_up(("eval",))
    assert len(found) == expected, found
    assert all(f.startswith("facecourse/eval/probe.py:") for f in found)
