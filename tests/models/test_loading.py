"""A backbone back from a checkpoint, without facecourse.train (facecourse/models/loading.py)."""
import pytest
import torch

from facecourse.models import backbone_from_checkpoint, create_backbone, read_checkpoint
from facecourse.models.loading import backbone_from_config

MODEL = {"backbone": "convnet", "embedding_dim": 8, "image_size": 32, "width": 0.25,
         "neck": "gdc", "dropout": 0.0, "sync_bn": False}  # as a run saves it (asdict)


def _save(path, backbone, config):
    torch.save({"backbone": backbone.state_dict(), "config": config}, path)
    return path


def test_the_backbone_and_the_saved_config_come_back(tmp_path):
    torch.manual_seed(0)
    trained = create_backbone("convnet", embedding_dim=8, image_size=32, width=0.25)
    config = {"model": MODEL, "data": {"seed": 3}}
    backbone, cfg = backbone_from_checkpoint(_save(tmp_path / "c.pt", trained, config))
    assert cfg == config and not backbone.training
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(backbone(images), trained.eval()(images))


def test_a_model_config_builds_what_create_backbone_builds():
    torch.manual_seed(0)
    a = backbone_from_config(MODEL)
    torch.manual_seed(0)
    b = create_backbone("convnet", embedding_dim=8, image_size=32, width=0.25)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    with pytest.raises(ValueError, match="names its backbone"):
        backbone_from_config({"embedding_dim": 8})


def test_model_extra_reaches_the_backbones_factory_and_comes_back_from_a_checkpoint(tmp_path):
    model = {**MODEL, "width": 1.0, "extra": {"channels": [16, 24]}}  # JSON: lists, not tuples
    backbone = backbone_from_config(model)
    convs = [m for m in backbone.body if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 16, 24, 24]  # two stages of two convs
    back, _ = backbone_from_checkpoint(_save(tmp_path / "e.pt", backbone, {"model": model}))
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(back(images), backbone.eval()(images))
    with pytest.raises(ValueError, match="does not take model.extra \\['blocks'\\]"):
        backbone_from_config({**MODEL, "extra": {"blocks": [1, 1]}})
    with pytest.raises(TypeError) as failed:  # a keyword it takes, of the wrong kind: not relabelled
        backbone_from_config({**MODEL, "extra": {"channels": ["wide"]}})
    assert "does not take" not in str(failed.value)
    with pytest.raises(ValueError, match="repeats \\['width'\\]"):
        backbone_from_config({**MODEL, "extra": {"width": 2.0}})
    with pytest.raises(ValueError, match="as a dict"):
        backbone_from_config({**MODEL, "extra": [16, 24]})


def test_errors_name_the_checkpoint(tmp_path):
    trained = create_backbone("convnet", embedding_dim=8, image_size=32, width=0.25)
    with pytest.raises(FileNotFoundError, match="none.pt' does not exist"):
        read_checkpoint(tmp_path / "none.pt")
    with pytest.raises(ValueError, match="no 'model' section"):
        backbone_from_checkpoint(_save(tmp_path / "a.pt", trained, {"data": {}}))
    with pytest.raises(ValueError, match="b.pt'.*unknown backbone 'nope'"):
        backbone_from_checkpoint(_save(tmp_path / "b.pt", trained, {"model": {"backbone": "nope"}}))
    wider = {"model": {**MODEL, "width": 0.5}}
    with pytest.raises(ValueError, match="weights do not fit the backbone"):
        backbone_from_checkpoint(_save(tmp_path / "w.pt", trained, wider))
