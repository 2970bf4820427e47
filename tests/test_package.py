"""The flat re-exports lessons rely on."""
import importlib

import pytest

import facecourse


@pytest.mark.parametrize("sub", ["data", "models", "losses", "train", "eval", "viz"])
def test_every_subpackage_name_is_reachable_flat(sub):
    module = importlib.import_module(f"facecourse.{sub}")
    assert module.__all__, f"facecourse.{sub} exports nothing"
    for name in module.__all__:
        assert getattr(module, name) is not None, f"facecourse.{sub}.{name} is in __all__ but missing"
    shared = [n for n in module.__all__ if getattr(facecourse, n) is getattr(module, n)]
    assert shared, f"no name of facecourse.{sub} is re-exported flat"


def test_unknown_names_fail_as_attributes_do():
    with pytest.raises(AttributeError, match="no attribute 'not_a_thing'"):
        facecourse.not_a_thing


def test_flat_names_are_unique_across_subpackages():
    seen = {}
    for sub in ["data", "models", "losses", "train", "eval", "viz"]:
        for name in importlib.import_module(f"facecourse.{sub}").__all__:
            assert name not in seen, f"{name} is exported by both facecourse.{seen[name]} and .{sub}"
            seen[name] = sub
