"""`python -m facecourse eval` on a tiny checkpoint written in fit()'s format."""
import json

import pytest
import torch

import facecourse.data
from facecourse.eval.cli import format_table, main
from facecourse.models import create_backbone
from facecourse.train.checkpoint import save_checkpoint
from facecourse.train.config import ModelConfig, TrainConfig


@pytest.fixture
def checkpoint(tmp_path):
    cfg = TrainConfig(model=ModelConfig(backbone="convnet", embedding_dim=8, image_size=32,
                                        width=0.25))
    torch.manual_seed(0)
    backbone = create_backbone("convnet", embedding_dim=8, image_size=32, width=0.25)
    return save_checkpoint({"backbone": backbone.state_dict(), "config": cfg.to_dict()},
                           tmp_path / "run" / "checkpoint.pt")


@pytest.mark.skipif(not hasattr(facecourse.data, "SyntheticFaces"),
                    reason="facecourse.data does not export SyntheticFaces yet")
def test_synthetic_protocol_prints_table_and_writes_json(checkpoint, tmp_path, capsys):
    out = tmp_path / "res" / "eval.json"
    argv = ["--checkpoint", str(checkpoint), "--data", "synthetic", "--protocol", "synthetic",
            "--num-identities", "20", "--images-per-identity", "3", "--num-pairs", "40",
            "--flip", "--out", str(out), "--device", "cpu"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "acc_mean" in printed and "auc" in printed and f"wrote {out}" in printed
    res = json.loads(out.read_text())
    assert res["n_pairs"] == 40 and res["n_genuine"] == 20 and res["flip"] is True
    assert 0.0 <= res["auc"] <= 1.0 and len(res["thresholds"]) == 10
    assert res["n_probes"] == 60 and 0.0 <= res["rank1"] <= 1.0
    assert res["num_images"] == 60


def test_cli_errors(checkpoint, tmp_path, capsys):
    assert main(["--checkpoint", str(tmp_path / "missing.pt"), "--data", "synthetic",
                 "--protocol", "synthetic"]) == 2
    assert "missing.pt' does not exist" in capsys.readouterr().err
    assert main(["--checkpoint", str(checkpoint), "--data", "synthetic",
                 "--protocol", "view2"]) == 2
    assert "--protocol view2 is an LFW protocol" in capsys.readouterr().err
    assert main(["--checkpoint", str(checkpoint), "--data", str(tmp_path / "nowhere"),
                 "--protocol", "devtest"]) == 2
    assert "is not a prepared LFW folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--checkpoint", str(checkpoint), "--protocol", "view3"])


def test_format_table():
    text = format_table({"acc_mean": 0.99123, "auc": 0.5, "n_pairs": 6000, "rank1": 1.0})
    assert text.splitlines() == ["acc_mean  0.9912", "auc       0.5000", "rank1     1.0000"]
