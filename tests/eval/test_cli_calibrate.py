"""`python -m facecourse eval --calibrate`: the model card it writes, and the cards it refuses."""
import json
import shutil

import pytest
import torch

from facecourse.eval.cli import main
from facecourse.models import create_backbone
from facecourse.models.card import CARD_NAME, read_card, weights_digest
from facecourse.train.checkpoint import save_checkpoint
from facecourse.train.config import ModelConfig, TrainConfig


def checkpoint_at(folder, size=32):
    cfg = TrainConfig(model=ModelConfig(backbone="convnet", embedding_dim=8, image_size=size, width=0.25))
    torch.manual_seed(0)
    backbone = create_backbone("convnet", embedding_dim=8, image_size=size, width=0.25)
    return save_checkpoint({"backbone": backbone.state_dict(), "config": cfg.to_dict(), "step": 3},
                           folder / "checkpoint.pt"), backbone


def synthetic(ckpt, *extra):
    return ["--checkpoint", str(ckpt), "--data", "synthetic", "--protocol", "synthetic", "--num-identities",
            "20", "--images-per-identity", "3", "--num-pairs", "40", "--device", "cpu", *extra]


def test_calibrate_writes_the_card(tmp_path, capsys):
    ckpt, backbone = checkpoint_at(tmp_path / "run")
    assert main(synthetic(ckpt)) == 0  # without --calibrate: says how to make a card, writes none
    assert (f"note: {tmp_path / 'run' / CARD_NAME} is missing; `python -m facecourse eval --checkpoint {ckpt} "
            "--calibrate`") in capsys.readouterr().out
    assert not (tmp_path / "run" / CARD_NAME).exists()
    assert main(synthetic(ckpt, "--calibrate")) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index(next(line for line in out if line.startswith("model card: ")))
    assert out[at] == (f"model card: {tmp_path / 'run' / CARD_NAME}; thresholds from 1,710 impostor pairs of "
                       "held-out synthetic people (20 x 3 images, seed 10000; the model trained on seed 0) "
                       "(resolution 5.8e-4):")
    assert out[at + 1].startswith("  FAR 1e-2: threshold ") and ", 17 impostor pairs at or above it" in out[at + 1]
    assert ", 1 impostor pairs at or above it" in out[at + 2]
    assert out[at + 3].endswith("0 impostor pairs at or above it, TAR 0.000  NOT calibrated: below the resolution") \
        or out[at + 3].endswith("NOT calibrated: below the resolution")
    card = read_card(tmp_path / "run" / CARD_NAME)
    cal = card.calibration
    assert (cal.n_images, cal.n_people, cal.n_genuine, cal.n_impostor) == (60, 20, 60, 1710)
    assert [t.calibrated for t in cal.thresholds] == [True, True, False] and card.default_far == 1e-3
    assert card.input_size == 32 and card.embedding_dim == 8 and card.backbone == "convnet" and card.flip_tta
    assert card.checkpoint == {"file": "checkpoint.pt", "step": 3, "weights": weights_digest(backbone.state_dict())}
    figures = card.evaluation["synthetic on synthetic"]
    assert 0 <= figures["auc"] <= 1 and figures["n_pairs"] == 40 and "--calibrate" in figures["command"]
    assert card.training["config"]["model"]["image_size"] == 32
    json.loads((tmp_path / "run" / CARD_NAME).read_text())  # plain JSON


def test_another_models_card_is_refused_unless_calibrate_replaces_it(tmp_path, capsys):
    big, _ = checkpoint_at(tmp_path / "big", size=64)
    assert main(synthetic(big, "--calibrate", "--num-identities", "20")) == 0
    ckpt, _ = checkpoint_at(tmp_path / "run")
    shutil.copyfile(tmp_path / "big" / CARD_NAME, tmp_path / "run" / CARD_NAME)
    capsys.readouterr()
    assert main(synthetic(ckpt)) == 2
    assert capsys.readouterr().err == (
        f"error: {ckpt} (its model.image_size) is 32x32 but the model card says \"input_size\": 64 (convnet, 8-d, "
        "64x64 RGB crops aligned to the ArcFace 5-point (insightface arcface_dst) template); the card belongs to "
        "another model or the input was made for one. --calibrate writes a new card\n")
    assert main(synthetic(ckpt, "--calibrate")) == 0
    assert f"note: replacing {tmp_path / 'run' / CARD_NAME}: " in capsys.readouterr().out
    assert read_card(tmp_path / "run" / CARD_NAME).input_size == 32


def test_a_stale_card_is_noted_and_recalibrated(tmp_path, capsys):
    ckpt, _ = checkpoint_at(tmp_path / "run")
    assert main(synthetic(ckpt, "--calibrate")) == 0
    state = torch.load(ckpt, weights_only=True)
    state["backbone"] = {k: v * 1.01 if v.is_floating_point() else v for k, v in state["backbone"].items()}
    save_checkpoint(state, ckpt)
    capsys.readouterr()
    assert main(synthetic(ckpt)) == 0
    assert "describes other weights" in capsys.readouterr().out
    assert main(synthetic(ckpt, "--calibrate")) == 0
    from facecourse.models import backbone_from_checkpoint
    net, _ = backbone_from_checkpoint(ckpt)
    assert read_card(tmp_path / "run" / CARD_NAME).checkpoint["weights"] == weights_digest(net.state_dict())


@pytest.fixture
def fake_lfw(tmp_path):
    """A prepared LFW-shaped folder (flat-colour images, so no face is found): DevTrain people
    Ann_A (3), Bob_B (2), Cy_C (2); DevTest people Di_D (2), Ed_E (2)."""
    from facecourse.data import prepare_lfw
    from lfw_fake import write_lfw
    src = write_lfw(tmp_path / "src", {"Ann_A": 3, "Bob_B": 2, "Cy_C": 2}, {"Di_D": 2, "Ed_E": 2})
    return prepare_lfw(src, tmp_path / "lfw", workers=1, verify=False, progress=False, sizes=(32,))


def test_calibrate_on_lfw_uses_the_devtrain_people_whatever_the_protocol(fake_lfw, tmp_path, capsys):
    ckpt, _ = checkpoint_at(tmp_path / "run")
    assert main(["--checkpoint", str(ckpt), "--data", str(fake_lfw), "--protocol", "devtest", "--calibrate",
                 "--device", "cpu"]) == 0
    card = read_card(tmp_path / "run" / CARD_NAME)
    cal = card.calibration
    assert cal.data == "LFW DevTrain (7 images of 3 people, all pairs)"  # never the DevTest people
    assert (cal.n_genuine, cal.n_impostor) == (5, 16) and not any(t.calibrated for t in cal.thresholds)
    assert cal.note.startswith("the DevTrain people")  # this model did not train on LFW
    (name, rows), = cal.checks.items()
    assert name.startswith("LFW DevTest people (4 images of 2 people, all pairs; never used to choose")
    assert [r["n_impostor"] for r in rows] == [4, 4, 4]
    assert f"devtest on {fake_lfw}" in card.evaluation
    assert "NOT calibrated" in capsys.readouterr().out


def test_train_on_lfw_ends_with_the_same_card(fake_lfw, tmp_path, capsys):
    """`train` on LFW writes devtest.json and a card calibrated on the DevTrain people; `eval
    --calibrate` of the same checkpoint gives the same thresholds."""
    from facecourse.train.cli import main as train_main
    sets = ["model.backbone=convnet", "model.image_size=32", "model.embedding_dim=8", "model.width=0.25",
            "data.source=lfw", f"data.root={fake_lfw}", "batch_size=4", "max_steps=2", "progress=false",
            "device=cpu", "data.augment=false"]
    assert train_main(["--out", str(tmp_path / "run"), *[a for s in sets for a in ("--set", s)]]) == 0
    out = capsys.readouterr().out
    assert "LFW DevTest (2 pairs, threshold from DevTrain pairs)" in out
    assert f"model card: {tmp_path / 'run' / CARD_NAME}; thresholds from 16 impostor pairs of LFW DevTrain " \
           "(7 images of 3 people, all pairs) (resolution 6.2e-2):" in out
    card = read_card(tmp_path / "run" / CARD_NAME)
    assert card.training["data"] == "LFW DevTrain people (peopleDevTrain.txt): 7 images of 3 people, aligned by prepare lfw"
    assert card.training["steps"] == 2 and card.training["config"]["data"]["source"] == "lfw"
    assert card.calibration.note.startswith("the model trained on these people")
    (view1,) = card.evaluation.values()
    devtest = json.loads((tmp_path / "run" / "devtest.json").read_text())
    assert view1["acc"] == devtest["acc"] and view1["auc"] == devtest["auc"]
    assert card.alignment["pad"] == 0.0 and card.alignment["crop_size"] == 32
    trained = [t.threshold for t in card.calibration.thresholds]
    assert main(["--checkpoint", str(tmp_path / "run" / "checkpoint.pt"), "--data", str(fake_lfw), "--protocol",
                 "devtest", "--calibrate", "--device", "cpu"]) == 0
    again = read_card(tmp_path / "run" / CARD_NAME)
    assert [t.threshold for t in again.calibration.thresholds] == pytest.approx(trained, abs=1e-6)
    assert again.training == card.training and len(again.evaluation) == 2  # kept, and eval's figures added


def test_devtest_protocol_folds_interleave_like_view1(fake_lfw, tmp_path, capsys):
    """pairsDevTest.txt is one fold, matched pairs first: eval cross-validates over 10
    interleaved folds, as `view1_metrics`'s acc_cv does (it used to fail: one fold id)."""
    ckpt, _ = checkpoint_at(tmp_path / "run")
    out = tmp_path / "devtest.json"
    assert main(["--checkpoint", str(ckpt), "--data", str(fake_lfw), "--protocol", "devtest", "--device", "cpu",
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text())["n_pairs"] == 2
