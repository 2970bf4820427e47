"""fit(): equals a hand-written loop, both data paths agree, every objective trains, NaN stops."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facecourse.losses import create_head
from facecourse.models import create_backbone
from facecourse.train import TrainingDiverged, fit
from facecourse.models.augment import flip, flip_mask

from _train_tiny import NoBatchNorm, NoImages, tiny_config, tiny_faces


def test_fit_equals_a_hand_written_loop():
    """Same seed, batches, groups, clipping: fit's weights equal a naive SGD loop's."""
    cfg = tiny_config(**{"optim.schedule": "constant", "optim.head_lr": 0.2,
                         "optim.head_weight_decay": 0.0, "optim.clip_grad_norm": 0.5,
                         "data.augment": False, "epochs": 1})
    data = tiny_faces()
    result = fit(cfg, data)

    torch.manual_seed(cfg.seed)
    backbone = create_backbone("convnet", embedding_dim=16, image_size=32, width=0.25)
    head = create_head("arcface", 16, data.num_classes, s=16.0, m=0.2)
    decay = [p for p in backbone.parameters() if p.ndim > 1]
    no_decay = [p for p in backbone.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                           {"params": no_decay, "weight_decay": 0.0},
                           {"params": list(head.parameters()), "weight_decay": 0.0, "lr": 0.2}],
                          lr=0.05, momentum=0.9)
    order = np.random.default_rng([cfg.seed, 0]).permutation(len(data))  # epoch 0's order
    for idx in order.reshape(-1, 16):
        images = data.images[idx].float() / 127.5 - 1
        loss = F.cross_entropy(head(backbone(images), data.labels[idx]), data.labels[idx])
        opt.zero_grad()
        loss.backward()
        params = [p for g in opt.param_groups for p in g["params"]]
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()
    for ours, naive in [(result.backbone, backbone), (result.head, head)]:
        for (name, a), b in zip(ours.state_dict().items(), naive.state_dict().values()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    assert [r["step"] for r in result.history] == [2, 4]


def test_in_memory_batches_equal_the_dataloader_path():
    data = tiny_faces()
    cfg = tiny_config(max_steps=3)
    fast, slow = fit(cfg, data), fit(cfg, NoImages(data))
    for a, b in zip(fast.backbone.state_dict().values(), slow.backbone.state_dict().values()):
        assert torch.equal(a, b)


def test_flip_mask_is_a_slice_of_one_global_draw():
    x = torch.arange(4 * 3 * 2 * 5.0).view(4, 3, 2, 5)
    mask = flip_mask(seed=0, step=7, global_batch=8, lo=0, n=4)
    out = flip(x, mask)
    for i in range(4):
        assert torch.equal(out[i], x[i].flip(-1) if mask[i] else x[i])
    both = torch.cat([flip_mask(0, 7, 8, 0, 4), flip_mask(0, 7, 8, 4, 4)])
    assert torch.equal(both, flip_mask(0, 7, 8, 0, 8)) and torch.equal(both[:4], mask)
    assert 0 < int(flip_mask(0, 7, 1000, 0, 1000).sum()) < 1000


def test_classification_with_center_loss_learns_and_moves_the_centers(monkeypatch):
    from facecourse.losses import CenterLoss
    made = []
    monkeypatch.setattr(CenterLoss, "update_centers",
                        lambda self, e, l, f=CenterLoss.update_centers: (made.append(self), f(self, e, l))[1])
    result = fit(tiny_config(epochs=6, log_every=4, **{
        "optim.lr": 0.1, "classification.center_loss_weight": 0.01}), tiny_faces())
    losses = [r["loss"] for r in result.history]
    assert losses[-1] < 0.8 * losses[0], losses
    assert len(made) == 24 and made[0].centers.abs().sum() > 0  # one update a step


def test_triplet_and_siamese_objectives_train():
    trip = fit(tiny_config(objective="triplet", **{"triplet.mining": "batch_hard",
                           "data.sampler": "pk", "data.P": 4, "data.K": 4}), tiny_faces())
    assert trip.head is None and len(trip.history) == 4
    assert all(np.isfinite(r["loss"]) for r in trip.history)
    siam = fit(tiny_config(objective="siamese", **{
        "siamese.ce_weight": 0.5, "siamese.margin": 1.0, "data.sampler": "pairs",
        "data.cross_age": True, "data.min_age_gap": 5.0}), tiny_faces())
    assert siam.head is not None and all(np.isfinite(r["loss"]) for r in siam.history)


def test_distillation_pulls_the_student_towards_the_teacher():
    data = tiny_faces()
    torch.manual_seed(123)
    teacher = NoBatchNorm().eval()
    torch.manual_seed(0)
    student = NoBatchNorm()
    x = data.images[:32].float() / 127.5 - 1

    def agreement(model):
        with torch.no_grad():
            return F.cosine_similarity(model(x), teacher(x)).mean().item()

    before = agreement(student)
    cfg = tiny_config(epochs=4, **{"distill.weight": 10.0, "optim.lr": 0.02})
    after = agreement(fit(cfg, data, backbone=student, teacher=teacher).backbone)
    assert after > before + 0.3, (before, after)


def test_bf16_autocast_on_cpu_runs():
    result = fit(tiny_config(amp="bf16", max_steps=2), tiny_faces())
    assert np.isfinite(result.history[-1]["loss"])


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_without_bf16_instructions_warns_with_the_fix(monkeypatch, native):
    import warnings
    monkeypatch.setattr(sys.modules["facecourse.train.fit"], "cpu_has_bf16", lambda: native)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(tiny_config(amp="bf16", max_steps=1), tiny_faces())
    said = [str(w.message) for w in caught if "bf16 instructions" in str(w.message)]
    assert len(said) == (0 if native else 1), said
    assert native or "--set amp=off" in said[0]


def test_cpu_has_bf16_reads_the_cpu_flags():
    from facecourse.train.fit import cpu_has_bf16
    flags = open("/proc/cpuinfo").read().split() if Path("/proc/cpuinfo").exists() else None
    if flags is None:
        pytest.skip("no /proc/cpuinfo")
    assert cpu_has_bf16() == ("avx512_bf16" in flags or "amx_tile" in flags)


def test_under_bf16_the_head_computes_in_fp32_and_the_backbone_in_bf16():
    """bf16 would round cos θ near 1 to steps of 2^-8; the head gets fp32 embeddings instead."""
    from facecourse.losses import create_head
    from facecourse.train.fit import _Net
    torch.manual_seed(0)
    backbone = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8))
    net = _Net(backbone, create_head("arcface", 8, 5, s=16.0, m=0.2))
    images, labels = torch.randn(6, 3, 2, 2), torch.arange(6) % 5
    with torch.autocast("cpu", dtype=torch.bfloat16):
        embeddings, logits, _ = net(images, labels)
    assert embeddings.dtype == torch.bfloat16 and logits.dtype == torch.float32
    exact = net.head(embeddings.float(), labels)  # fp32, no autocast
    torch.testing.assert_close(logits, exact)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # what bf16 alone would give: coarser
        coarse = net.head.margin_logits(embeddings, labels, net.head.weight)
    assert coarse.dtype == torch.bfloat16 and (coarse.float() - exact).abs().max() > 1e-3


@pytest.mark.parametrize("gamma, every, message, kept", [
    (1e40, 2, r"the loss was (nan|inf) at step 4", 2),  # weights finite, the next loss is not
    (3e40, 3, r"after step 3 the model held NaN/Inf values \(backbone\..* although the loss was "
               r"still finite", None),
])
def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, gamma,
                                                                  every, message, kept):
    """lr jumps from 1e-2 to 1e-2 * gamma after step 2 (a step schedule): the update of step 3
    blows the weights up; nothing non-finite is ever logged or saved."""
    fit_module = sys.modules["facecourse.train.fit"]
    saved, real_save = [], fit_module.save_checkpoint
    monkeypatch.setattr(fit_module, "save_checkpoint",
                        lambda state, path: (saved.append(state["step"]), real_save(state, path))[1])
    cfg = tiny_config(out_dir=str(tmp_path), checkpoint_every=every, max_steps=8, log_every=100,
                      **{"optim.lr": 1e-2, "optim.schedule": "step", "optim.milestones": [0.5],
                         "optim.gamma": gamma, "optim.clip_grad_norm": 0.0})
    checkpoint = f"the last good checkpoint .*checkpoint.pt' \\(step {kept}\\) was kept" if kept else \
        "no checkpoint was written"
    with pytest.raises(TrainingDiverged, match=message + f"; {checkpoint}. Likely causes: a "
                       r"learning rate too high \(optim.lr=0.01.*margin too large for the scale"):
        fit(cfg, tiny_faces())
    assert saved == ([kept] if kept else [])
    if kept:
        state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
        assert state["step"] == kept
        assert all(v.isfinite().all() for v in state["backbone"].values() if v.is_floating_point())
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_a_teacher_needs_a_distill_weight():
    with pytest.raises(ValueError, match=r"fit\(teacher=...\) needs cfg.distill.weight > 0"):
        fit(tiny_config(max_steps=1), tiny_faces(), teacher=NoBatchNorm())
