"""The objectives registry: every registered objective trains through fit, one interface."""
import numpy as np
import pytest
import torch

from facecourse.train import TrainConfig, fit
from facecourse.train.config import validate
from facecourse.train.objectives import (Batch, Objective, StepLoss, create_objective,
                                         list_objectives, objective_class, register_objective)
from facecourse.train.objectives import base as objectives_base

from _train_tiny import NoBatchNorm, tiny_config, tiny_faces

# the settings each objective needs to run on the tiny faces
SETTINGS = {
    "classification": {},
    "triplet": {"data.sampler": "pk", "data.P": 4, "data.K": 4},
    "siamese": {"data.sampler": "pairs", "siamese.ce_weight": 0.5},
    "distill": {"distill.weight": 1.0},
}


def test_every_objective_is_listed_here():
    assert sorted(list_objectives()) == sorted(SETTINGS)


@pytest.mark.parametrize("name", list_objectives())
def test_each_objective_trains_and_says_what_it_needs(name):
    cfg = tiny_config(objective=name, max_steps=3, log_every=1, **SETTINGS[name])
    kind = objective_class(name)
    teacher = NoBatchNorm() if name == "distill" else None
    result = fit(cfg, tiny_faces(), teacher=teacher)
    assert [r["step"] for r in result.history] == [1, 2, 3]
    assert all(np.isfinite(r["loss"]) and r["loss"] > 0 for r in result.history)
    assert (result.head is not None) == kind.uses_head(cfg)
    # one batch through the objective by hand: the interface fit uses
    objective = create_objective(cfg, 8, torch.device("cpu"))
    images = [torch.rand(8, 3, 32, 32) * 2 - 1 for _ in range(2 if kind.pairs else 1)]
    labels = [torch.arange(8) % 4 for _ in images]
    backbone = result.backbone.train()
    def net(x, y):
        e = backbone(x)
        return e, None if result.head is None else result.head.train()(e, y), {}

    out = objective.loss(net, Batch(images, labels, None))
    assert isinstance(out, StepLoss) and out.loss.dim() == 0
    assert out.embeddings.shape == (8 * len(images), 16) and out.images.shape[0] == 8 * len(images)


def test_objectives_refuse_a_wrong_sampler():
    with pytest.raises(ValueError, match="objective='triplet' needs data.sampler='pk'"):
        validate(tiny_config(objective="triplet"))
    with pytest.raises(ValueError, match="objective='siamese' needs data.sampler='pairs'"):
        validate(tiny_config(objective="siamese"))
    with pytest.raises(ValueError, match="config triplet.mining='hard' is not one of semi_hard"):
        validate(tiny_config(objective="triplet", **{**SETTINGS["triplet"], "triplet.mining": "hard"}))
    with pytest.raises(ValueError, match="config objective='arc' is not one of classification, "):
        validate(tiny_config(objective="arc"))


def test_a_new_objective_is_one_class(monkeypatch):
    """Registering an objective is all it takes for fit and validate to accept it."""
    monkeypatch.setattr(objectives_base, "_OBJECTIVES", dict(objectives_base._OBJECTIVES))

    @register_objective("norm")
    class Norm(Objective):  # pull the embeddings towards unit length (a toy)
        def loss(self, net, batch):
            embeddings, _, _ = net(batch.images[0], batch.labels[0])
            loss = (embeddings.float().norm(dim=1) - 1).pow(2).mean()
            return StepLoss(loss, embeddings, batch.labels[0], batch.images[0])

    result = fit(tiny_config(objective="norm", max_steps=4, log_every=2), tiny_faces())
    assert result.head is None and result.history[-1]["loss"] < result.history[0]["loss"]
    with pytest.raises(ValueError, match="registered twice"):
        register_objective("norm")(Norm)


def test_configs_with_the_old_flat_fields_still_load():
    """config.json files and checkpoints written before the per-objective sections."""
    old = {"objective": "siamese", "ce_weight": 0.5, "contrastive_margin": 2.5,
           "contrastive_form": "report", "center_loss_weight": 0.01, "mining": "batch_hard",
           "distill_weight": 3.0, "teacher": "dlib", "data": {"sampler": "pairs"}}
    cfg = TrainConfig.from_dict(old)
    assert (cfg.siamese.ce_weight, cfg.siamese.margin, cfg.siamese.form) == (0.5, 2.5, "report")
    assert cfg.classification.center_loss_weight == 0.01 and cfg.triplet.mining == "batch_hard"
    assert (cfg.distill.weight, cfg.distill.teacher) == (3.0, "dlib")
    assert "ce_weight" not in cfg.to_dict() and cfg.to_dict()["siamese"]["ce_weight"] == 0.5
