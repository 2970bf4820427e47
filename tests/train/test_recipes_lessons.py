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


def test_lesson_config_sections_take_a_dict_of_changes_or_a_dataclass():
    from facecourse.train import SiameseConfig
    from facecourse.train.config import validate
    p = get_profile("laptop")
    cfg = lesson_config(p, "CosFace", 1, model={"backbone": "iresnet18", "neck": "fc"},
                        optim={"warmup_epochs": 0.0, "warmup_steps": 7}, max_steps=70)
    assert (cfg.model.backbone, cfg.model.neck, cfg.model.width) == ("iresnet18", "fc", p.width)
    assert cfg.model.embedding_dim == p.embedding_dim and cfg.optim.lr == p.lr
    assert (cfg.optim.warmup_epochs, cfg.optim.warmup_steps, cfg.max_steps) == (0.0, 7, 70)
    siam = lesson_config(p, "ArcFace", 0, objective="siamese", data={"sampler": "pairs"},
                         siamese=SiameseConfig(margin=2.5, ce_weight=1.0))
    validate(siam)
    assert siam.objective == "siamese" and siam.siamese.margin == 2.5 and siam.data.P == 16
    assert lesson_config(p).model is not lesson_config(p).model  # no shared sections
    with pytest.raises(TypeError, match=r"unknown TrainConfig field\(s\) \['modle'\]"):
        lesson_config(p, modle={"width": 1})


def test_real_config_is_the_lesson_recipe_at_the_real_size():
    from facecourse import real_config
    for name in ("smoke", "laptop", "gpu"):
        profile = get_profile(name)
        cfg = real_config(profile, "ArcFace", 3)
        base = lesson_config(profile, "ArcFace", 3)
        assert cfg.model.image_size == profile.real_size != 0
        assert cfg.optim.clip_grad_norm == 5.0 and cfg.optim.lr == base.optim.lr
        assert (cfg.head, cfg.seed, cfg.epochs, cfg.model.backbone) == (base.head, 3, base.epochs, base.model.backbone)
    profile = get_profile("laptop")  # FACECOURSE_PROFILE (make test: smoke) may replace the name
    cfg = real_config(profile, "softmax", 0, epochs=2, model={"width": 0.25}, optim={"clip_grad_norm": 1.0})
    assert (cfg.epochs, cfg.model.width, cfg.model.image_size, cfg.optim.clip_grad_norm) == \
        (2, 0.25, profile.real_size, 1.0)
    assert real_config(get_profile("laptop"), "ArcFace", 0) == real_config(get_profile("laptop"), "ArcFace", 0), \
        "lessons that train the same real-face model must get the same config (fit_cached shares it)"
