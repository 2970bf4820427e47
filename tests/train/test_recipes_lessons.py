"""lesson_config / lesson_heads: the one recipe the lessons share (and fit_cached keys on)."""
import dataclasses

import pytest
import torch

from facecourse import get_profile
from facecourse.data import SyntheticFaces
from facecourse.train import HeadConfig, lesson_config, lesson_heads, run_key


def test_lesson_heads_are_the_small_run_settings():
    heads = lesson_heads()
    assert list(heads) == ["softmax", "NormFace", "SphereFace", "CosFace", "ArcFace"]
    assert heads["ArcFace"].kwargs() == {"s": 16.0, "m": 0.25}
    assert heads["CosFace"].kwargs() == {"s": 16.0, "m": 0.2}
    assert heads["SphereFace"].kwargs()["feature_norm"] is False


def test_lesson_config_follows_the_profile_and_overrides():
    p = get_profile("smoke")
    cfg = lesson_config(p, "ArcFace", seed=3, epochs=1)
    assert (cfg.model.backbone, cfg.model.width, cfg.model.image_size) == (p.backbone, p.width, p.image_size)
    assert cfg.head == lesson_heads()["ArcFace"] and cfg.seed == 3 and cfg.epochs == 1
    assert cfg.optim.lr == p.lr and cfg.batch_size == p.batch_size
    custom = HeadConfig(name="cosface", s=8.0, m=0.1)
    assert lesson_config(p, custom).head is custom
    with pytest.raises(KeyError, match="choose one of"):
        lesson_config(p, "arcface")  # the keys are the display names


def test_two_lessons_asking_for_the_same_model_share_one_cache_key():
    p = get_profile("smoke")
    data = SyntheticFaces(4, 2, 32, seed=0)
    a = lesson_config(p, "softmax", 0)
    b = dataclasses.replace(lesson_config(p, "softmax", 0), log_every=1, progress=False)
    assert run_key(a, data) == run_key(b, data)
    assert run_key(a, data) != run_key(lesson_config(p, "softmax", 1), data)
    assert run_key(a, data) != run_key(lesson_config(p, "ArcFace", 0), data)
