"""`margin_explorer()`: sliders for the combined margin cos(m1·θ + m2) - m3 and the scale s.

Mode "curves" redraws (1) the target logit s·f(θ) against the plain s·cos θ, (2) the decision
regions of two class centres on the unit circle (the gap the margin opens), and (3) the
probability of the target class for a feature moving from one centre to the other.
Mode "train" trains a tiny MLP with 2-D features on 8 identities, live, with the chosen margin,
and draws the features on the circle as it learns (the toy experiment of Deng et al., "ArcFace",
arXiv:1801.07698, Fig. 1/3). The margin is always `facecourse.losses`' "combined" head.

Widgets: plain ipywidgets + an `Output` that re-displays a matplotlib Figure, so it works in
JupyterLab with no extension. The returned VBox carries ``.figure``, ``.sliders`` (dict),
``.update(**values)`` (set several sliders, redraw once) and, in train mode, ``.train(steps)``
and ``.trainer``.

Lesson 03's margin widget.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.figure import Figure

from .margins import decision_regions
from .toy import ToyMarginTrainer

SLIDERS = {  # name: (min, max, step, default in curves mode)
    "m1": (1.0, 4.0, 0.05, 1.0),
    "m2": (0.0, 1.0, 0.01, 0.5),
    "m3": (0.0, 0.6, 0.01, 0.0),
    "s": (1.0, 64.0, 1.0, 30.0),
}


def _head(values: dict):
    from facecourse.losses import create_head

    return create_head("combined", 2, 2, s=values["s"], m1=values["m1"], m2=values["m2"],
                       m3=values["m3"])


class _CurvesView:
    """The three panels of curves mode; `draw(values)` only moves data of existing artists."""

    def __init__(self, fig: Figure, delta: float):
        self.delta = delta
        self.ax_logit, self.ax_circle, self.ax_prob = fig.subplots(1, 3)
        self.theta = np.linspace(0.0, math.pi, 181)
        deg = np.degrees(self.theta)
        (self.plain,) = self.ax_logit.plot(deg, np.cos(self.theta), color="0.6", label="s·cos θ")
        (self.target,) = self.ax_logit.plot(deg, np.cos(self.theta), label="s·f(θ)")
        self.ax_logit.set(xlabel="θ (degrees)", ylabel="logit", xlim=(0, 180))
        self.ax_logit.legend(fontsize=8)
        t = np.linspace(-math.pi, math.pi, 361)
        self.ax_circle.plot(np.cos(t), np.sin(t), color="0.85", lw=6)
        (self.region1,) = self.ax_circle.plot([], [], lw=6, color="tab:blue", label="class 1")
        (self.region2,) = self.ax_circle.plot([], [], lw=6, color="tab:orange", label="class 2")
        for angle, color in ((0.0, "tab:blue"), (delta, "tab:orange")):
            self.ax_circle.annotate("", (1.25 * math.cos(angle), 1.25 * math.sin(angle)), (0, 0),
                                    arrowprops={"arrowstyle": "->", "color": color})
        self.ax_circle.set(xlim=(-1.4, 1.4), ylim=(-1.4, 1.4), aspect="equal")
        self.ax_circle.set_axis_off()
        self.ax_circle.legend(fontsize=8, loc="lower left")
        self.phi = np.linspace(0.0, delta, 121)
        (self.prob,) = self.ax_prob.plot(np.degrees(self.phi), self.phi * 0)
        self.ax_prob.set(xlabel="feature angle from centre 1 (degrees)", ylabel="p(class 1)",
                         ylim=(-0.02, 1.02), xlim=(0, math.degrees(delta)))

    def draw(self, values: dict) -> None:
        head = _head(values)
        s = values["s"]
        with torch.no_grad():
            f = head.target_logit(torch.cos(torch.as_tensor(self.theta))).numpy()
            phi, c1, c2 = decision_regions(head.target_logit, self.delta)
            logit1 = s * head.target_logit(torch.cos(torch.as_tensor(self.phi))).numpy()
        logit2 = s * np.cos(self.delta - self.phi)
        self.plain.set_ydata(s * np.cos(self.theta))
        self.target.set_ydata(s * f)
        self.ax_logit.set_ylim(s * min(f.min(), -1) - 0.05 * s, 1.1 * s)
        for line, mask in ((self.region1, c1), (self.region2, c2)):
            line.set_data(np.where(mask, np.cos(phi), np.nan), np.where(mask, np.sin(phi), np.nan))
        gap = 100 * (1 - (c1 | c2).mean())
        self.ax_circle.set_title(f"decision regions, Δ = {math.degrees(self.delta):.0f}°; "
                                 f"gap {gap:.1f}% of the circle", fontsize=9)
        self.prob.set_ydata(1.0 / (1.0 + np.exp(np.clip(logit2 - logit1, -50, 50))))
        self.ax_logit.set_title(f"m1={values['m1']:.2f} m2={values['m2']:.2f} "
                                f"m3={values['m3']:.2f} s={s:.0f}", fontsize=9)


class _TrainView:
    """Features of the toy model on the unit circle, with its class centres."""

    def __init__(self, fig: Figure, trainer: ToyMarginTrainer):
        import matplotlib

        self.trainer = trainer
        self.ax, self.ax_loss = fig.subplots(1, 2, width_ratios=(1.3, 1))
        t = np.linspace(0, 2 * math.pi, 361)
        self.ax.plot(np.cos(t), np.sin(t), color="0.85", lw=1)
        colors = matplotlib.colormaps["tab10"](np.arange(trainer.num_classes) % 10)
        self.points = self.ax.scatter(np.zeros(len(trainer.labels)), np.zeros(len(trainer.labels)),
                                      s=6, c=colors[trainer.labels.numpy()])
        self.rays = [self.ax.plot([0, 0], [0, 0], color=c, lw=1.5)[0] for c in colors]
        self.ax.set(xlim=(-1.3, 1.3), ylim=(-1.3, 1.3), aspect="equal")
        self.ax.set_axis_off()
        (self.loss,) = self.ax_loss.plot([], [])
        self.ax_loss.set(xlabel="step", ylabel="loss")

    def draw(self, values: dict) -> None:
        features, centers = self.trainer.features_on_circle()
        self.points.set_offsets(features)
        for ray, (cx, cy) in zip(self.rays, centers):
            ray.set_data([0, 1.2 * cx], [0, 1.2 * cy])
        hist = self.trainer.history
        self.loss.set_data(np.arange(1, len(hist) + 1), hist)
        if hist:
            self.ax_loss.set_xlim(0, max(len(hist), 1))
            self.ax_loss.set_ylim(0, max(hist) * 1.05 + 1e-6)
        self.ax.set_title(f"step {len(hist)}, train accuracy {self.trainer.accuracy():.2f}",
                          fontsize=9)


def margin_explorer(mode: str = "curves", delta: float = math.pi / 3, display_figure: bool = True,
                    steps: int = 300, seed: int = 0, trainer: ToyMarginTrainer | None = None,
                    **values):
    """The widget (an ipywidgets VBox); `values` set the sliders' start (m1, m2, m3, s).

    ``mode="curves"``: moving a slider redraws the three panels. ``mode="train"``: the "train"
    button (or ``box.train(steps)``) trains the toy model from scratch with the current margin.
    ``display_figure=False`` skips rendering into the Output (tests, timing). `trainer`: a
    `ToyMarginTrainer` to use in train mode (default: 8 identities x 60 vectors, `seed`).
    """
    import ipywidgets as widgets
    from IPython.display import display

    if mode not in ("curves", "train"):
        raise ValueError(f"margin_explorer: mode must be 'curves' or 'train', got {mode!r}")
    unknown = set(values) - set(SLIDERS)
    if unknown:
        raise ValueError(f"margin_explorer: unknown slider(s) {sorted(unknown)}; use m1, m2, m3, s")
    start = {k: v[3] for k, v in SLIDERS.items()} | ({"s": 16.0, "m2": 0.3} if mode == "train"
                                                    else {}) | values
    sliders = {k: widgets.FloatSlider(value=start[k], min=lo, max=hi, step=st, description=k,
                                      continuous_update=False)
               for k, (lo, hi, st, _) in SLIDERS.items()}
    out = widgets.Output()
    fig = Figure(figsize=(12, 3.6) if mode == "curves" else (9, 4), dpi=80, layout="constrained")
    if mode == "train" and trainer is None:
        trainer = ToyMarginTrainer(seed=seed)
    view = _CurvesView(fig, delta) if mode == "curves" else _TrainView(fig, trainer)
    state = {"hold": False}

    def current() -> dict:
        return {k: w.value for k, w in sliders.items()}

    def redraw() -> None:
        view.draw(current())
        if display_figure:
            with out:
                out.clear_output(wait=True)
                display(fig)

    def update(**new) -> None:
        state["hold"] = True  # one redraw for several sliders
        try:
            for k, v in new.items():
                if k not in sliders:
                    raise ValueError(f"update: unknown slider {k!r}; use m1, m2, m3, s")
                sliders[k].value = v
        finally:
            state["hold"] = False
        if mode == "curves":
            redraw()

    def on_change(_change) -> None:
        if not state["hold"] and mode == "curves":
            redraw()

    for w in sliders.values():
        w.observe(on_change, names="value")
    controls = [widgets.HBox(list(sliders.values())[:2]), widgets.HBox(list(sliders.values())[2:])]
    box = widgets.VBox(controls + [out])
    if mode == "train":
        button = widgets.Button(description="train", button_style="primary")
        n_steps = widgets.IntSlider(value=steps, min=50, max=2000, step=50, description="steps")

        def train(steps: int | None = None, draw_every: int = 25) -> dict:
            trainer.reset(**current())
            trainer.run(n_steps.value if steps is None else steps, draw_every=draw_every,
                        callback=redraw)
            redraw()
            return {"accuracy": trainer.accuracy(), "loss": trainer.history[-1]}

        button.on_click(lambda _b: train())
        box.children = controls + [widgets.HBox([n_steps, button]), out]
        box.train, box.trainer = train, trainer
    box.figure, box.sliders, box.update, box.output = fig, sliders, update, out
    redraw()
    return box
