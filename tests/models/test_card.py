"""The model card: its JSON and ONNX-metadata round trips, threshold lookup and the messages
of every way a card does not fit."""
import json

import pytest
import torch

from facecourse.models import create_backbone
from facecourse.models.card import (
    CARD_NAME, Calibration, CardMismatchError, MissingCardError, ModelCard, Threshold, card_for_checkpoint,
    card_from_config, check_card_fits, from_metadata, read_card, sci, to_metadata, weights_digest, write_card,
)

CONFIG = {"model": {"backbone": "convnet", "embedding_dim": 8, "image_size": 32, "width": 0.25},
          "data": {"source": "synthetic", "seed": 0, "difficulty": 0.5}}


def calibration(n_impostor=49_000):
    allowed = [int(f * n_impostor) for f in (1e-2, 1e-3, 1e-4)]
    return Calibration(
        data="LFW DevTrain (test)", n_images=320, n_people=40, n_genuine=1_040, n_impostor=n_impostor,
        far_resolution=1 / n_impostor,
        thresholds=[Threshold(f, t, a >= 1, a, 0.5) for f, t, a in zip((1e-2, 1e-3, 1e-4), (0.3, 0.41, 0.5), allowed)])


def card(**kw):
    return card_from_config(CONFIG, calibration=calibration(), default_far=1e-3, **kw)


def test_json_round_trip(tmp_path):
    c = card(training={"data": "synthetic", "config": CONFIG}, evaluation={"devtest": {"acc": 0.9}})
    path = write_card(c, tmp_path / "run" / "checkpoint.pt")  # a checkpoint: the card goes beside it
    assert path == tmp_path / "run" / CARD_NAME
    back = read_card(path)
    assert back == c and isinstance(back.calibration.thresholds[0], Threshold)
    d = json.loads(path.read_text())
    assert d["schema"] == "facecourse.model_card/1" and d["colour_order"] == "RGB"
    assert d["normalisation"].startswith("x / 127.5 - 1") and d["flip_tta"] is True
    assert d["alignment"]["template"].startswith("ArcFace 5-point") and d["alignment"]["crop_size"] == 32
    assert d["alignment"]["template_112"][0] == [38.2946, 51.6963]


def test_onnx_metadata_round_trip():
    c = card()
    props = to_metadata(c)
    assert all(isinstance(v, str) for v in props.values())
    assert props["input_size"] == "32" and json.loads(props["calibration"])["n_impostor"] == 49_000
    assert from_metadata({**props, "producer": "someone else"}, "m.onnx") == c  # other keys ignored


def test_threshold_lookup_and_its_description():
    c = card()
    t = c.threshold()  # the card's default FAR
    assert t.far == 1e-3 and t.threshold == 0.41
    assert c.describe(t) == ("threshold 0.4100 at FAR 1e-3, calibrated on 49,000 impostor pairs of LFW "
                             "DevTrain (test); resolution 2e-5")
    assert c.threshold(0.01).threshold == 0.3


@pytest.mark.parametrize("far, message", [
    (1e-4, "FAR 1e-4 is below the resolution 2e-4 of the calibration set (5,000 impostor pairs of LFW "
           "DevTrain (test)): its threshold is not calibrated, no impostor pair was allowed above it. Use "
           "--far 1e-2 or --far 1e-3, or calibrate on more people (`python -m facecourse eval --checkpoint "
           "runs/a/checkpoint.pt --calibrate`"),
    (5e-3, "the model card has no threshold at FAR 5e-3; it has FAR 1e-2, 1e-3, 1e-4"),
    (0.0, "--far is a false accept rate in (0, 1), e.g. 1e-3; got 0"),
])
def test_threshold_errors(far, message):
    c = card_from_config(CONFIG, calibration=calibration(5_000), default_far=1e-3)
    with pytest.raises(CardMismatchError) as e:
        c.threshold(far, source="runs/a/checkpoint.pt")
    assert str(e.value).startswith(message)


def test_no_calibration_says_how_to_make_one():
    with pytest.raises(CardMismatchError, match=r"the model card has no calibrated thresholds; make them "
                                                r"with `python -m facecourse eval --checkpoint c.pt --calibrate`"):
        card_from_config(CONFIG).threshold(source="c.pt")


def test_a_missing_card_says_how_to_make_one(tmp_path):
    with pytest.raises(MissingCardError) as e:
        card_for_checkpoint(tmp_path / "checkpoint.pt")
    assert str(e.value).startswith(f"checkpoint '{tmp_path / 'checkpoint.pt'}' has no model card "
                                   f"({tmp_path / CARD_NAME} is missing), so its input pipeline and "
                                   "thresholds are unknown. Make one: `python -m facecourse eval")
    assert "--calibrate" in str(e.value)


def test_input_size_mismatch_quotes_the_card():
    with pytest.raises(CardMismatchError) as e:
        card().check_input_size(112, "checkpoint c.pt (its model.image_size)")
    assert str(e.value) == ("checkpoint c.pt (its model.image_size) is 112x112 but the model card says "
                            "\"input_size\": 32 (convnet, 8-d, 32x32 RGB crops aligned to the ArcFace 5-point "
                            "(insightface arcface_dst) template); the card belongs to another model or the "
                            "input was made for one")


def test_check_card_fits_sees_other_weights_and_sizes():
    torch.manual_seed(0)
    net = create_backbone("convnet", embedding_dim=8, image_size=32, width=0.25)
    c = card(checkpoint={"file": "checkpoint.pt", "step": 5, "weights": weights_digest(net.state_dict())})
    check_card_fits(c, CONFIG, net, "c.pt")
    other = create_backbone("convnet", embedding_dim=8, image_size=32, width=0.25)
    with pytest.raises(CardMismatchError, match=r"describes other weights \(step 5, digest"):
        check_card_fits(c, CONFIG, other, "c.pt")
    check_card_fits(c, CONFIG, other, "c.pt", weights=False)
    bigger = {**CONFIG, "model": {**CONFIG["model"], "image_size": 64}}
    with pytest.raises(CardMismatchError, match=r"c.pt \(its model.image_size\) is 64x64 but the model card "
                                                r"says \"input_size\": 32"):
        check_card_fits(c, bigger, net, "c.pt")


def test_bad_card_files(tmp_path):
    path = tmp_path / CARD_NAME
    path.write_text("{")
    with pytest.raises(CardMismatchError, match="is not valid JSON"):
        read_card(path)
    path.write_text(json.dumps({**card().to_dict(), "schema": "other/2"}))
    with pytest.raises(CardMismatchError, match="has schema 'other/2'"):
        read_card(path)
    with pytest.raises(MissingCardError, match="m.onnx carries no model card in its metadata"):
        from_metadata({}, "m.onnx")


def test_sci():
    assert [sci(x) for x in (1e-2, 1e-3, 2.04e-5, 1 / 45e6, 0.5)] == ["1e-2", "1e-3", "2e-5", "2e-8", "5e-1"]
    assert [sci(x, 2) for x in (1 / 6960, 2.04e-5, 1e-3)] == ["1.4e-4", "2e-5", "1e-3"]


def test_weights_digest_follows_the_values():
    a = {"w": torch.ones(3), "n": torch.tensor(2)}
    assert weights_digest(a) == weights_digest({k: v.clone() for k, v in a.items()})
    assert weights_digest(a) != weights_digest({**a, "w": torch.tensor([1.0, 1.0, 1.0001])})
    assert isinstance(ModelCard(backbone="x", embedding_dim=2, input_size=8).to_dict(), dict)


def test_measured_lines_quote_the_calibration_and_its_checks():
    c = card()
    c.calibration.checks = {"LFW DevTest people (test)": [
        {"far": 1e-3, "threshold": 0.41, "measured_far": 7.02e-4, "tar": 0.259}]}
    assert c.measured(c.threshold()) == ["  on the calibration set it accepts 50.0% of the genuine pairs",
                                         "  on LFW DevTest people (test): FAR 7e-4, TAR 25.9%"]
    assert c.measured(c.threshold(1e-2)) == ["  on the calibration set it accepts 50.0% of the genuine pairs"]
