"""gallery_probe_scores against a naive double loop; degradation_curves against its definition."""
import numpy as np
import pytest
import torch
from torch import nn

from facecourse.eval import (all_pairs_scores, auc, degradation_curves, embed, gallery_probe_scores,
                             tar_at_far)


def test_gallery_probe_scores_match_a_naive_loop_in_any_chunking():
    g = torch.Generator().manual_seed(0)
    gallery, probe = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    labels = np.array([0, 0, 1, 1, 1, 2, 3])
    want_s, want_y = [], []
    for i in range(7):  # naive: every gallery i against every probe j != i
        for j in range(7):
            if i != j:
                want_s.append(float(gallery[i] @ probe[j] / gallery[i].norm() / probe[j].norm()))
                want_y.append(labels[i] == labels[j])
    for chunk in (1, 3, 2048):
        scores, issame = gallery_probe_scores(gallery, probe, labels, chunk=chunk)
        torch.testing.assert_close(scores, torch.tensor(want_s))
        assert issame.tolist() == want_y


def test_gallery_probe_scores_errors():
    with pytest.raises(ValueError, match=r"same N images with N labels, got \(3, 4\), \(2, 4\)"):
        gallery_probe_scores(torch.ones(3, 4), torch.ones(2, 4), [0, 1, 2])
    with pytest.raises(ValueError, match="at least two images"):
        gallery_probe_scores(torch.ones(1, 4), torch.ones(1, 4), [0])


class Pixels(nn.Module):
    """Images (B, 3, 4, 4) -> their pixels, flattened (a fixed, parameter-carrying 'backbone')."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.scale * x.flatten(1)


def _faces():
    g = torch.Generator().manual_seed(1)
    centres = torch.randint(40, 216, (6, 3, 4, 4), generator=g)
    labels = torch.arange(6).repeat_interleave(4)
    noise = torch.randint(-30, 31, (24, 3, 4, 4), generator=g)
    return (centres[labels] + noise).clamp(0, 255).to(torch.uint8), labels


def test_degradation_curves_follow_their_definition():
    images, labels = _faces()
    models = {"pixels": Pixels()}
    darken = lambda x, gain: (x.float() * gain).round().to(torch.uint8)  # noqa: E731
    levels = [None, 0.5, 0.2]
    out = degradation_curves(models, images, labels, darken, levels, far=0.1)
    gallery = embed(models["pixels"], images)
    for k, level in enumerate(levels):
        probe = embed(models["pixels"], images if level is None else darken(images, level))
        s, y = gallery_probe_scores(gallery, probe, labels)
        assert out["pixels"]["tar"][k] == tar_at_far(s.numpy(), y.numpy(), 0.1)
        assert out["pixels"]["auc"][k] == auc(s.numpy(), y.numpy())
    both = degradation_curves(models, images, labels, darken, [0.5], far=0.1, protocol="both")
    s, y = all_pairs_scores(embed(models["pixels"], darken(images, 0.5)), labels)
    assert both["pixels"]["auc"][0] == auc(s.numpy(), y.numpy())
    with pytest.raises(ValueError, match="protocol must be one of"):
        degradation_curves(models, images, labels, darken, levels, protocol="gallery")


def test_degradation_curves_say_when_far_is_below_resolution():
    from facecourse.eval import FARResolutionWarning

    images, labels = _faces()
    with pytest.warns(FARResolutionWarning, match="below the resolution"):
        out = degradation_curves({"pixels": Pixels()}, images, labels, lambda x, _: x, [None], far=1e-6)
    s, y = gallery_probe_scores(embed(Pixels(), images), embed(Pixels(), images), labels)
    with pytest.warns(FARResolutionWarning):
        assert out["pixels"]["tar"][0] == tar_at_far(s.numpy(), y.numpy(), 1e-6)
