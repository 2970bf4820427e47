"""Plots render headless (Agg) and hold the data they should."""
import math

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from facecourse.viz import (
    PAPER_CURVES, cluster_gallery, decision_regions, image_grid, plot_embeddings_2d,
    plot_history, plot_roc, plot_score_hist, plot_sphere, plot_target_logits, target_logit_curves,
)

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _scores(n=300, seed=0):
    rng = np.random.default_rng(seed)
    issame = rng.random(n) < 0.5
    return rng.normal(issame * 1.5, 1.0), issame


def test_plot_roc_log_axis_and_data():
    scores, issame = _scores()
    fpr, tpr, _ = roc_curve(issame, scores)
    fig = plot_roc({"model A": (fpr, tpr), "model B": {"scores": scores, "issame": issame}})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    lines = [ln for ln in ax.get_lines() if ln.get_label() and not ln.get_label().startswith("_")]
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_xdata(), fpr[fpr > 0])  # FAR = 0 dropped on log axis
    np.testing.assert_allclose(lines[0].get_ydata(), tpr[fpr > 0])
    assert "AUC" in lines[1].get_label()
    fig.canvas.draw()
    lin = plot_roc((fpr, tpr), log_far=False)
    assert lin.axes[0].get_xscale() == "linear" and len(lin.axes[0].get_lines()) == 1
    with pytest.raises(ValueError, match="needs keys 'fpr' and 'tpr'"):
        plot_roc({"x": {"auc": 0.5}})


def test_plot_score_hist_threshold_and_counts():
    scores, issame = _scores()
    fig = plot_score_hist(scores, issame, threshold=0.7, bins=20)
    ax = fig.axes[0]
    assert len(ax.patches) == 40  # 20 bars per class
    vline = ax.get_lines()[0]
    assert vline.get_xdata()[0] == pytest.approx(0.7)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"genuine ({issame.sum()})" in labels and f"impostor ({(~issame).sum()})" in labels
    heights = np.array([p.get_height() for p in ax.patches[:20]])
    widths = np.array([p.get_width() for p in ax.patches[:20]])
    assert (heights * widths).sum() == pytest.approx(1.0)  # a density
    scores[4] = np.nan
    with pytest.raises(ValueError, match="1 non-finite value"):
        plot_score_hist(scores, issame)


def test_plot_history_panels():
    history = [{"step": s, "epoch": s / 10, "loss": 5 / s, "lr": 0.1 * 0.9 ** s, "time_s": s}
               for s in range(1, 21)]
    fig = plot_history(history)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "lr"]
    assert fig.axes[1].get_yscale() == "log"
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [5 / s for s in range(1, 21)])
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_xdata(), range(1, 21))
    with pytest.raises(ValueError, match="the history is empty"):
        plot_history([])
    with pytest.raises(ValueError, match=r"no row has \['acc'\]"):
        plot_history(history, keys=["acc"])


def test_image_grid_and_cluster_gallery():
    images = torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8)
    fig = image_grid(images, nrow=4, titles=[f"#{i}" for i in range(10)])
    assert len(fig.axes) == 12  # 3 rows x 4
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert len(shown) == 10 and shown[3].get_title() == "#3"
    np.testing.assert_array_equal(shown[3].get_images()[0].get_array(),
                                  images[3].permute(1, 2, 0).numpy())
    ids = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
    truth = np.array([5, 5, 6, 7, 7, 8, 8, 8, 8, 9])
    fig = cluster_gallery(images, ids, labels=truth, max_clusters=3, per_cluster=4)
    axes = np.array(fig.axes).reshape(3, 4)
    assert "cluster 2" in axes[0, 0].get_ylabel()  # the largest cluster comes first
    assert sum(bool(ax.get_images()) for ax in axes[1]) == 3
    red = [ax.get_title() for ax in fig.axes if ax.title.get_color() == "red"]
    assert red == ["6"]  # the one face not of its cluster's main identity
    with pytest.raises(ValueError, match="must be uint8"):
        image_grid(images.float())
    with pytest.raises(ValueError, match="2 titles for 10 images"):
        image_grid(images, titles=["a", "b"])
    with pytest.raises(ValueError, match="3 cluster ids for 10 images"):
        cluster_gallery(images, [0, 1, 2])


def test_embedding_plots():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 10)
    emb2 = rng.normal(size=(40, 2)) * 3
    fig = plot_embeddings_2d(emb2, labels, mode="circle", centers=np.eye(2)[[0, 1, 0, 1]])
    ax = fig.axes[0]
    assert len(ax.collections) == 4
    pts = np.concatenate([c.get_offsets() for c in ax.collections])
    np.testing.assert_allclose(np.linalg.norm(pts, axis=1), 1.0, rtol=1e-6)
    fig = plot_embeddings_2d(rng.normal(size=(40, 8)), labels)  # PCA to 2-D
    assert len(fig.axes[0].collections) == 4
    fig = plot_sphere(rng.normal(size=(40, 3)), labels, centers=np.eye(3))
    assert fig.axes[0].name == "3d"
    with pytest.raises(ValueError, match="mode='circle' needs 2-D features, got 8-d"):
        plot_embeddings_2d(rng.normal(size=(40, 8)), labels, mode="circle")
    with pytest.raises(ValueError, match="plot_sphere needs \\(N, 3\\) embeddings"):
        plot_sphere(emb2, labels)
    with pytest.raises(ValueError, match="method must be 'pca' or 'tsne'"):
        plot_embeddings_2d(rng.normal(size=(40, 8)), labels, method="umap")


def test_target_logit_curves_match_the_papers():
    theta, curves = target_logit_curves(num=181)
    pos = theta > 0.01  # the heads clamp cos θ to 1 - 1e-7 (finite gradient of arccos)
    assert list(curves) == list(PAPER_CURVES)
    np.testing.assert_allclose(curves["Softmax"], np.cos(theta), atol=1e-12)
    np.testing.assert_allclose(curves["CosFace (m3=0.35)"], np.cos(theta) - 0.35, atol=1e-6)
    ok = (theta + 0.5 <= math.pi - 1e-6) & pos
    np.testing.assert_allclose(curves["ArcFace (m2=0.5)"][ok], np.cos(theta[ok] + 0.5), atol=1e-6)
    ok = (theta + 0.3 <= math.pi - 1e-6) & pos
    np.testing.assert_allclose(curves["Combined (1, 0.3, 0.2)"][ok],
                               np.cos(theta[ok] + 0.3) - 0.2, atol=1e-6)
    sphere = curves["SphereFace (m1=4)"]  # ψ(θ): cos 4θ on [0, π/4], ends at -7 at θ = π
    first = (theta <= math.pi / 4) & pos
    np.testing.assert_allclose(sphere[first], np.cos(4 * theta[first]), atol=1e-5)
    assert sphere[-1] == pytest.approx(-7, abs=1e-4)
    assert np.all(np.diff(sphere) <= 1e-9)  # monotonically decreasing
    fig = plot_target_logits()
    lines = fig.axes[0].get_lines()
    assert len(lines) == 5 and lines[0].get_xdata()[-1] == pytest.approx(180)
    fig = plot_target_logits({"m=0.2": ("arcface", {"m": 0.2})}, degrees=False)
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata()[5:50], np.cos(line.get_xdata()[5:50] + 0.2), atol=1e-6)


def test_decision_regions_hand_worked():
    # no margin: the two regions meet on the bisectors; CosFace m: boundary cos θ1 - m = cos θ2
    delta = math.pi / 2
    phi, c1, c2 = decision_regions(lambda c: c, delta, num=721)
    assert not (c1 & c2).any() and (c1 | c2).mean() > 0.99
    phi, c1, c2 = decision_regions(lambda c: c - 0.2, delta, num=721)
    inside = (phi > 0) & (phi < delta)
    # on the arc between the centres class 1 wins while cos φ - 0.2 > cos(Δ - φ)
    expected = np.cos(phi) - 0.2 > np.cos(delta - phi)
    np.testing.assert_array_equal(c1[inside], expected[inside])
    assert ((~c1 & ~c2)[inside]).sum() > 0  # the margin leaves a gap
