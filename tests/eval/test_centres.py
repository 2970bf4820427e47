"""class_centres and centre_similarity against a naive loop."""
import math

import pytest
import torch

from facecourse.eval import centre_similarity, class_centres


def test_centres_and_similarity_match_a_naive_loop():
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(12, 5, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 2, 2, 2, 1, 0, 3, 3, -1, 1])
    centres = class_centres(emb, labels)
    sim = centre_similarity(emb, labels)
    assert centres.shape == (4, 5)
    for c in range(4):
        unit = [emb[i] / emb[i].norm() for i in range(12) if labels[i] == c]
        mean = sum(unit) / len(unit)
        torch.testing.assert_close(centres[c], (mean / mean.norm()).float())
    for i in range(12):
        if labels[i] < 0:
            assert math.isnan(sim[i])
        else:
            expected = float(emb[i] @ centres[labels[i]].double()) / float(emb[i].norm())
            assert float(sim[i]) == pytest.approx(expected, abs=1e-6)


def test_an_outlier_sits_far_from_its_centre():
    emb = torch.tensor([[1.0, 0.0], [0.9, 0.1], [1.0, 0.05], [-1.0, 0.2]])
    sim = centre_similarity(emb, [0, 0, 0, 0])
    assert sim.argmin() == 3 and sim[:3].min() > 0.9
    with pytest.raises(ValueError, match="one label each"):
        class_centres(emb, [0, 0])
