"""The LFW track's training pieces: jitter augmentation, the time guard, the recipes, and the
cache keys that new config fields must leave alone."""
import pytest
import torch

from facecourse.train import TrainConfig, fit, get_recipe, run_key
from facecourse.models.augment import jitter
from facecourse.train.config import apply_overrides, validate

from _train_tiny import tiny_config, tiny_faces


def test_jitter_is_off_at_zero_and_a_slice_of_one_global_draw():
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    assert torch.equal(jitter(x, 0, 3, 8, 0), x)
    kw = {"scale": 0.1, "shift": 0.05, "color": 0.2}
    full = jitter(x, 0, 3, 8, 0, **kw)
    halves = torch.cat([jitter(x[:4], 0, 3, 8, 0, **kw), jitter(x[4:], 0, 3, 8, 4, **kw)])
    torch.testing.assert_close(full, halves)
    assert torch.equal(full, jitter(x, 0, 3, 8, 0, **kw))  # same (seed, step): same images
    assert not torch.allclose(full, jitter(x, 0, 4, 8, 0, **kw))
    assert full.shape == x.shape and full.min() >= -1 and full.max() <= 1


def test_gray_jitter_turns_a_share_of_the_images_grey_and_leaves_the_rest():
    x = torch.rand(400, 3, 8, 8) * 2 - 1
    out = jitter(x, 0, 5, 400, 0, gray=0.25)
    grey = (out[:, 0] == out[:, 1]).all((1, 2)) & (out[:, 1] == out[:, 2]).all((1, 2))  # (400,)
    assert 70 <= grey.sum() <= 130  # 100 expected
    torch.testing.assert_close(out[~grey], x[~grey])  # the others untouched
    luma = 0.299 * x[grey, 0] + 0.587 * x[grey, 1] + 0.114 * x[grey, 2]
    torch.testing.assert_close(out[grey, 0], luma)
    halves = torch.cat([jitter(x[:100], 0, 5, 400, 0, gray=0.25), jitter(x[100:], 0, 5, 400, 100, gray=0.25)])
    torch.testing.assert_close(out, halves)  # a slice of one global draw, as the other jitters
    # the other jitters draw as before: adding gray changes nothing else they do
    kw = {"scale": 0.1, "shift": 0.05, "color": 0.2}
    both = jitter(x, 0, 5, 400, 0, gray=0.25, **kw)
    torch.testing.assert_close(both[~grey], jitter(x, 0, 5, 400, 0, **kw)[~grey])


def test_jitter_zooms_and_shifts_the_picture():
    x = torch.zeros(1, 3, 32, 32)
    x[..., 12:20, 12:20] = 1.0  # a bright square in the middle
    torch.manual_seed(0)
    out = jitter(x, 0, 0, 1, 0, scale=0.5)
    assert not torch.allclose(out, x) and abs(out.mean() - x.mean()) > 0.005  # area changed
    shifted = jitter(x, 0, 0, 1, 0, shift=0.2)
    rows = (shifted[0, 0] > 0.5).float()
    assert rows.sum() > 0 and not torch.equal(rows, (x[0, 0] > 0.5).float())


def test_fit_with_jitter_trains_and_the_time_guard_stops_a_run(tmp_path):
    cfg = tiny_config(max_steps=6, **{"data.scale_jitter": 0.1, "data.shift_jitter": 0.05,
                                      "data.color_jitter": 0.2})
    assert len(fit(cfg, tiny_faces()).history) == 3
    late = tiny_config(max_steps=50, max_minutes=1e-9, log_every=2, out_dir=str(tmp_path))
    result = fit(late, tiny_faces())
    assert result.history[-1]["step"] == 2 and (tmp_path / "checkpoint.pt").is_file()


@pytest.mark.parametrize("name", ["lfw-scratch", "lfw-distill"])
def test_lfw_recipes_are_valid_and_stop_within_20_minutes(name):
    cfg = TrainConfig.from_dict(apply_overrides(TrainConfig().to_dict(), get_recipe(name)))
    validate(cfg)
    student = {"lfw-scratch": "convnet", "lfw-distill": "iresnet18"}[name]
    assert cfg.data.source == "lfw" and cfg.model.backbone == student and cfg.model.image_size == 64
    # from scratch the threshold is chosen on held-out people (data.hold_out); distilled on all pairs
    assert cfg.data.hold_out == {"lfw-scratch": "people", "lfw-distill": ""}[name]
    assert 0 < cfg.max_minutes <= 20
    assert (cfg.distill.teacher == "dlib") == (name == "lfw-distill")
    if cfg.distill.teacher:
        assert cfg.model.embedding_dim == 128 and cfg.distill.weight > 0  # dlib's embeddings
        assert cfg.distill.relation_weight > 0  # and their in-batch relations


@pytest.mark.parametrize("sets, message", [
    ({"distill.teacher": "vgg"}, r"config distill.teacher='vgg': use '' \(none\) or 'dlib'"),
    ({"distill.teacher": "dlib", "distill.teacher_checkpoint": "a.pt"},
     "teacher and distill.teacher_checkpoint are both set"),
    ({"max_minutes": -1}, "config max_minutes=-1: use 0"),
    ({"data.shift_jitter": 1.5}, r"config data.shift_jitter=1.5 must be in \[0, 1\)"),
    ({"data.gray_jitter": 1.0}, r"config data.gray_jitter=1.0 must be in \[0, 1\)"),
    ({"distill.unlabeled": "att"}, r"config distill.unlabeled='att': use '' \(none\) or 'lag-devtrain'"),
    ({"distill.unlabeled": "lag-devtrain"}, "distill.unlabeled='lag-devtrain' needs distill.teacher='dlib'"),
])
def test_config_errors(sets, message):
    with pytest.raises(ValueError, match=message):
        validate(tiny_config(**sets))


def test_the_cache_key_holds_every_field_and_the_schema_version(monkeypatch):
    """Every field that decides the weights changes the key (no hand-kept list of fields);
    the ignored ones do not; bumping SCHEMA_VERSION changes every key."""
    from facecourse.train import cache
    from facecourse.train.config import _flat
    base = run_key(tiny_config(), tiny_faces())
    assert run_key(tiny_config(), tiny_faces()) == base
    flat = _flat(tiny_config().to_dict())
    for key, value in flat.items():
        if key.split(".")[0] in cache._IGNORED:
            continue
        other = (not value if isinstance(value, bool) else value + 1 if isinstance(value, (int, float))
                 else [0.5, 0.5] if isinstance(value, (list, tuple)) else {"x": 1}
                 if isinstance(value, dict) else 1 if value is None else value + "x")
        changed = TrainConfig.from_dict(apply_overrides(tiny_config().to_dict(), {key: other}))
        assert run_key(changed, tiny_faces()) != base, key
    assert run_key(tiny_config(log_every=7, progress=True, overwrite=True), tiny_faces()) == base
    monkeypatch.setattr(cache, "SCHEMA_VERSION", cache.SCHEMA_VERSION + 1)
    assert run_key(tiny_config(), tiny_faces()) != base


class _SlowClock:
    """A stand-in for fit's `time` module: every training step costs `per_step` seconds."""

    def __init__(self, per_step: float):
        self.now, self.per_step = 1000.0, per_step

    def perf_counter(self) -> float:
        return self.now

    def tick(self, *args):  # fit's extra_loss hook: one call a step
        self.now += self.per_step
        return torch.zeros(())


def _timed_fit(monkeypatch, tmp_path, per_step, **sets):
    import importlib
    fit_module = importlib.import_module("facecourse.train.fit")  # the module, not fit()
    clock = _SlowClock(per_step)
    monkeypatch.setattr(fit_module, "time", clock)
    cfg = tiny_config(**{"max_steps": 40, "log_every": 2, "optim.warmup_steps": 0,
                         "max_minutes": 0.5, "out_dir": str(tmp_path), **sets})
    return fit(cfg, tiny_faces(), extra_loss=clock.tick), clock


def test_fit_to_time_ends_the_cosine_when_the_minutes_end(monkeypatch, tmp_path):
    # 40 steps planned, 30 s of budget, 1.5 s a step: only 20 fit. The guard alone stops at
    # step 20 with the lr still at half its peak; fit_to_time finishes the decay by then.
    guard, _ = _timed_fit(monkeypatch, tmp_path / "guard", 1.5)
    fitted, _ = _timed_fit(monkeypatch, tmp_path / "fitted", 1.5, fit_to_time=True)
    assert guard.history[-1]["step"] == fitted.history[-1]["step"] == 20
    assert guard.history[-1]["lr"] > 0.4 * 0.05
    assert fitted.history[-1]["lr"] < 0.02 * 0.05
    lrs = [r["lr"] for r in fitted.history]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))  # still a decay, never a jump back up
    # a fast machine: everything fits, so fit_to_time changes nothing
    fast, _ = _timed_fit(monkeypatch, tmp_path / "fast", 0.1, fit_to_time=True)
    plain, _ = _timed_fit(monkeypatch, tmp_path / "plain", 0.1)
    assert [r["lr"] for r in fast.history] == [r["lr"] for r in plain.history]
    assert fast.history[-1]["step"] == 40


def test_fit_to_time_counts_the_minutes_over_a_resume(monkeypatch, tmp_path):
    state_path = tmp_path / "run" / "checkpoint.pt"
    first, _ = _timed_fit(monkeypatch, tmp_path / "run", 1.5, fit_to_time=True, max_minutes=0.25)
    state = torch.load(state_path, weights_only=True)
    assert first.history[-1]["step"] == 10 and state["fitted_total_steps"] == 10
    assert state["trained_seconds"] == pytest.approx(15.0)
    # 15 s more in the budget: ~10 steps more, not another 30 s worth, and the decay ends again
    more, _ = _timed_fit(monkeypatch, tmp_path / "run", 1.5, fit_to_time=True, resume=True)
    assert 18 <= more.history[-1]["step"] <= 21 and more.history[-1]["lr"] < 0.05 * 0.05
    assert torch.load(state_path, weights_only=True)["trained_seconds"] == pytest.approx(
        1.5 * more.history[-1]["step"])
