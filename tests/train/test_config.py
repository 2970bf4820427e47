"""Configs: dict round trip, dotted overrides, validation messages, the CLI's layering."""
import json

import pytest

from facecourse.train import HeadConfig, TrainConfig
from facecourse.train.cli import build_config, main
from facecourse.train.config import apply_overrides, parse_value, validate
from facecourse.train.recipes import RECIPES, get_recipe


def test_round_trip_through_json():
    cfg = TrainConfig()
    cfg.optim.lr, cfg.head.s, cfg.data.sampler = 0.01, 30.0, "pk"
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.optim.betas == (0.9, 0.999)


def test_unknown_key_names_the_key_and_the_valid_ones():
    with pytest.raises(KeyError, match=r"unknown config key 'optim.lrr'.*momentum"):
        TrainConfig.from_dict({"optim": {"lrr": 1}})
    with pytest.raises(KeyError, match="unknown config key 'epoch'"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(TypeError, match="config model: expected a dict"):
        TrainConfig.from_dict({"model": 3})


def test_overrides_and_values():
    d = apply_overrides(TrainConfig().to_dict(), {"optim.lr": 0.5, "epochs": 2})
    assert d["optim"]["lr"] == 0.5 and d["epochs"] == 2
    assert TrainConfig().optim.lr == 0.1  # defaults untouched
    with pytest.raises(KeyError, match="'epochs' is not a config section"):
        apply_overrides(TrainConfig().to_dict(), {"epochs.x": 1})
    assert parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2] and parse_value("convnet") == "convnet"
    assert parse_value("None") is None and parse_value("null") is None


def test_head_kwargs_only_what_was_set():
    assert HeadConfig().kwargs() == {}
    assert HeadConfig(s=30.0, K=3, extra={"easy_margin": True}).kwargs() == {
        "s": 30.0, "k": 3, "easy_margin": True}


@pytest.mark.parametrize("override, message", [
    ({"objective": "softmax"}, "objective='softmax' is not one of classification"),
    ({"amp": "fp8"}, "amp='fp8' is not one of auto, off, bf16, fp16"),
    ({"objective": "triplet"}, "needs data.sampler='pk'"),
    ({"objective": "siamese"}, "needs data.sampler='pairs'"),
    ({"data.sampler": "pairs"}, "use it with objective=siamese"),
    ({"data.sampler": "pk", "data.P": 4, "data.K": 4}, "must equal data.P \\* data.K"),
    ({"batch_size": 1}, "batch_size=1: use at least 2"),
    ({"epochs": 0}, "epochs and max_steps are both <= 0"),
    ({"data.source": "lfw", "data.hold_out": "devtest"}, "data.hold_out='devtest': use '' .*'matched' or 'pairs'"),
    ({"data.hold_out": "pairs"}, "data.hold_out='pairs' is for data.source='lfw'.* not 'synthetic'"),
])
def test_validate_messages(override, message):
    cfg = TrainConfig.from_dict(apply_overrides(TrainConfig().to_dict(), override))
    with pytest.raises(ValueError, match=message):
        validate(cfg)


def _args(**kw):
    import argparse
    base = dict(config=None, recipe=None, set=[], out=None, resume=False)
    return argparse.Namespace(**{**base, **kw})


def test_cli_layers_recipe_then_file_then_set(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"optim": {"lr": 0.02}, "epochs": 3}))
    cfg = build_config(_args(recipe="synthetic-arcface", config=str(path),
                             set=["epochs=4", "head.m=0.3"], out=str(tmp_path / "run")))
    assert cfg.model.backbone == RECIPES["synthetic-arcface"]["model.backbone"]
    assert cfg.optim.lr == 0.02 and cfg.epochs == 4 and cfg.head.m == 0.3
    assert cfg.out_dir == str(tmp_path / "run") and cfg.resume is False
    assert build_config(_args()).out_dir.startswith("runs/train-custom-")


def test_cli_errors_name_the_argument(tmp_path, capsys):
    assert main(["--set", "optim.lr"]) == 2
    assert "--set 'optim.lr': write key=value" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "nope.json")]) == 2
    assert "--config" in capsys.readouterr().err
    assert main(["--resume"]) == 2
    assert "--resume needs --out DIR" in capsys.readouterr().err
    assert main(["--recipe", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown recipe 'nope'; known recipes:" in err and "synthetic-arcface" in err
    assert main(["--set", "optim.name=adam", "--out", str(tmp_path)]) == 2
    assert "optim.name='adam' is not one of sgd, adamw" in capsys.readouterr().err


def test_recipes_build_valid_configs():
    for name in RECIPES:
        validate(TrainConfig.from_dict(apply_overrides(TrainConfig().to_dict(), get_recipe(name))))
