"""Checkpoints: atomic writes, weights_only loading, RNG round trip, clear errors."""
import random

import numpy as np
import pytest
import torch

from facecourse.train import load_checkpoint, save_checkpoint
from facecourse.train.checkpoint import rng_state, set_rng_state


def test_rng_states_round_trip_through_a_weights_only_file(tmp_path):
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    np.random.normal()  # leave a cached gaussian in numpy's state
    path = save_checkpoint({"backbone": {}, "config": {}, "rng": rng_state()}, tmp_path / "c.pt")
    want = (torch.rand(3), np.random.rand(3), random.random(), np.random.normal())
    state = torch.load(path, weights_only=True)
    set_rng_state(state["rng"])
    got = (torch.rand(3), np.random.rand(3), random.random(), np.random.normal())
    assert torch.equal(want[0], got[0]) and np.array_equal(want[1], got[1])
    assert want[2:] == got[2:]


def test_a_failed_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint({"backbone": {"w": torch.ones(2)}, "config": {}}, tmp_path / "c.pt")
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({"backbone": {"w": torch.zeros(2)}, "config": {}}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind
    assert torch.equal(load_checkpoint(path)["backbone"]["w"], torch.ones(2))


def test_load_errors_say_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt' does not exist; pass the checkpoint.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"weights": torch.ones(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a facecourse training checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
