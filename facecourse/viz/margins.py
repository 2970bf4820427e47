"""Target-logit curves over θ and the two-class decision regions on the circle.

The margins themselves live in `facecourse.losses` (each head's ``target_logit``); this module
only evaluates them on a grid of angles and draws them, as in Deng et al., "ArcFace: Additive
Angular Margin Loss for Deep Face Recognition", arXiv:1801.07698, Fig. 4(b).

Lesson 03's margin curves.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.figure import Figure

# ArcFace paper Fig. 4(b): label -> (head name, keywords); "softmax" is plain cos θ.
PAPER_CURVES = {
    "Softmax": ("softmax", {}),
    "SphereFace (m1=4)": ("sphereface", {"m1": 4, "lambda_base": 0.0, "lambda_min": 0.0}),
    "CosFace (m3=0.35)": ("cosface", {"m": 0.35}),
    "ArcFace (m2=0.5)": ("arcface", {"m": 0.5}),
    "Combined (1, 0.3, 0.2)": ("combined", {"m1": 1.0, "m2": 0.3, "m3": 0.2}),
}


def _target_fn(spec):
    """A callable cos θ (tensor) -> target logit, from a head, a name or (name, kwargs)."""
    if hasattr(spec, "target_logit"):
        return spec.target_logit
    name, kw = (spec, {}) if isinstance(spec, str) else spec
    if name in ("softmax", "normface"):  # no margin: the target logit is cos θ itself
        return lambda cos_theta: cos_theta
    from facecourse.losses import create_head

    return create_head(name, 2, 2, **kw).target_logit


def target_logit_curves(heads=None, num: int = 361) -> tuple[np.ndarray, dict]:
    """``(theta (num,) in radians over [0, π], {label: target logit (num,)})``.

    `heads` maps a label to a head module (anything with ``target_logit``), a head name, or
    ``(name, kwargs)`` for `facecourse.losses.create_head`; default: `PAPER_CURVES`.
    """
    heads = PAPER_CURVES if heads is None else heads
    theta = torch.linspace(0.0, math.pi, num, dtype=torch.float64)
    cos_theta = torch.cos(theta)
    curves = {}
    with torch.no_grad():
        for label, spec in heads.items():
            curves[label] = _target_fn(spec)(cos_theta).double().numpy().reshape(-1)
    return theta.numpy(), curves


def plot_target_logits(heads=None, num: int = 361, degrees: bool = True, ax=None) -> Figure:
    """Target logit (before the scale s) against θ for each head: ArcFace Fig. 4(b)."""
    theta, curves = target_logit_curves(heads, num)
    fig, ax = _figure_axes(ax, (6, 4))
    x = np.degrees(theta) if degrees else theta
    for label, y in curves.items():
        ax.plot(x, y, label=label)
    ax.set_xlabel("θ between feature and target centre (" + ("degrees)" if degrees else "rad)"))
    ax.set_ylabel("target logit f(θ) (before s)")
    ax.set_xlim(x[0], x[-1])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Target logit curves")
    return fig


def decision_regions(target_logit, delta: float, num: int = 720):
    """Where each of two classes (centres at angles 0 and `delta` on the unit circle) wins.

    For a feature at angle φ with angles θ1, θ2 to the two centres, class 1 (labelled
    correctly *with its margin*) wins where ``target_logit(cos θ1) > cos θ2``, class 2 where
    ``target_logit(cos θ2) > cos θ1``; with a margin neither wins in between: the gap the
    margin opens. Returns ``(phi (num,), class1 (num,) bool, class2 (num,) bool)``.
    """
    phi = torch.linspace(-math.pi, math.pi, num, dtype=torch.float64)
    theta1 = torch.abs(torch.remainder(phi + math.pi, 2 * math.pi) - math.pi)
    theta2 = torch.abs(torch.remainder(phi - delta + math.pi, 2 * math.pi) - math.pi)
    with torch.no_grad():
        c1 = target_logit(torch.cos(theta1)) > torch.cos(theta2)
        c2 = target_logit(torch.cos(theta2)) > torch.cos(theta1)
    return phi.numpy(), c1.numpy(), c2.numpy()


def _figure_axes(ax, size, projection=None):
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot(projection=projection)
