"""Embedding pictures: 2-D scatter (or the unit circle, ArcFace's 8-identity toy figure) and
3-D points on the sphere. Both return their Figure.

Lessons 01 and 02 draw their unit-circle and sphere figures with it.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from facecourse.eval._checks import check_finite, to_numpy

from .margins import _figure_axes


def _colors(labels: np.ndarray):
    import matplotlib

    names = np.unique(labels)
    cmap = matplotlib.colormaps["tab10" if names.size <= 10 else "tab20"]
    index = {n: i for i, n in enumerate(names)}
    return names, [cmap(index[n] % cmap.N) for n in names]


def _to_2d(e: np.ndarray, method: str, seed: int) -> np.ndarray:
    if e.shape[1] == 2:
        return e
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(e)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(2.0, (len(e) - 1) / 3))
        return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(e)
    raise ValueError(f"method must be 'pca' or 'tsne' for {e.shape[1]}-d embeddings, got {method!r}")


def plot_embeddings_2d(embeddings, labels, mode: str = "scatter", centers=None,
                       method: str = "pca", seed: int = 0, ax=None) -> Figure:
    """Embeddings coloured by identity.

    ``mode="scatter"``: the raw 2-D features (higher-dimensional ones projected with `method`,
    ``"pca"`` or ``"tsne"``). ``mode="circle"``: 2-D features normalized onto the unit circle,
    the picture of the ArcFace paper's 8-identity toy experiment, with the class centres
    `centers` (C, 2) (e.g. ``head.weight``) drawn as rays from the origin.
    """
    e = to_numpy(embeddings, "embeddings", np.float64)
    y = to_numpy(labels, "labels").reshape(-1)
    if e.ndim != 2 or len(e) != len(y):
        raise ValueError(f"embeddings must be (N, D) with one label each; got {e.shape} and "
                         f"{y.shape[0]} labels")
    check_finite(e.reshape(-1), "embeddings")
    if mode not in ("scatter", "circle"):
        raise ValueError(f"mode must be 'scatter' or 'circle', got {mode!r}")
    if mode == "circle" and e.shape[1] != 2:
        raise ValueError(f"mode='circle' needs 2-D features, got {e.shape[1]}-d (train with "
                         "embedding_dim=2, or use mode='scatter')")
    xy = _to_2d(e, method, seed)
    if mode == "circle":
        xy = xy / np.maximum(np.linalg.norm(xy, axis=1, keepdims=True), 1e-12)
    fig, ax = _figure_axes(ax, (5, 5))
    names, colors = _colors(y)
    for name, color in zip(names, colors):
        pts = xy[y == name]
        ax.scatter(pts[:, 0], pts[:, 1], s=8, color=color, label=str(name), alpha=0.7)
    if mode == "circle":
        t = np.linspace(0, 2 * np.pi, 361)
        ax.plot(np.cos(t), np.sin(t), color="0.7", lw=0.8, zorder=0)
        if centers is not None:
            w = to_numpy(centers, "centers", np.float64)
            w = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
            for (cx, cy), color in zip(w, colors if len(w) == len(colors) else ["k"] * len(w)):
                ax.plot([0, 1.15 * cx], [0, 1.15 * cy], color=color, lw=1.5)
        ax.set_xlim(-1.25, 1.25)
        ax.set_ylim(-1.25, 1.25)
    ax.set_aspect("equal")
    if names.size <= 20:
        ax.legend(fontsize=7, markerscale=2, loc="upper right", ncol=2 if names.size > 10 else 1)
    ax.set_title("features on the unit circle" if mode == "circle" else "embeddings")
    return fig


def plot_sphere(embeddings3, labels, centers=None, ax=None) -> Figure:
    """3-D embeddings normalized onto the unit sphere (wireframe), coloured by identity."""
    e = to_numpy(embeddings3, "embeddings3", np.float64)
    y = to_numpy(labels, "labels").reshape(-1)
    if e.ndim != 2 or e.shape[1] != 3 or len(e) != len(y):
        raise ValueError(f"plot_sphere needs (N, 3) embeddings and N labels, got {e.shape} and "
                         f"{y.shape[0]} labels (train with embedding_dim=3)")
    check_finite(e.reshape(-1), "embeddings3")
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    fig, ax = _figure_axes(ax, (5.5, 5.5), projection="3d")
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 25), np.linspace(0, np.pi, 13))
    ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85",
                      lw=0.5)
    names, colors = _colors(y)
    for name, color in zip(names, colors):
        pts = e[y == name]
        ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], s=8, color=color, label=str(name))
    if centers is not None:
        w = to_numpy(centers, "centers", np.float64)
        w = 1.2 * w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
        for cx, cy, cz in w:
            ax.plot([0, cx], [0, cy], [0, cz], color="k", lw=1)
    ax.set_box_aspect((1, 1, 1))
    if names.size <= 20:
        ax.legend(fontsize=7, loc="upper left")
    ax.set_title("embeddings on the unit sphere")
    return fig
