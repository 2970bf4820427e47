"""Faces beside what was measured on them, and galleries of what label noise and its correction
did. Each function returns its Figure.

- `image_strip`: faces side by side in one panel (lesson 06: the hardest cross-age pairs).
- `plot_examples_beside`: a strip of probes at one degradation level beside every model's curve
  over the levels, that level marked (lesson 10: the mask's height; lesson 11: resolution,
  JPEG, exposure, side light).
- `noise_sheet`: every photo labelled as a few identities, titled with what `add_label_noise`
  did to it (lesson 09).
- `relabel_gallery`: faces a label correction moved, each beside a clean face of its given and of
  its new label (lesson 09: BoundaryFace's rule at a margin m).
"""
from __future__ import annotations

from collections.abc import Mapping
from numbers import Real

import numpy as np
import torch
from matplotlib.figure import Figure

from .margins import _figure_axes
from .plots import _hwc, image_grid

__all__ = ["image_strip", "plot_examples_beside", "noise_sheet", "relabel_gallery"]


def image_strip(images_uint8, ax=None, title: str | None = None) -> Figure:
    """The images (N, 3, H, W) uint8, left to right in one axes, without ticks."""
    x = _hwc(images_uint8)
    fig, ax = _figure_axes(ax, (1.2 * len(x), 1.4))
    strip = np.concatenate(list(x), axis=1)  # (H, N * W, C)
    ax.imshow(strip.squeeze(-1) if strip.shape[-1] == 1 else strip,
              cmap="gray" if strip.shape[-1] == 1 else None)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_examples_beside(images_uint8, curves: Mapping, level: int, x=None, *,
                         title: str | None = None, xlabel: str | None = None,
                         ylabel: str = "TAR @ FAR=1e-3", key: str = "tar",
                         figsize=(10, 2.8), width_ratios=(1.6, 1)) -> Figure:
    """Probes at one level (left) beside each model's curve over all levels, `level` marked.

    curves: ``{model: values (L,)}`` or ``{model: {key: values (L,)}}`` (what
        `facecourse.eval.degradation_curves` returns, ``key="tar"``).
    level: the index (0 .. L-1) of the level the probes show.
    x: the L levels for the x axis: numbers (a numeric axis) or labels (one tick each, e.g.
        ``["no mask", 0.3, 0.55]``); default 0 .. L-1.
    Lesson 10 shows masked probes with it, lesson 11 degraded ones, each under a slider.
    """
    values = {name: np.asarray(c[key] if isinstance(c, Mapping) else c, dtype=float)
              for name, c in curves.items()}
    lengths = {len(v) for v in values.values()}
    if len(lengths) != 1:
        raise ValueError(f"plot_examples_beside: the curves have different lengths {sorted(lengths)}")
    n = lengths.pop()
    if not 0 <= level < n:
        raise ValueError(f"plot_examples_beside: level {level} is not one of the curves' {n} levels "
                         f"(0 .. {n - 1})")
    x = list(range(n)) if x is None else list(x)
    if len(x) != n:
        raise ValueError(f"plot_examples_beside: {len(x)} x values for curves of {n} levels")
    numeric = all(isinstance(v, Real) for v in x)
    pos = x if numeric else list(range(n))
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=figsize, layout="constrained",
                                      gridspec_kw={"width_ratios": list(width_ratios)})
    image_strip(images_uint8, ax=left, title=title)
    for name, y in values.items():
        (line,) = right.plot(pos, y, "-", label=name)
        right.plot(pos[level], y[level], "o", color=line.get_color(), ms=8)
    if not numeric:
        right.set_xticks(pos, [str(v) for v in x])
    right.set(xlabel=xlabel, ylabel=ylabel, ylim=(0, None))
    right.legend(fontsize=8)
    return fig


def _noise_meta(dataset, fn: str):
    meta = getattr(dataset, "meta", None) or {}
    if "noise" not in meta or "clean_label" not in meta:
        raise ValueError(f"{fn}: the data set has no meta['noise'] / meta['clean_label']; make it "
                         "with facecourse.data.add_label_noise")
    return np.asarray(meta["noise"]), np.asarray(meta["clean_label"])


def noise_sheet(dataset, identities=(0, 1, 2), size: float = 1.0) -> Figure:
    """Every image *labelled* as each of `identities` (a row each), titled with what the noise
    did: ``label c`` (clean), ``FLIP (is t)`` (closed-set: truly identity t) or ``OUTLIER``
    (open-set: someone outside the set). `dataset` comes from `add_label_noise` (lesson 09)."""
    noise, truth = _noise_meta(dataset, "noise_sheet")
    y = dataset.labels.numpy()
    rows = [np.flatnonzero(y == c) for c in identities]
    width = max(1, max(len(r) for r in rows))
    blank = torch.full_like(dataset.images[0], 255)  # pads the shorter rows
    images, titles = [], []
    for c, r in zip(identities, rows):
        for i in list(r) + [None] * (width - len(r)):
            images.append(blank if i is None else dataset.images[i])
            titles.append("" if i is None else f"label {c}" if noise[i] == 0 else
                          f"FLIP (is {truth[i]})" if noise[i] == 1 else "OUTLIER")
    return image_grid(torch.stack(images), nrow=width, titles=titles, size=size)


def relabel_gallery(dataset, new_labels, show: int = 6, size: float = 1.1) -> Figure:
    """Up to `show` faces whose label `new_labels` changed, as triples: the face, a clean face of
    its given label, a clean face of its new label (✓ when that is its true identity).

    Corrections to the true identity come first (half of `show`), then wrong ones; a face
    whose given or new label has no clean face is left out. `dataset` comes from
    `add_label_noise`; lesson 09 shows BoundaryFace's corrections with it, under a slider of m.
    """
    noise, truth = _noise_meta(dataset, "relabel_gallery")
    given, new = dataset.labels.numpy(), np.asarray(new_labels)
    if new.shape != given.shape:
        raise ValueError(f"relabel_gallery: {new.shape[0] if new.ndim else 0} new labels for "
                         f"{len(given)} images")
    first_clean = {int(c): int(np.flatnonzero((given == c) & (noise == 0))[0])
                   for c in np.unique(given[noise == 0])}
    ok = [i for i in np.flatnonzero(new != given) if given[i] in first_clean and new[i] in first_clean]
    good, bad = [i for i in ok if new[i] == truth[i]], [i for i in ok if new[i] != truth[i]]
    picked = good[:(show + 1) // 2] + bad[:show // 2]
    picked += [i for i in good + bad if i not in picked][:show - len(picked)]
    if not picked:
        fig, ax = _figure_axes(None, (4, 0.8))
        ax.text(0.5, 0.5, "no face is relabelled", ha="center", va="center")
        ax.axis("off")
        return fig
    images, titles = [], []
    for i in picked:
        images += [dataset.images[i], dataset.images[first_clean[given[i]]],
                   dataset.images[first_clean[new[i]]]]
        titles += ["flip" if noise[i] else "clean face", f"labelled {given[i]}",
                   f"→ {new[i]} {'✓' if new[i] == truth[i] else '✗'}"]
    return image_grid(torch.stack(images), nrow=6, titles=titles, size=size)
