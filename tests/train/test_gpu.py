"""CUDA: fp16 autocast + GradScaler and channels_last by default; the scaler is checkpointed."""
import pytest
import torch

from facecourse.train import fit

from _train_tiny import tiny_config, tiny_faces

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_fit_on_cuda_uses_fp16_and_channels_last(tmp_path):
    cfg = tiny_config(device="cuda", amp="auto", channels_last="auto", out_dir=str(tmp_path),
                      max_steps=4)
    result = fit(cfg, tiny_faces())
    conv = result.backbone.body[0].weight
    assert conv.is_cuda and conv.is_contiguous(memory_format=torch.channels_last)
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in result.history)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert state["scaler"]["scale"] > 0  # GradScaler was on and saved
    resumed = fit(tiny_config(device="cuda", out_dir=str(tmp_path), max_steps=6, resume=True),
                  tiny_faces())
    assert resumed.history[-1]["step"] == 6
