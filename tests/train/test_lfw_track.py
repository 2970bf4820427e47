"""The LFW track's training pieces: jitter augmentation, the time guard, the recipes, and the
cache keys that new config fields must leave alone."""
import pytest
import torch

from facecourse.train import TrainConfig, fit, get_recipe, run_key
from facecourse.train.build import jitter
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
    assert (cfg.teacher == "dlib") == (name == "lfw-distill")
    if cfg.teacher:
        assert cfg.model.embedding_dim == 128 and cfg.distill_weight > 0  # dlib's embeddings


@pytest.mark.parametrize("sets, message", [
    ({"teacher": "vgg"}, r"config teacher='vgg': use '' \(none\) or 'dlib'"),
    ({"teacher": "dlib", "teacher_checkpoint": "a.pt"}, "teacher and teacher_checkpoint are both set"),
    ({"max_minutes": -1}, "config max_minutes=-1: use 0"),
    ({"data.shift_jitter": 1.5}, r"config data.shift_jitter=1.5 must be in \[0, 1\)"),
])
def test_config_errors(sets, message):
    with pytest.raises(ValueError, match=message):
        validate(tiny_config(**sets))


def test_new_fields_at_their_defaults_keep_the_cache_keys_of_earlier_runs():
    """The key of this config before the LFW fields existed (torch 2.14.1)."""
    if torch.__version__.split("+")[0] != "2.14.1":
        pytest.skip("the pinned key was computed with torch 2.14.1")
    assert run_key(tiny_config(), tiny_faces()) == "b5d6484f4a31babfa3906f8c"
    assert run_key(tiny_config(max_minutes=3), tiny_faces()) != "b5d6484f4a31babfa3906f8c"
