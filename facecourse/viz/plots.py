"""Evaluation plots: ROC (log FAR), score histograms, training history, image grids, cluster
galleries. Each function returns its Figure (assign it, ``fig = plot_roc(...)``, so Jupyter
shows it once); pass ``ax=`` to draw into an existing axes where offered.

Every lesson's ROC curves, histograms and training histories (00-08, 10, 11).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from facecourse.eval._checks import check_scores, to_numpy
from facecourse.eval.verification import auc as _auc
from facecourse.eval.verification import roc as _roc

from .margins import _figure_axes


def _curve(value):
    """(fpr, tpr) from a (fpr, tpr) pair or a dict with fpr/tpr or scores/issame."""
    if isinstance(value, Mapping):
        if "fpr" in value and "tpr" in value:
            return np.asarray(value["fpr"]), np.asarray(value["tpr"]), value.get("auc")
        if "scores" in value and "issame" in value:
            fpr, tpr, _ = _roc(value["scores"], value["issame"])
            return fpr, tpr, _auc(value["scores"], value["issame"])
        raise ValueError("plot_roc: a dict entry needs keys 'fpr' and 'tpr' (or 'scores' and "
                         f"'issame'); got keys {sorted(value)}")
    fpr, tpr = value
    return np.asarray(fpr, dtype=float), np.asarray(tpr, dtype=float), None


def plot_roc(results, log_far: bool = True, fars=(1e-4, 1e-3, 1e-2, 1e-1), ax=None) -> Figure:
    """ROC curves TAR against FAR, FAR on a log axis by default (as the papers draw them).

    `results`: ``{name: (fpr, tpr)}``, ``{name: {"fpr", "tpr"}}`` or
    ``{name: {"scores", "issame"}}`` (the ROC and AUC are computed), or one such value.
    Points at FAR = 0 cannot sit on a log axis and are left out there.
    """
    if not isinstance(results, Mapping) or {"fpr", "tpr"} <= set(results) or \
            {"scores", "issame"} <= set(results):
        results = {"": results}
    fig, ax = _figure_axes(ax, (5.5, 4.5))
    smallest = 1.0
    for name, value in results.items():
        fpr, tpr, area = _curve(value)
        keep = fpr > 0 if log_far else np.ones_like(fpr, bool)
        label = name if area is None else f"{name} (AUC {area:.4f})".strip()
        ax.plot(fpr[keep], tpr[keep], label=label or None)
        if keep.any():
            smallest = min(smallest, float(fpr[keep].min()))
    if log_far:
        ax.set_xscale("log")
        ax.set_xlim(max(min(smallest, min(fars)), 1e-8), 1.0)
        for far in fars:
            ax.axvline(far, color="0.85", lw=0.8, zorder=0)
    ax.set_xlabel("FAR (false accept rate)")
    ax.set_ylabel("TAR (true accept rate)")
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3, which="both" if log_far else "major")
    if any(results):
        ax.legend(loc="lower right", fontsize=8)
    ax.set_title("ROC")
    return fig


def plot_score_hist(scores, issame, threshold: float | None = None, bins: int = 50,
                    ax=None) -> Figure:
    """Genuine and impostor score histograms (densities), with the threshold as a line."""
    scores, issame = check_scores(scores, issame, need_both=False)
    fig, ax = _figure_axes(ax, (6, 3.5))
    edges = np.histogram_bin_edges(scores, bins=bins)
    ax.hist(scores[issame], bins=edges, density=True, alpha=0.6, label=f"genuine ({issame.sum()})")
    ax.hist(scores[~issame], bins=edges, density=True, alpha=0.6,
            label=f"impostor ({(~issame).sum()})")
    if threshold is not None:
        ax.axvline(threshold, color="k", ls="--", label=f"threshold {threshold:.3f}")
    ax.set_xlabel("score (higher = more similar)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    return fig


def plot_history(history, keys=None, x: str | None = None) -> Figure:
    """One panel per logged quantity of `fit`'s history (a list of dict rows).

    `keys` default: every numeric column but the x axis, ``epoch`` and ``time_s``. `x`
    default: ``step`` if logged, else the row number. ``lr`` panels use a log scale.
    """
    rows = list(history)
    if not rows:
        raise ValueError("plot_history: the history is empty (no rows were logged; lower "
                         "log_every or train longer)")
    x = x or ("step" if "step" in rows[0] else None)
    if keys is None:
        keys = [k for k, v in rows[0].items() if isinstance(v, (int, float))
                and k not in (x, "epoch", "time_s")]
    missing = [k for k in keys if all(k not in r for r in rows)]
    if missing:
        raise ValueError(f"plot_history: no row has {missing}; logged keys are {sorted(rows[0])}")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(3.5 * len(keys), 3), layout="constrained",
                             squeeze=False)
    xs = np.array([r.get(x, np.nan) if x else i for i, r in enumerate(rows)], dtype=float)
    for ax, key in zip(axes[0], keys):
        ys = np.array([r.get(key, np.nan) for r in rows], dtype=float)
        ax.plot(xs, ys, marker="." if len(rows) < 30 else None)
        ax.set_title(key)
        ax.set_xlabel(x or "row")
        if "lr" in key and np.all(ys[np.isfinite(ys)] > 0):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    return fig


def _hwc(images) -> np.ndarray:
    """uint8 images (N, 3, H, W) tensor/array or (N, H, W, 3) array -> (N, H, W, C) uint8."""
    x = to_numpy(images, "images")
    if x.ndim != 4:
        raise ValueError(f"images must be (N, 3, H, W) or (N, H, W, 3), got shape {x.shape}")
    if x.shape[1] in (1, 3) and x.shape[-1] not in (1, 3):
        x = x.transpose(0, 2, 3, 1)
    if x.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (0..255), got {x.dtype}; convert float images in "
                         "[-1, 1] with ((x + 1) * 127.5).round().to(torch.uint8)")
    return x


def image_grid(images_uint8, nrow: int = 8, titles=None, size: float = 1.2) -> Figure:
    """A contact sheet: the images in rows of `nrow`, with optional per-image titles."""
    x = _hwc(images_uint8)
    if titles is not None and len(titles) != len(x):
        raise ValueError(f"image_grid: {len(titles)} titles for {len(x)} images")
    n = len(x)
    ncol = max(1, min(nrow, n))
    rows = max(1, -(-n // ncol))
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, ncol, figsize=(size * ncol, size * rows + 0.2 * rows),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(x[i].squeeze(-1) if x.shape[-1] == 1 else x[i],
                      cmap="gray" if x.shape[-1] == 1 else None)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=7)
    fig.subplots_adjust(wspace=0.05, hspace=0.3 if titles is not None else 0.05)
    return fig


def cluster_gallery(images_uint8, cluster_ids, labels=None, max_clusters: int = 6,
                    per_cluster: int = 8, size: float = 1.0) -> Figure:
    """One row per cluster (largest first), up to `per_cluster` faces each.

    With `labels` (true identities) each face is titled with its identity, in red when it
    differs from the cluster's most common identity (a merge error).
    """
    x = _hwc(images_uint8)
    ids = to_numpy(cluster_ids, "cluster_ids").reshape(-1)
    if len(ids) != len(x):
        raise ValueError(f"cluster_gallery: {len(ids)} cluster ids for {len(x)} images")
    y = None if labels is None else to_numpy(labels, "labels").reshape(-1)
    names, counts = np.unique(ids, return_counts=True)
    shown = names[np.argsort(-counts, kind="stable")][:max_clusters]
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(shown), per_cluster, squeeze=False,
                             figsize=(size * per_cluster, size * len(shown) + 0.3))
    for row, cid in zip(axes, shown):
        members = np.flatnonzero(ids == cid)
        major = None if y is None else np.bincount(y[members] - y.min()).argmax() + y.min()
        for j, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j >= len(members):
                continue
            ax.imshow(x[members[j]].squeeze(-1) if x.shape[-1] == 1 else x[members[j]])
            if y is not None:
                wrong = y[members[j]] != major
                ax.set_title(str(y[members[j]]), fontsize=7, color="red" if wrong else "black")
        row[0].set_ylabel(f"cluster {cid}\n({len(members)})", fontsize=7)
    return fig
