"""Parameter groups (the head's own lr / weight decay) and the warmup + cosine / step schedules."""
import math

import pytest
import torch
from torch import nn

from facecourse.train import OptimConfig, WarmupSchedule, build_optimizer, build_scheduler, param_groups


def _model():
    backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2))
    backbone(torch.zeros(1, 3, 5, 5))
    return backbone, nn.Linear(2, 7, bias=False)


def test_groups_split_decay_and_give_the_head_its_own_settings():
    backbone, head = _model()
    cfg = OptimConfig(lr=0.1, weight_decay=5e-4, head_lr=0.01, head_weight_decay=0.0)
    groups = {g["name"]: g for g in param_groups(backbone, head, cfg)}
    assert {id(p) for p in groups["backbone"]["params"]} == {
        id(backbone[0].weight), id(backbone[3].weight)}
    assert len(groups["backbone_no_decay"]["params"]) == 4  # conv bias, BN weight+bias, fc bias
    assert groups["backbone_no_decay"]["weight_decay"] == 0.0
    assert groups["head"]["lr"] == 0.01 and groups["head"]["weight_decay"] == 0.0
    n = sum(len(g["params"]) for g in groups.values())
    assert n == len(list(backbone.parameters())) + 1
    same = {g["name"]: g for g in param_groups(backbone, head, OptimConfig(lr=0.3))}
    assert same["head"]["lr"] == 0.3 and same["head"]["weight_decay"] == 5e-4


def test_sgd_step_matches_the_update_rule_per_group():
    backbone, head = _model()
    cfg = OptimConfig(lr=0.1, momentum=0.0, weight_decay=0.5, head_lr=0.01, head_weight_decay=0.0)
    opt = build_optimizer(param_groups(backbone, head, cfg), cfg)
    w, hw = backbone[0].weight.detach().clone(), head.weight.detach().clone()
    backbone[0].weight.grad = torch.ones_like(w)
    head.weight.grad = torch.ones_like(hw)
    opt.step()
    torch.testing.assert_close(backbone[0].weight, w - 0.1 * (1 + 0.5 * w))
    torch.testing.assert_close(head.weight, hw - 0.01 * 1)
    adam = build_optimizer(param_groups(backbone, head, cfg), OptimConfig(name="adamw"))
    assert isinstance(adam, torch.optim.AdamW)
    with pytest.raises(ValueError, match="optim.name='adam': use 'sgd' or 'adamw'"):
        build_optimizer(param_groups(backbone, head, cfg), OptimConfig(name="adam"))


def test_cosine_matches_torch_cosine_annealing():
    p = nn.Parameter(torch.zeros(1))
    ours = build_scheduler(torch.optim.SGD([p], lr=0.2), OptimConfig(lr=0.2), 20, 5)
    ref_opt = torch.optim.SGD([p], lr=0.2)
    ref = torch.optim.lr_scheduler.CosineAnnealingLR(ref_opt, T_max=20)
    for _ in range(20):
        assert ours.get_last_lr()[0] == pytest.approx(ref.get_last_lr()[0], abs=1e-12)
        ours.optimizer.step(), ours.step(), ref_opt.step(), ref.step()


def test_warmup_then_cosine_and_step_by_hand():
    f = WarmupSchedule(total_steps=14, warmup_steps=4, schedule="cosine", min_ratio=0.1)
    assert [f(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert f(4) == 1.0 and f(14) == pytest.approx(0.1)
    assert f(9) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    g = WarmupSchedule(100, 0, "step", milestone_steps=[10, 30], gamma=0.1)
    assert [g(9), g(10), g(29), g(30)] == [1.0, 0.1, 0.1, pytest.approx(0.01)]
    p = nn.Parameter(torch.zeros(1))
    sched = build_scheduler(torch.optim.SGD([p], lr=1.0),
                            OptimConfig(lr=1.0, schedule="step", milestones=[2], warmup_epochs=1),
                            total_steps=40, steps_per_epoch=10)
    f = sched.lr_lambdas[0]
    assert f.warmup_steps == 10 and f.milestone_steps == [20]
    assert WarmupSchedule(10, 0, "constant")(7) == 1.0
