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


def synthetic_argv(checkpoint, *extra):
    return ["--checkpoint", str(checkpoint), "--data", "synthetic", "--protocol", "synthetic",
            "--num-identities", "20", "--images-per-identity", "3", "--num-pairs", "40",
            "--device", "cpu", *extra]


@pytest.fixture
def nan_checkpoint(tmp_path):
    """A checkpoint as a diverged run leaves it: NaN in a batch-norm running variance."""
    cfg = TrainConfig(model=ModelConfig(backbone="convnet", embedding_dim=8, image_size=32,
                                        width=0.25))
    state = create_backbone("convnet", embedding_dim=8, image_size=32, width=0.25).state_dict()
    state["neck.bn.running_var"][0] = float("nan")
    return save_checkpoint({"backbone": state, "config": cfg.to_dict()},
                           tmp_path / "diverged" / "checkpoint.pt")


def test_nan_embeddings_are_refused_naming_the_checkpoint(nan_checkpoint, capsys):
    assert main(synthetic_argv(nan_checkpoint)) == 2
    err = capsys.readouterr().err
    assert err == (f"error: the model produced NaN/Inf embeddings for 60 of 60 images of synthetic: the "
                   f"checkpoint {nan_checkpoint} is broken (e.g. saved from a diverged run); retrain or "
                   "use an earlier checkpoint\n")


@pytest.mark.parametrize("flag, value, message", [
    ("--num-pairs", "0", "--num-pairs must be at least 20 (one matched and one mismatched pair in each "
                         "of 10 folds), got 0"),
    ("--num-pairs", "-5", "--num-pairs must be at least 20"),
    ("--num-identities", "1", "--num-identities must be at least 20 (two people in each of 10 "
                              "identity-disjoint folds), got 1"),
    ("--images-per-identity", "1", "--images-per-identity must be at least 2 (a matched pair needs "
                                   "two images of one person), got 1"),
    ("--images-per-identity", "0", "--images-per-identity must be at least 2"),
    ("--batch-size", "0", "--batch-size must be at least 1, got 0"),
    ("--device", "gpu", "--device gpu is not a device; use --device cpu, cuda or cuda:N"),
])
def test_bad_option_values_exit_2_with_one_line(checkpoint, capsys, flag, value, message):
    assert main(synthetic_argv(checkpoint, flag, value)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_cuda_without_cuda(checkpoint, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(synthetic_argv(checkpoint, "--device", "cuda")) == 2
    assert capsys.readouterr().err == ("error: --device cuda but CUDA is not available here; "
                                       "use --device cpu\n")


def test_folder_with_a_corrupt_image_raise_or_skip(checkpoint, tmp_path, capsys):
    from facecourse.data import SyntheticFaces
    from PIL import Image
    faces = SyntheticFaces(20, 3, image_size=32, seed=3)
    root = tmp_path / "faces"
    for i in range(len(faces)):
        person = root / f"p{int(faces.labels[i]):02d}"
        person.mkdir(parents=True, exist_ok=True)
        Image.fromarray(faces.image_uint8(i).permute(1, 2, 0).numpy()).save(person / f"{i}.png")
    bad = root / "p00" / "broken.png"
    bad.write_bytes(b"not a png")
    argv = ["--checkpoint", str(checkpoint), "--data", str(root), "--protocol", "synthetic",
            "--num-pairs", "40", "--device", "cpu"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot decode image {bad}: not a known image format")
    assert "pass --on-error skip" in err and err.count("\n") == 1
    out = tmp_path / "eval.json"
    assert main([*argv, "--on-error", "skip", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "skipped 1 unreadable image(s)" in printed and f"  {bad}\n" in printed
    res = json.loads(out.read_text())
    assert res["num_images"] == 60 and res["skipped"] == [str(bad)]


def test_help_lists_on_error(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--on-error {raise,skip}" in capsys.readouterr().out
