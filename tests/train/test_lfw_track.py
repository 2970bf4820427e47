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
    assert cfg.data.source == "lfw" and cfg.model.backbone == "mobilefacenet"
    assert 0 < cfg.max_minutes <= 20
    assert (cfg.distill.teacher == "dlib") == (name == "lfw-distill")
    if cfg.distill.teacher:
        assert cfg.model.embedding_dim == 128 and cfg.distill.weight > 0  # dlib's embeddings


@pytest.mark.parametrize("sets, message", [
    ({"distill.teacher": "vgg"}, r"config distill.teacher='vgg': use '' \(none\) or 'dlib'"),
    ({"distill.teacher": "dlib", "distill.teacher_checkpoint": "a.pt"},
     "teacher and distill.teacher_checkpoint are both set"),
    ({"max_minutes": -1}, "config max_minutes=-1: use 0"),
    ({"data.shift_jitter": 1.5}, r"config data.shift_jitter=1.5 must be in \[0, 1\)"),
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
