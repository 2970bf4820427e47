import numpy as np
import pytest
import torch

from facecourse.eval import class_spread


def test_hand_worked_two_classes():
    e = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 4.0]])
    out = class_spread(e, [0, 0, 5, 5], normalize=False)
    np.testing.assert_array_equal(out["classes"], [0, 5])
    np.testing.assert_allclose(out["intra"], [1.0, 1.0])
    np.testing.assert_allclose(out["centers"], [[2.0, 0.0], [0.0, 3.0]])
    np.testing.assert_allclose(out["inter"], [np.sqrt(13.0)], rtol=1e-6)
    np.testing.assert_allclose(out["nearest"], [np.sqrt(13.0)] * 2, rtol=1e-6)
    assert out["ratio"] == pytest.approx(1.0 / np.sqrt(13.0), rel=1e-6)


def test_normalized_matches_a_naive_loop():
    g = torch.Generator().manual_seed(0)
    e, y = torch.randn(60, 5, generator=g), torch.randint(0, 4, (60,), generator=g)
    out = class_spread(e, y)
    u = torch.nn.functional.normalize(e, dim=1).numpy()
    for k, c in enumerate(out["classes"]):
        members = u[y.numpy() == c]
        centre = members.mean(0)
        assert out["intra"][k] == pytest.approx(np.linalg.norm(members - centre, axis=1).mean(), rel=1e-5)
    assert len(out["inter"]) == 6
    assert out["nearest_mean"] == pytest.approx(out["nearest"].mean())


def test_tighter_classes_give_a_smaller_ratio():
    g = torch.Generator().manual_seed(1)
    centres = torch.randn(5, 8, generator=g) * 3
    y = torch.arange(5).repeat_interleave(20)
    loose = centres[y] + torch.randn(100, 8, generator=g)
    tight = centres[y] + 0.1 * torch.randn(100, 8, generator=g)
    assert class_spread(tight, y)["ratio"] < class_spread(loose, y)["ratio"]


def test_errors():
    with pytest.raises(ValueError, match="one label each"):
        class_spread(torch.zeros(3, 2), [0, 1])
    with pytest.raises(ValueError, match="NaN or Inf"):
        class_spread(torch.tensor([[float("nan"), 0.0], [1.0, 0.0]]), [0, 1])
