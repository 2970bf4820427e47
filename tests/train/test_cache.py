"""fit_cached trains once per (config, data, starting weights) and returns the same run after."""
import pytest
import torch

import facecourse.train.cache as cache_mod
from facecourse.train import fit_cached, run_key

from _train_tiny import tiny_config, tiny_faces


def test_second_call_loads_the_finished_run_without_training(tmp_path, monkeypatch):
    monkeypatch.delenv("FACECOURSE_NO_CACHE", raising=False)
    data, cfg = tiny_faces(), tiny_config(epochs=1)
    first = fit_cached(cfg, data, cache_dir=tmp_path)
    assert (first.out_dir / "done").is_file()

    def no_training(*a, **k):
        raise AssertionError("fit() ran although the run was cached")
    monkeypatch.setattr(cache_mod, "fit", no_training)
    again = fit_cached(cfg, data, cache_dir=tmp_path)
    for a, b in zip(first.backbone.state_dict().values(), again.backbone.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(first.head.state_dict().values(), again.head.state_dict().values()):
        assert torch.equal(a, b)
    assert again.history == first.history and not again.backbone.training


def test_key_changes_with_what_decides_the_weights():
    data, cfg = tiny_faces(), tiny_config(epochs=1)
    key = run_key(cfg, data)
    assert run_key(tiny_config(epochs=1, progress=True, log_every=7), data) == key
    assert run_key(tiny_config(epochs=2), data) != key
    assert run_key(cfg, tiny_faces(seed=1)) != key
    start = torch.nn.Linear(2, 2)
    assert run_key(cfg, data, start) != key


def test_unfinished_run_is_not_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("FACECOURSE_NO_CACHE", raising=False)
    data, cfg = tiny_faces(), tiny_config(epochs=1)
    first = fit_cached(cfg, data, cache_dir=tmp_path)
    (first.out_dir / "done").unlink()
    calls = []
    real_fit = cache_mod.fit
    monkeypatch.setattr(cache_mod, "fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    fit_cached(cfg, data, cache_dir=tmp_path)
    assert calls == [1]


def test_data_without_images_tensor_is_refused():
    with pytest.raises(TypeError, match="in-memory `images` tensor"):
        run_key(tiny_config(), [(torch.zeros(3, 32, 32), 0)])
