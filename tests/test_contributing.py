"""CONTRIBUTING.md's contracts match the code: every call it shows names a real function or
class of the package, with parameters (or fields) that exist.

A contract such as `fit(cfg, train_set=None, *, backbone=None, teacher=None)` is parsed: the
name must resolve in its section's subpackage (or facecourse itself), and each argument name
must be a parameter of the signature, or a field/attribute for a class shown with its fields.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEXT = (REPO / "CONTRIBUTING.md").read_text()
# names the file quotes from elsewhere (torch, sklearn, the standard library, shell commands)
FOREIGN = {"torch", "sklearn", "np", "asdict", "dataclasses", "tarfile", "python", "make",
           "pytest", "os", "F", "nn"}
# instances the contracts call by their variable names
INSTANCES = {"cfg", "lfw", "pfc", "head", "center_loss", "loss", "self", "model", "extra_loss"}
CALL = re.compile(r"`((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)\(([^`]*)`")


def _sections():
    """(line number, section module or None, code span text) for each contract call."""
    module = None
    out = []
    for k, line in enumerate(TEXT.splitlines(), start=1):
        heading = re.match(r"###\s+(facecourse(?:\.\w+)?)", line)
        if heading:
            module = heading.group(1)
        elif line.startswith("## "):
            module = None
        if module is None:
            continue
        for m in CALL.finditer(line):
            out.append((k, module, m.group(1), _first_call(m.group(2))))
    return out



def _first_call(text: str) -> str:
    """The arguments of the first call in a code span: `f(a, b) -> (c, d)` gives 'a, b'."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        if ch in ")]}":
            if depth == 0:
                return text[:i]
            depth -= 1
    return text


def _method(module: str, name: str):
    """A method or attribute `name` of a class the section's module exports (`subset`,
    `target_logit`), for contracts that show methods by their bare name."""
    mod = importlib.import_module(module)
    for export in getattr(mod, "__all__", []):
        cls = getattr(mod, export, None)
        if inspect.isclass(cls) and name in vars(cls) or (inspect.isclass(cls) and any(
                name in vars(base) for base in cls.__mro__[1:-1])):
            return getattr(cls, name)
    return None


def _resolve(module: str, dotted: str):
    parts = dotted.split(".")
    for root in (module, "facecourse"):
        obj = importlib.import_module(root)
        try:
            for p in parts:
                obj = getattr(obj, p)
            return obj
        except AttributeError:
            continue
    if parts[0] == "facecourse":
        obj = importlib.import_module("facecourse")
        for p in parts[1:]:
            obj = getattr(obj, p, None) or importlib.import_module(f"{obj.__name__}.{p}")
        return obj
    return _method(module, parts[-1]) if len(parts) == 1 else None


def _arg_names(text: str) -> list[str]:
    """Keyword and plain argument names of a shown call; shapes, values and `...` are skipped."""
    names, depth, cur = [], 0, ""
    for ch in text + ",":
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            arg = cur.strip()
            cur = ""
            m = re.match(r"^\*{0,2}([A-Za-z_]\w*)\s*(=|$)", arg)
            if m and not arg.startswith("*"):
                names.append(m.group(1))
            continue
        cur += ch
    return names


CALLS = _sections()


def test_the_contracts_show_calls():
    assert len(CALLS) > 40, "the parser found too few contract calls"


@pytest.mark.parametrize("line, module, name, args", CALLS,
                         ids=[f"L{c[0]}-{c[2]}" for c in CALLS])
def test_each_contract_call_matches_the_code(line, module, name, args):
    if name.split(".")[0] in FOREIGN | INSTANCES:
        pytest.skip("not a package name")
    obj = _resolve(module, name)
    assert obj is not None, (f"CONTRIBUTING.md line {line} shows `{name}(...)` under {module}, "
                             "which the package does not have: fix the text or the code")
    if not callable(obj):
        return
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params.values())
    fields = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
    for arg in _arg_names(args):
        ok = arg in params or arg in fields or takes_any or (inspect.isclass(obj) and hasattr(obj, arg))
        assert ok, (f"CONTRIBUTING.md line {line}: `{name}` has no parameter or field {arg!r} "
                    f"(it takes {', '.join(params)})")
