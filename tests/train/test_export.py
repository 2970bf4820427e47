"""ONNX export: onnxruntime's embeddings equal torch's within 1e-4; the CLI round trip."""
import pytest
import torch
import torch.nn.functional as F

from facecourse.models import create_backbone
from facecourse.train import export_onnx, onnx_embeddings, save_checkpoint
from facecourse.train.cli import export_onnx_main, main

from _train_tiny import tiny_config


@pytest.mark.parametrize("name, size", [("convnet", 32), ("mobilefacenet", 32)])
def test_onnxruntime_matches_torch(tmp_path, name, size):
    torch.manual_seed(0)
    backbone = create_backbone(name, embedding_dim=32, image_size=size, width=0.25)
    with torch.no_grad():  # non-trivial BatchNorm statistics, as after training
        backbone(torch.randn(16, 3, size, size) * 2)
    backbone.train()  # export must switch to eval itself and restore the mode
    path = export_onnx(backbone, tmp_path / f"{name}.onnx", size)
    assert backbone.training
    images = torch.rand(5, 3, size, size) * 2 - 1  # a batch size other than the example's
    with torch.no_grad():
        expected = backbone.eval()(images)
    got = torch.from_numpy(onnx_embeddings(path, images))
    assert got.shape == (5, 32)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_train_then_export_onnx_cli(tmp_path, capsys):
    run = tmp_path / "run"
    sets = ["model.backbone=convnet", "model.image_size=32", "model.embedding_dim=16",
            "model.width=0.25", "data.num_identities=4", "data.images_per_identity=4",
            "batch_size=8", "max_steps=2", "progress=false", "device=cpu"]
    assert main(["--out", str(run), *[a for s in sets for a in ("--set", s)]]) == 0
    assert "done: 2 steps" in capsys.readouterr().out
    onnx_path = tmp_path / "model.onnx"
    assert export_onnx_main(["--checkpoint", str(run / "checkpoint.pt"),
                             "--out", str(onnx_path)]) == 0
    printed = capsys.readouterr().out
    assert "convnet, 32x32 -> 16" in printed
    assert float(printed.rsplit("= ", 1)[1]) < 1e-4  # the CLI's own torch-vs-ORT check

    from facecourse.models import backbone_from_checkpoint
    backbone, cfg = backbone_from_checkpoint(run / "checkpoint.pt")
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        expected = backbone(images)
    got = torch.from_numpy(onnx_embeddings(onnx_path, images))
    scale = expected.abs().max().item()  # un-normalized embeddings can be large
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * scale)
    torch.testing.assert_close(F.normalize(got, dim=1), F.normalize(expected, dim=1),
                               rtol=0, atol=1e-4)  # what verification compares


def test_export_errors_name_the_checkpoint(tmp_path, capsys):
    assert export_onnx_main(["--checkpoint", str(tmp_path / "none.pt"), "--out", "x.onnx"]) == 2
    assert "none.pt' does not exist" in capsys.readouterr().err
    cfg = tiny_config()
    save_checkpoint({"backbone": {"w": torch.ones(1)}, "config": cfg.to_dict()},
                    tmp_path / "odd.pt")
    assert export_onnx_main(["--checkpoint", str(tmp_path / "odd.pt"), "--out", "x.onnx"]) == 2
    assert "do not fit the backbone its config describes" in capsys.readouterr().err


def test_train_writes_the_card_and_export_carries_it(tmp_path, capsys):
    """The end of a synthetic run: model_card.json calibrated on held-out synthetic people
    (seed + 10000); export-onnx puts the same card into the file's metadata_props."""
    from facecourse.models.card import CARD_NAME, read_card
    from facecourse.train.export import onnx_card
    run = tmp_path / "run"
    sets = ["model.backbone=convnet", "model.image_size=32", "model.embedding_dim=16", "model.width=0.25",
            "data.num_identities=4", "data.images_per_identity=4", "batch_size=8", "max_steps=2",
            "progress=false", "device=cpu"]
    assert main(["--out", str(run), *[a for s in sets for a in ("--set", s)]]) == 0
    out = capsys.readouterr().out
    assert (f"model card: {run / CARD_NAME}; thresholds from 495,000 impostor pairs of held-out synthetic people "
            "(100 x 10 images, seed 10000; the model trained on seed 0) (resolution 2e-6):") in out
    card = read_card(run / CARD_NAME)
    assert [t.calibrated for t in card.calibration.thresholds] == [True, True, True]
    assert [t.impostors_above for t in card.calibration.thresholds] == [4950, 495, 49]
    assert card.training["steps"] == 2 and card.training["command"].startswith("python -m facecourse train --out")
    assert card.checkpoint["step"] == 2 and card.input_size == 32
    assert export_onnx_main(["--checkpoint", str(run / "checkpoint.pt"), "--out", str(tmp_path / "m.onnx")]) == 0
    assert capsys.readouterr().err == ""
    assert onnx_card(tmp_path / "m.onnx") == card


def test_export_without_a_card_warns_and_a_stale_card_is_refused(tmp_path, capsys):
    from facecourse.models.card import CARD_NAME, card_from_config, write_card
    from facecourse.train.export import onnx_card
    cfg = tiny_config()
    backbone = create_backbone("convnet", embedding_dim=cfg.model.embedding_dim, image_size=cfg.model.image_size,
                               width=cfg.model.width)
    ckpt = save_checkpoint({"backbone": backbone.state_dict(), "config": cfg.to_dict(), "step": 1},
                           tmp_path / "run" / "checkpoint.pt")
    assert export_onnx_main(["--checkpoint", str(ckpt), "--out", str(tmp_path / "m.onnx")]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {tmp_path / 'run' / CARD_NAME} is missing: the ONNX file carries a card "
                          "without thresholds, so verify/search cannot decide with it.")
    card = onnx_card(tmp_path / "m.onnx")
    assert card.calibration is None and card.input_size == cfg.model.image_size
    write_card(card_from_config(cfg.to_dict(), checkpoint={"weights": "0" * 20, "step": 0}), ckpt)
    assert export_onnx_main(["--checkpoint", str(ckpt), "--out", str(tmp_path / "n.onnx")]) == 2
    assert "describes other weights (step 0, digest 00000000000000000000)" in capsys.readouterr().err
