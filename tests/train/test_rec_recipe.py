"""The GPU box's real-data recipe on a CPU: `--recipe casia-arcface` on a tiny insightface
folder (train.rec + .bin sets written by `make_tiny_insightface`), validation on the .bin sets
during training, PartialFC as a head option (one process, and sharded over two with torchrun)."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from facecourse.data import SyntheticFaces, load_bin, load_rec, make_tiny_insightface, write_bin, write_rec
from facecourse.data.pairs import Pairs
from facecourse.train import TrainConfig, fit
from facecourse.train.cli import main as train_main
from facecourse.train.config import apply_overrides, validate
from facecourse.train.recipes import get_recipe

from _train_tiny import tiny_config, tiny_faces
from test_ddp import torchrun

HERE = Path(__file__).resolve().parent
SMALL = ["--set", "model.backbone=mobilefacenet", "--set", "model.width=0.25", "--set", "model.image_size=32",
         "--set", "device=cpu", "--set", "batch_size=16", "--set", "max_steps=4", "--set", "log_every=2",
         "--set", "val.every=2", "--set", "data.workers=2", "--set", "checkpoint_every=2",
         "--set", "progress=false"]


@pytest.fixture(scope="module")
def tiny_rec(tmp_path_factory):
    return make_tiny_insightface(tmp_path_factory.mktemp("insightface"), size=48)


def test_rec_and_bin_writers_round_trip(tmp_path):
    faces = SyntheticFaces(5, 3, image_size=40, seed=3)
    labels = np.array([4, 4, 4, 0, 0, 0, 2, 2, 2, 1, 1, 1, 3, 3, 3])  # not sorted: written by label
    write_rec(tmp_path / "train.rec", faces.images, labels)
    back = load_rec(tmp_path / "train.rec")
    assert sorted(back.labels.tolist()) == sorted(labels.tolist()) and back.num_classes == 5
    order = np.argsort(labels, kind="stable")
    got = torch.stack([back.image_uint8(i) for i in range(len(back))]).float()
    assert (got - faces.images[order].float()).abs().mean() < 4  # JPEG at quality 95
    pairs = Pairs([0, 3, 6], [1, 9, 7], [True, False, True], [0, 1, 2])
    write_bin(tmp_path / "x.bin", faces.images, pairs)
    bin_faces, bin_pairs = load_bin(tmp_path / "x.bin")
    assert len(bin_faces) == 6 and bin_pairs.issame.tolist() == [True, False, True]
    assert (bin_faces.images[2].float() - faces.images[3].float()).abs().mean() < 4  # pair 1's a
    assert not list(tmp_path.glob("*.partial"))


def test_casia_recipe_trains_on_a_rec_and_measures_the_bins(tiny_rec, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_main(["--recipe", "casia-arcface", "--set", f"data.root={tiny_rec}", *SMALL,
                       "--out", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    for r in rows:
        assert 0 <= r["val_lfw_acc"] <= 1 and 0 <= r["val_cfp_fp_acc"] <= 1 and np.isfinite(r["loss"])
    assert "val_lfw_acc" not in (out / "history.csv").read_text().splitlines()[0]  # jsonl only
    assert "no agedb_30.bin, calfw.bin" in capsys.readouterr().err  # named once, then skipped
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["source"] == "rec" and config["head"]["s"] == 64 and config["head"]["m"] == 0.5
    assert config["optim"]["milestones"] == [20.9, 29.2] and config["batch_size"] == 16
    card = json.loads((out / "model_card.json").read_text())
    bins = card["evaluation"]["insightface .bin sets (10-fold accuracy, flip-averaged embeddings)"]
    assert bins["lfw"] == rows[-1]["val_lfw_acc"] and bins["step"] == 4
    assert "insightface RecordIO" in card["training"]["data"]


def test_recipe_is_the_papers_setting():
    cfg = TrainConfig.from_dict(apply_overrides(TrainConfig().to_dict(), get_recipe("casia-arcface")))
    validate(cfg)
    assert (cfg.model.backbone, cfg.model.image_size, cfg.model.embedding_dim) == ("iresnet50", 112, 512)
    assert (cfg.head.s, cfg.head.m, cfg.batch_size, cfg.optim.lr) == (64.0, 0.5, 512, 0.1)
    steps = cfg.epochs * 490_623 / 512  # CASIA-WebFace as insightface packs it
    assert abs(steps - 32_000) < 100 and abs(cfg.optim.milestones[0] * 490_623 / 512 - 20_000) < 100


def test_validation_and_rec_errors_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("FACECOURSE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"no train.rec in .*faces_webface_112x112.*data.root"):
        fit(tiny_config(**{"data.source": "rec", "max_steps": 1}))
    with pytest.raises(ValueError, match=r"val.every=3 must be a multiple of log_every=2"):
        validate(tiny_config(**{"val.every": 3}))
    with pytest.raises(FileNotFoundError, match=r"none of \['lfw.bin'.*val.root"):
        fit(tiny_config(**{"val.every": 2, "max_steps": 2}), tiny_faces())
    with pytest.raises(ValueError, match=r"head.partial_fc with head.name='boundaryface'"):
        validate(tiny_config(**{"head.partial_fc": 0.5, "head.name": "boundaryface"}))


def test_partial_fc_at_rate_one_trains_like_the_plain_head():
    """One process, sample rate 1: PartialFC is the head + cross-entropy, step for step."""
    plain = fit(tiny_config(max_steps=4, log_every=1), tiny_faces())
    torch.manual_seed(0)
    sharded = fit(tiny_config(max_steps=4, log_every=1, **{"head.partial_fc": 1.0}), tiny_faces())
    a = [r["loss"] for r in plain.history]
    b = [r["loss"] for r in sharded.history]
    assert np.allclose(a, b, rtol=1e-5), (a, b)
    assert torch.allclose(plain.head.weight, sharded.head.head.weight, atol=1e-6)


def test_partial_fc_sharded_over_two_processes_resumes_each_shard(tmp_path):
    out = tmp_path / "pfc"
    sets = ["head.partial_fc=0.5", "checkpoint_every=2", "optim.schedule=constant"]
    first = torchrun(str(HERE / "_train_tiny.py"), str(out), "max_steps=2", *sets)
    assert first.returncode == 0, first.stderr[-3000:]
    shards = [torch.load(out / f"checkpoint.head-rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert [s["head"]["head.weight"].shape[0] for s in shards] == [4, 4]  # 8 classes, halves
    assert not torch.equal(shards[0]["head"]["head.weight"], shards[1]["head"]["head.weight"])
    # one process cannot take two shards
    with pytest.raises(ValueError, match=r"sharded over 2.*--nproc_per_node=2"):
        fit(tiny_config(out_dir=str(out), resume=True, max_steps=4, **{"head.partial_fc": 0.5,
                                                                     "optim.schedule": "constant",
                                                                     "checkpoint_every": 2}), tiny_faces())
    again = torchrun(str(HERE / "_train_tiny.py"), str(out), "max_steps=4", "resume=true", *sets)
    assert again.returncode == 0, again.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4] and all(np.isfinite(r["loss"]) for r in rows)
    moved = torch.load(out / "checkpoint.head-rank1.pt", weights_only=True)
    assert moved["step"] == 4 and not torch.equal(moved["head"]["head.weight"], shards[1]["head"]["head.weight"])


def test_rec_reads_in_forked_workers_match_a_plain_read(tiny_rec):
    """A .rec opened in the parent (load_rec reads its labels) and then read by forked DataLoader
    workers at once: each worker reads its own way (no shared file offset to race on)."""
    ds = load_rec(tiny_rec / "train.rec")
    plain = torch.stack([ds[i][0] for i in range(len(ds))])  # the parent's file is open now
    for _ in range(3):
        loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2, multiprocessing_context="fork")
        got = torch.cat([images for images, _ in loader])
        assert torch.equal(got, plain)
