"""The margin explorer widget: sliders move the figure's data; the toy model trains."""
import math
import time

import numpy as np
import pytest
import torch

from facecourse.viz import ToyMarginTrainer, margin_explorer


def test_curves_mode_sliders_redraw():
    box = margin_explorer(m2=0.5, s=10.0)
    assert set(box.sliders) == {"m1", "m2", "m3", "s"}
    target = box.figure.axes[0].get_lines()[1]
    theta = np.radians(target.get_xdata())
    ok = (theta + 0.5 <= math.pi) & (theta > 0.01)  # heads clamp cos θ away from 1
    np.testing.assert_allclose(target.get_ydata()[ok], 10 * np.cos(theta[ok] + 0.5), atol=1e-5)
    gap_before = box.figure.axes[1].get_title()
    box.sliders["m2"].value = 0.0  # moving a slider redraws: now plain cos θ
    np.testing.assert_allclose(target.get_ydata()[1:], 10 * np.cos(theta[1:]), atol=1e-5)
    assert "gap 0.0%" in box.figure.axes[1].get_title() != gap_before
    t0 = time.perf_counter()
    box.update(m3=0.35, s=20.0)
    elapsed = time.perf_counter() - t0
    np.testing.assert_allclose(target.get_ydata()[1:], 20 * (np.cos(theta[1:]) - 0.35), atol=1e-5)
    assert elapsed < 2.0  # renders the PNG too; ~0.2 s on a laptop core
    line = box.figure.axes[2].get_lines()[0]  # p(class 1) from centre 1 (0°) to centre 2 (60°)
    phi = np.radians(line.get_xdata())
    expected = 1 / (1 + np.exp(20 * np.cos(math.pi / 3 - phi) - 20 * (np.cos(phi) - 0.35)))
    np.testing.assert_allclose(line.get_ydata()[1:], expected[1:], atol=1e-5)
    assert line.get_ydata()[0] == pytest.approx(1 / (1 + math.exp(-3)), abs=1e-4)
    with pytest.raises(ValueError, match="update: unknown slider 'm4'"):
        box.update(m4=1.0)


def test_explorer_errors():
    with pytest.raises(ValueError, match="mode must be 'curves' or 'train'"):
        margin_explorer(mode="3d")
    with pytest.raises(ValueError, match=r"unknown slider\(s\) \['margin'\]"):
        margin_explorer(margin=0.5)


def test_train_mode_draws_features_and_margin_tightens_classes():
    torch.set_num_threads(1)
    box = margin_explorer(mode="train", display_figure=False,
                          trainer=ToyMarginTrainer(per_class=20, seed=0))
    points = box.figure.axes[0].collections[0]
    before = np.array(points.get_offsets()).copy()
    box.update(m2=0.0, s=16.0)
    plain = box.train(steps=100, draw_every=50)
    after = np.array(points.get_offsets())
    assert not np.allclose(before, after)
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), 1.0, rtol=1e-5)
    assert plain["accuracy"] > 0.9
    spread_plain = box.trainer.angular_spread()
    box.update(m2=0.5)
    margin = box.train(steps=100)
    assert margin["accuracy"] > 0.9
    assert box.trainer.angular_spread() < 0.8 * spread_plain  # the margin pulls classes tight
    assert len(box.figure.axes[1].get_lines()[0].get_xdata()) == 100


def test_toy_trainer_is_reproducible():
    a, b = ToyMarginTrainer(per_class=10, seed=3), ToyMarginTrainer(per_class=10, seed=3)
    a.run(5)
    b.run(5)
    assert a.history == b.history
