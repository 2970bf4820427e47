"""`python -m facecourse verify`: end to end, through ONNX, and every bad input with its message."""
import shutil

import numpy as np
import pytest
import torch

from facecourse.apps import align_photos, load_model, verify
from facecourse.apps.verify import main
from facecourse.data import align_faces
from facecourse.eval import embed
from facecourse.models import backbone_from_checkpoint
from facecourse.models.card import CARD_NAME, read_card, to_metadata

from conftest import make_run


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.lfw
def test_two_lfw_photos_end_to_end(run, lfw_photos, capsys):
    a, b = (lfw_photos / "Donald_Rumsfeld" / f"Donald_Rumsfeld_000{k}.jpg" for k in (1, 2))
    rc, out, err = run_cli(capsys, a, b, "--checkpoint", run)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("note: the model card says: trained on rendered synthetic faces")
    assert lines[1].startswith("cosine ") and "(convnet, 8-d, 32x32 aligned crops, flip-averaged;" in lines[1]
    assert lines[2].startswith("threshold ") and lines[2].endswith(
        " at FAR 1e-3, calibrated on 6,960 impostor pairs of held-out synthetic people (30 x 4 images, "
        "seed 10000; the model trained on seed 0); resolution 1.4e-4")
    assert lines[-1].startswith(("same person (", "different people ("))
    # the score is the LFW pipeline's: align_faces (pad 0, as prepare lfw), then embed(flip=True)
    backbone, _ = backbone_from_checkpoint(run)
    crops = torch.from_numpy(align_faces([a, b], (32,), workers=1, progress=False).images[32])
    emb = embed(backbone, crops, flip=True)
    assert float(lines[1].split()[1]) == pytest.approx(float(emb[0] @ emb[1]), abs=1e-4)


def test_no_face_is_an_error_naming_the_file(run, faceless, capsys):
    rc, out, err = run_cli(capsys, *faceless, "--checkpoint", run)
    assert rc == 2 and out == ""
    assert err == (f"error: no face found in {faceless[0]} (dlib's HOG detector finds frontal faces of about 40 "
                   "px and more). Use a photo where the face is visible and upright, or pass --on-missing "
                   "centre to use its centre crop\n")


def test_on_missing_centre_uses_the_centre_crop(run, faceless, capsys):
    rc, out, err = run_cli(capsys, *faceless, "--checkpoint", run, "--on-missing", "centre", "--far", "1e-2")
    assert rc == 0, err
    assert f"note: no face found in {faceless[0]}: using its centre crop (--on-missing centre)" in out
    assert f"note: no face found in {faceless[1]}: using its centre crop (--on-missing centre)" in out
    assert " at FAR 1e-2, calibrated on 6,960 impostor pairs" in out


def test_unreadable_and_missing_files(run, faceless, tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    rc, _, err = run_cli(capsys, faceless[0], bad, "--checkpoint", run)
    assert rc == 2 and err == (f"error: cannot decode image {bad}: not a known image format (JPEG, PNG, PGM, "
                               "BMP, ...). It is corrupt or truncated: pass a photo file (JPEG, PNG, ...).\n")
    rc, _, err = run_cli(capsys, tmp_path / "nope.jpg", faceless[0], "--checkpoint", run)
    assert rc == 2 and err == f"error: {tmp_path / 'nope.jpg'} does not exist\n"


def test_missing_card(tmp_path, faceless, capsys):
    ckpt = make_run(tmp_path / "bare", card=False)
    rc, _, err = run_cli(capsys, *faceless, "--checkpoint", ckpt)
    assert rc == 2
    assert err.startswith(f"error: checkpoint '{ckpt}' has no model card ({ckpt.parent / CARD_NAME} is missing), "
                          "so its input pipeline and thresholds are unknown. Make one: `python -m facecourse "
                          f"eval --checkpoint {ckpt} --calibrate`")


def test_wrong_input_size_quotes_the_card(tmp_path, faceless, capsys):
    big = make_run(tmp_path / "big", image_size=64, people=6)
    small = make_run(tmp_path / "small", card=False)
    shutil.copyfile(big.parent / CARD_NAME, small.parent / CARD_NAME)  # another model's card
    rc, _, err = run_cli(capsys, *faceless, "--checkpoint", small)
    assert rc == 2
    assert err == (f"error: {small} (its model.image_size) is 32x32 but the model card says \"input_size\": 64 "
                   "(convnet, 8-d, 64x64 RGB crops aligned to the ArcFace 5-point (insightface arcface_dst) "
                   "template); the card belongs to another model or the input was made for one\n")


def test_far_below_the_resolution(run, faceless, capsys):
    rc, _, err = run_cli(capsys, *faceless, "--checkpoint", run, "--far", "1e-4")
    assert rc == 2
    assert err.startswith("error: FAR 1e-4 is below the resolution 1.4e-4 of the calibration set (6,960 impostor "
                          "pairs of held-out synthetic people (30 x 4 images, seed 10000; the model trained on "
                          "seed 0)): its threshold is not calibrated, no impostor pair was allowed above it. Use "
                          "--far 1e-2 or --far 1e-3, or calibrate on more people")
    rc, _, err = run_cli(capsys, *faceless, "--checkpoint", run, "--far", "0.05")
    assert rc == 2 and err.startswith("error: the model card has no threshold at FAR 5e-2; it has FAR 1e-2, 1e-3, 1e-4")


def test_a_stale_card_is_refused(run, faceless, capsys):
    from facecourse.train.checkpoint import save_checkpoint
    state = torch.load(run, weights_only=True)
    state["backbone"] = {k: v + 0.01 if v.is_floating_point() else v for k, v in state["backbone"].items()}
    save_checkpoint(state, run)  # trained on after the card was written
    rc, _, err = run_cli(capsys, *faceless, "--checkpoint", run)
    assert rc == 2 and f"error: the model card beside {run} describes other weights (step 7, digest" in err
    assert "the run went on after the card was written" in err


def test_export_onnx_then_verify_onnx_gives_the_torch_score(run, faceless, tmp_path, capsys):
    from facecourse.train.cli import export_onnx_main
    onnx_path = tmp_path / "model.onnx"
    assert export_onnx_main(["--checkpoint", str(run), "--out", str(onnx_path)]) == 0
    assert "model card in its metadata_props: 15 fields, thresholds at FAR 1e-2, 1e-3, 1e-4" in capsys.readouterr().out
    via_onnx = load_model(onnx=onnx_path)
    assert via_onnx.card == read_card(run.parent / CARD_NAME)  # the same card, from the metadata
    torch_score = verify(load_model(run), *faceless, on_missing="centre").score
    onnx_score = verify(via_onnx, *faceless, on_missing="centre").score
    torch.testing.assert_close(onnx_score, torch_score, rtol=0, atol=1e-5)
    rc, out, err = run_cli(capsys, *faceless, "--onnx", onnx_path, "--on-missing", "centre")
    assert rc == 0, err
    assert f"cosine {torch_score:.4f} (convnet, 8-d, 32x32 aligned crops, flip-averaged; {onnx_path})" in out


def test_onnx_without_a_card_or_for_another_size(run, faceless, tmp_path, capsys):
    from facecourse.train.export import export_onnx, write_onnx_metadata
    backbone, _ = backbone_from_checkpoint(run)
    bare = export_onnx(backbone, tmp_path / "bare.onnx", 32)
    rc, _, err = run_cli(capsys, *faceless, "--onnx", bare)
    assert rc == 2 and err.startswith(f"error: {bare} carries no model card in its metadata, so its input "
                                      "pipeline and thresholds are unknown. Export it again with")
    card = read_card(run.parent / CARD_NAME)
    card.input_size = 64
    write_onnx_metadata(bare, to_metadata(card))
    rc, _, err = run_cli(capsys, *faceless, "--onnx", bare)
    assert rc == 2 and err.startswith(f"error: the ONNX graph {bare} (its input) is 32x32 but the model card "
                                      "says \"input_size\": 64")
    rc, _, err = run_cli(capsys, *faceless)
    assert rc == 2 and err == "error: pass --checkpoint CHECKPOINT or --onnx FILE.onnx (one of them)\n"


def test_align_photos_keeps_the_face_nearest_the_centre_and_says_so(faceless):
    photos = align_photos(faceless, 32, on_missing="centre")
    assert photos.images.shape == (2, 3, 32, 32) and photos.images.dtype == torch.uint8
    assert photos.faces == [0, 0] and len(photos.notes) == 2
    with pytest.raises(ValueError, match="--on-missing must be one of"):
        align_photos(faceless, 32, on_missing="skip")
    assert np.isfinite(photos.images.float().numpy()).all()
