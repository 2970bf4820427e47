"""live_figure: draws now (or not), again on every control change, into one Output."""
import matplotlib
import pytest

from facecourse.viz import live_figure

matplotlib.use("Agg")
widgets = pytest.importorskip("ipywidgets")


def test_draws_now_and_on_each_change_of_any_control():
    import matplotlib.pyplot as plt

    slider = widgets.IntSlider(value=1, min=0, max=5)
    kind = widgets.ToggleButtons(options=["closed", "open"], value="closed")
    seen = []

    def draw():
        seen.append((slider.value, kind.value))
        plt.figure()

    box = live_figure(draw, slider, kind)
    assert seen == [(1, "closed")]
    slider.value = 3
    kind.value = "open"
    assert seen == [(1, "closed"), (3, "closed"), (3, "open")]
    row, out = box.children
    assert isinstance(row, widgets.HBox) and list(row.children) == [slider, kind]
    assert out is box.output and isinstance(out, widgets.Output)
    box.redraw()
    assert len(seen) == 4
    plt.close("all")


def test_now_false_waits_for_a_change_and_one_control_is_not_wrapped():
    slider = widgets.FloatSlider(value=0.3)
    calls = []
    box = live_figure(lambda: calls.append(slider.value), slider, now=False)
    assert calls == [] and box.children[0] is slider
    slider.value = 0.5
    assert calls == [0.5]
    with pytest.raises(ValueError, match="pass at least one control"):
        live_figure(lambda: None)
