"""Tiny checkpoints with their cards, photos without faces, and (with the data) real LFW photos."""
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facecourse.data import find_lfw
from facecourse.eval import calibration_record, embed, synthetic_held_out
from facecourse.models import create_backbone
from facecourse.models.card import make_card, write_card
from facecourse.train.checkpoint import save_checkpoint
from facecourse.train.config import ModelConfig, TrainConfig

# LFW DevTest people (the course's LFW models never train on them): 4 photos each in the
# gallery, the 5th as a probe; Winona_Ryder is not in the gallery
GALLERY = ("Donald_Rumsfeld", "Gerhard_Schroeder", "Jennifer_Capriati", "Kofi_Annan")
STRANGER = "Winona_Ryder"


def make_run(folder: Path, image_size: int = 32, people: int = 30, card: bool = True, seed: int = 0) -> Path:
    """A checkpoint in fit()'s format (random convnet weights) and, with `card`, its model card
    calibrated on held-out synthetic people (`people` x 4 images): 30 people give 6,960
    impostor pairs, so FAR 1e-3 is calibrated and 1e-4 is not."""
    cfg = TrainConfig(model=ModelConfig(backbone="convnet", embedding_dim=8, image_size=image_size, width=0.25))
    torch.manual_seed(seed)
    backbone = create_backbone("convnet", embedding_dim=8, image_size=image_size, width=0.25).eval()
    with torch.no_grad():  # batch-norm statistics that are not the identity, as after training
        backbone.train()(torch.randn(16, 3, image_size, image_size))
    backbone.eval()
    path = save_checkpoint({"backbone": backbone.state_dict(), "config": cfg.to_dict(), "step": 7},
                           folder / "checkpoint.pt")
    if card:
        faces, what = synthetic_held_out(cfg.to_dict()["data"], image_size, people, 4)
        record = calibration_record(embed(backbone, faces, flip=True), faces.labels, what)
        write_card(make_card(cfg.to_dict(), path, backbone, calibration=record), path)
    return path


@pytest.fixture
def run(tmp_path):
    return make_run(tmp_path / "run")


def save_noise(folder: Path, people: int = 3, per: int = 2, size: int = 48, seed: int = 5) -> Path:
    """Smooth random colour photos folder/<person>/<k>.png, each person its own hue: no face in
    them (dlib does find faces in some synthetic renders), different from one another."""
    g = np.random.default_rng(seed)
    for p in range(people):
        hue = g.uniform(0, 255, 3)
        for k in range(per):
            small = np.clip(hue + g.normal(0, 40, (6, 6, 3)), 0, 255).astype(np.uint8)
            person = folder / f"person{p}"
            person.mkdir(parents=True, exist_ok=True)
            Image.fromarray(small).resize((size, size), Image.BILINEAR).save(person / f"{k}.png")
    return folder


@pytest.fixture
def faceless(tmp_path):
    """Two photos without a face."""
    root = save_noise(tmp_path / "faceless", people=2, per=1)
    return sorted(root.rglob("*.png"))


@pytest.fixture(scope="session")
def lfw_photos(tmp_path_factory, need_data):
    """Real LFW photos extracted into a temporary folder: <root>/<person>/<person>_000k.jpg for
    the GALLERY people (k = 1..5) and STRANGER (k = 1)."""
    source = need_data(find_lfw(), "LFW")
    wanted = {f"lfw-deepfunneled/{p}/{p}_{k:04d}.jpg" for p in GALLERY for k in range(1, 6)}
    wanted.add(f"lfw-deepfunneled/{STRANGER}/{STRANGER}_0001.jpg")
    root = tmp_path_factory.mktemp("lfw")
    if (source / "lfw-deepfunneled").is_dir():  # an extracted copy
        for name in wanted:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, root / name)
    else:
        with tarfile.open(source / "lfw-deepfunneled.tgz") as tar:
            members = [m for m in tar if m.name in wanted]
            tar.extractall(root, members=members, filter="data")
        assert len(members) == len(wanted)
    return root / "lfw-deepfunneled"
