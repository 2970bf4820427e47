"""`python -m facecourse search`: ranking and the open-set decision (a stub embedder without
data, dlib's ResNet on real LFW photos with it), the gallery caches, and the messages."""
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from facecourse.apps import DlibBackbone, FaceModel, dlib_card, load_gallery, rank_people, search
from facecourse.apps.search import main
from facecourse.data import prepare_folder
from facecourse.models.card import Calibration, CardMismatchError, ModelCard, Threshold, alignment

from conftest import GALLERY, STRANGER, save_noise

HUES = {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200), "yellow": (200, 200, 30)}


class MeanColour(nn.Module):
    """A stub embedder: an image's mean colour (3-d), so a person is a hue."""

    def forward(self, images):
        return images.mean(dim=(2, 3))


def stub_model(fingerprint="stub-1"):
    cal = Calibration("hand-made (test)", 10, 5, 5, 40, 1 / 40, [Threshold(1e-2, 0.9, True, 0, 1.0)])
    card = ModelCard(backbone="mean colour", embedding_dim=3, input_size=32, alignment=alignment(32),
                     calibration=cal, default_far=1e-2)
    return FaceModel(MeanColour(), card, "stub", fingerprint)


def photo(path, hue, seed):
    g = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.clip(np.array(hue) + g.normal(0, 15, (8, 8, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).resize((48, 48), Image.BILINEAR).save(path)
    return path


@pytest.fixture
def hue_gallery(tmp_path):
    root = tmp_path / "people"
    for p, name in enumerate(("red", "green", "blue")):
        for k in range(2):
            photo(root / name / f"{k}.png", HUES[name], 10 * p + k)
    return root


def test_ranking_and_unknown_with_a_stub_embedder(hue_gallery, tmp_path):
    model = stub_model()
    gallery = load_gallery(hue_gallery, 32, pad=0.0, on_missing="centre", progress=False)
    assert gallery.names == ["blue", "green", "red"] and len(gallery.images) == 6
    assert gallery.cache == hue_gallery.with_name("people.facecourse")
    result = search(model, photo(tmp_path / "probe_red.png", HUES["red"], 99), gallery, on_missing="centre")
    assert [m.name for m in result.ranking] == ["red", "blue", "green"] or result.ranking[0].name == "red"
    assert result.identity == "red" and result.ranking[0].score >= 0.9 and result.ranking[0].photos == 2
    assert "computed the gallery's embeddings (6 photos)" in result.notes[-1]
    stranger = search(model, photo(tmp_path / "probe_yellow.png", HUES["yellow"], 98), gallery, on_missing="centre")
    assert stranger.identity is None and stranger.ranking[0].score < 0.9  # open set: unknown
    assert "read the gallery's embeddings" in stranger.notes[-1]


def test_a_person_scores_their_best_photo():
    gallery = torch.nn.functional.normalize(torch.tensor([[1.0, 0], [0, 1], [0.6, 0.8], [-1, 0]]), dim=1)
    probe = torch.tensor([0.0, 1.0])
    ranking = rank_people(probe, gallery, [0, 0, 1, 1], ["a", "b"], ["a1", "a2", "b1", "b2"])
    assert [(m.name, round(m.score, 3), m.best_photo) for m in ranking] == [("a", 1.0, "a2"), ("b", 0.8, "b1")]


def test_the_caches_follow_the_photos_and_the_model(hue_gallery, tmp_path):
    probe = photo(tmp_path / "p.png", HUES["green"], 7)
    model = stub_model()

    def notes(m=model):
        gallery = load_gallery(hue_gallery, 32, pad=0.0, on_missing="centre", progress=False)
        return gallery, [n for n in search(m, probe, gallery, on_missing="centre").notes
                         if not n.startswith("no face found")]

    gallery, first = notes()
    assert first[0].startswith(f"aligned the gallery into {gallery.cache / 'prepared'}")
    _, again = notes()
    assert len(again) == 1 and again[0].startswith("read the gallery's embeddings")  # nothing redone
    photo(hue_gallery / "green" / "2.png", HUES["green"], 3)  # a new photo: aligned and embedded again
    gallery, added = notes()
    assert added[0].startswith("aligned the gallery") and "computed the gallery's embeddings (7 photos)" in added[-1]
    _, other = notes(stub_model("another model"))
    assert other[-1].startswith("computed")
    assert len(list(gallery.cache.glob("embeddings-*.npy"))) == 3


def test_a_gallery_prepared_at_another_size_quotes_the_card(tmp_path, run, capsys):
    raw = save_noise(tmp_path / "raw")
    prepared = prepare_folder(raw, tmp_path / "prepared", sizes=(64,), workers=1, progress=False,
                              on_missing="centre")
    with pytest.raises(CardMismatchError) as e:
        load_gallery(prepared, 32)
    assert str(e.value).startswith(f"the gallery {prepared} was prepared at [64] px but the model card says "
                                   "\"input_size\": 32; prepare it again with `python -m facecourse.data prepare "
                                   f"folder PHOTOS --size 32 --out {prepared}`")
    probe = next(raw.rglob("*.png"))
    assert main([str(probe), "--gallery", str(prepared), "--checkpoint", str(run), "--on-missing", "centre"]) == 2
    assert capsys.readouterr().err.startswith(f"error: the gallery {prepared} was prepared at [64] px")


def test_search_cli_end_to_end(tmp_path, run, capsys):
    raw = save_noise(tmp_path / "people", people=3, per=2)
    probe = save_noise(tmp_path / "probe", people=1, per=1, seed=9) / "person0" / "0.png"
    argv = [str(probe), "--gallery", str(raw), "--checkpoint", str(run), "--on-missing", "centre", "--top", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"{probe} against 3 people (6 photos) of {raw}; a person's score is the highest cosine over their photos" in out
    table = out.index("  rank  person   score   photos  best photo")
    assert out[table + 1].startswith("  1     person") and out[table + 2].startswith("  2     person")
    assert out[table + 3].startswith("threshold ") and " at FAR 1e-3, calibrated on 6,960 impostor pairs" in out[table + 3]
    assert out[table + 4].startswith("  on the calibration set it accepts ")  # card.measured
    assert out[table + 5] == "  (a 1:1 threshold: an unknown face passes one of 6 photos with chance up to 0.006, i.e. 6 x FAR 1e-3)"
    assert out[-1].startswith(("identified: person", "unknown: nobody in the gallery (best person"))
    assert main(argv) == 0
    assert "note: read the gallery's embeddings (6 photos)" in capsys.readouterr().out


def test_search_cli_errors(tmp_path, run, faceless, capsys):
    assert main([str(faceless[0]), "--gallery", str(tmp_path / "none"), "--checkpoint", str(run)]) == 2
    assert capsys.readouterr().err.startswith(f"error: --gallery '{tmp_path / 'none'}' is not a folder")
    raw = save_noise(tmp_path / "people")
    assert main([str(faceless[0]), "--gallery", str(raw), "--checkpoint", str(run)]) == 2
    assert capsys.readouterr().err.startswith(f"error: no face found in {faceless[0]}")
    assert main([str(faceless[0]), "--gallery", str(raw), "--checkpoint", str(run), "--far", "1e-4"]) == 2
    assert capsys.readouterr().err.startswith("error: FAR 1e-4 is below the resolution 1.4e-4")
    assert not raw.with_name("people.facecourse").exists()  # refused before aligning anything


# dlib's thresholds, calibrated on every pair of the 3,443 images of LFW's DevTrain pairs (dlib never
# trained on LFW): 5,923,194 impostor pairs; measured on the 1,549 images of the DevTest pairs
# (1,197,943 impostor pairs) they give FAR 9.6e-3 / 8.2e-4 / 7.7e-5 and TAR 98.6 / 93.4 / 80.2 %
DLIB_LFW = Calibration(
    "LFW DevTrain pairs' images (3,443 images of 2,132 people, all pairs)", 3443, 2132, 2209, 5_923_194,
    1 / 5_923_194, [Threshold(1e-2, 0.9084034, True, 59_231, 0.9869), Threshold(1e-3, 0.9271989, True, 5_923, 0.9244),
                    Threshold(1e-4, 0.9414849, True, 592, 0.7773)])


@pytest.mark.lfw
def test_dlib_ranks_lfw_people_and_says_unknown_for_a_stranger(lfw_photos, tmp_path):
    """Real photos of four LFW DevTest people (4 each in the gallery, the 5th as probe) and one
    person who is not in it, embedded by dlib's ResNet at its threshold for FAR 1e-3 (DLIB_LFW)."""
    import shutil
    gallery_dir = tmp_path / "gallery"
    for person in GALLERY:
        (gallery_dir / person).mkdir(parents=True)
        for k in range(1, 5):
            shutil.copyfile(lfw_photos / person / f"{person}_{k:04d}.jpg", gallery_dir / person / f"{k}.jpg")
    model = FaceModel(DlibBackbone(), dlib_card(calibration=DLIB_LFW, default_far=1e-3), "dlib", "dlib")
    gallery = load_gallery(gallery_dir, 112, pad=0.0, progress=False)
    assert len(gallery.images) == 16 and gallery.names == sorted(GALLERY)
    for person in GALLERY:
        result = search(model, lfw_photos / person / f"{person}_0005.jpg", gallery)
        assert result.ranking[0].name == person, result.ranking
        assert result.identity == person, (result.ranking[0], result.threshold)
    stranger = search(model, lfw_photos / STRANGER / f"{STRANGER}_0001.jpg", gallery)
    assert stranger.identity is None, (stranger.ranking[0], stranger.threshold)
