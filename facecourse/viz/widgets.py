"""`live_figure`: a figure that is drawn again whenever a slider (or any control) moves.

The lessons' sliders all work this way (02: λ of the center loss; 08: an identity and its k
mined negatives; 09: the noise rate and kind, BoundaryFace's margin; 10: the mask's height;
11: a degradation and its level): plain ipywidgets and one `Output` into which `draw()` is
called again, so it works in JupyterLab with no extension. `draw` makes its figure with
pyplot (any of `facecourse.viz`'s plots, or its own); `live_figure` shows it.
"""
from __future__ import annotations

from collections.abc import Callable

__all__ = ["live_figure"]


def live_figure(draw: Callable[[], object], *controls, now: bool = True):
    """The controls (in a row) above an Output that shows what ``draw()`` draws, redrawn each time
    a control's value changes.

    draw: called with no arguments; it reads the controls' values itself and draws with
        pyplot (what it prints shows too).
    controls: ipywidgets with a ``value`` (sliders, dropdowns, toggle buttons).
    now: draw once straight away (False: the Output stays empty until a control moves, for
        a widget below a figure that already shows its first state).
    Returns the ``VBox``; display it (``display(live_figure(draw, slider))``). It carries
    ``.output`` and ``.redraw()``.
    """
    if not controls:
        raise ValueError("live_figure: pass at least one control (a slider, dropdown...) to "
                         "redraw on")
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    out = widgets.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            draw()
            plt.show()

    for control in controls:
        control.observe(redraw, names="value")
    if now:
        redraw()
    row = controls[0] if len(controls) == 1 else widgets.HBox(list(controls))
    box = widgets.VBox([row, out])
    box.output, box.redraw = out, redraw
    return box
