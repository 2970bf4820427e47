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


def test_recipe_config_is_the_named_recipe_at_the_lessons_budget():
    from facecourse.train import get_recipe, recipe_config
    from facecourse.train.config import TrainConfig, apply_overrides
    for name in ("smoke", "laptop", "gpu"):
        profile = get_profile(name)
        cfg = recipe_config(profile, "lfw-distill", 2, epochs=3)
        whole = TrainConfig.from_dict(apply_overrides(TrainConfig().to_dict(), get_recipe("lfw-distill")))
        # the recipe's network, objective, loss weight, optimiser and augmentation ...
        assert (cfg.objective, cfg.distill, cfg.model.backbone, cfg.model.width, cfg.model.dropout,
                cfg.optim, cfg.data.scale_jitter, cfg.head) == \
            (whole.objective, whole.distill, whole.model.backbone, whole.model.width, whole.model.dropout,
             whole.optim, whole.data.scale_jitter, whole.head)
        # ... at the lesson's size, batch, device and epochs, with no wall-clock cut
        assert (cfg.model.image_size, cfg.batch_size, cfg.device, cfg.amp, cfg.epochs, cfg.seed,
                cfg.max_minutes) == (profile.real_size, profile.batch_size, profile.device, profile.amp,
                                     3, 2, 0)
    with pytest.raises(KeyError, match="unknown recipe 'lfw-nope'"):
        recipe_config(get_profile("smoke"), "lfw-nope")
    with pytest.raises(TypeError, match=r"recipe_config\(\): unknown TrainConfig field"):
        recipe_config(get_profile("smoke"), "lfw-scratch", epoch=2)


def test_the_lfw_recipes_train_at_the_smoke_size(tmp_path):
    """Lesson 08's real-face students (recipe_config of lfw-scratch / lfw-distill) train at the
    smallest real-face size: MobileFaceNet at 32 px, the distilled one on a teacher table."""
    from facecourse.train import EmbeddingTable, fit, recipe_config
    profile = get_profile("smoke")
    faces = SyntheticFaces(num_identities=8, images_per_identity=8, image_size=profile.real_size, seed=0)  # one batch of 64
    table = torch.nn.functional.normalize(torch.randn(len(faces), 128, generator=torch.Generator().manual_seed(0)), dim=1)
    for name, teacher in (("lfw-scratch", None), ("lfw-distill", EmbeddingTable(table))):
        cfg = recipe_config(profile, name, 0, max_steps=4, progress=False, checkpoint_every=0,
                            out_dir=str(tmp_path / name), optim={"warmup_epochs": 0})
        r = fit(cfg, faces, teacher=teacher)
        assert len(r.history) >= 1 and all(torch.isfinite(torch.tensor(h["loss"])) for h in r.history)
        emb = r.backbone(torch.zeros(2, 3, profile.real_size, profile.real_size))
        assert emb.shape == (2, 128)
