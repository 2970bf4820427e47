"""image_strip, plot_examples_beside, noise_sheet, relabel_gallery: the data each panel holds."""
import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from facecourse.data import SyntheticFaces, add_label_noise
from facecourse.viz import image_strip, noise_sheet, plot_examples_beside, relabel_gallery

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _faces(n=4, size=16):
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)


def test_image_strip_puts_the_faces_side_by_side():
    faces = _faces(3)
    fig = image_strip(faces, title="probes")
    ax = fig.axes[0]
    shown = ax.get_images()[0].get_array()
    assert shown.shape == (16, 48, 3)
    np.testing.assert_array_equal(shown[:, 16:32], faces[1].permute(1, 2, 0).numpy())
    assert ax.get_title() == "probes" and not ax.axison


def test_plot_examples_beside_marks_the_level_on_every_curve():
    curves = {"ArcFace": {"tar": np.array([0.9, 0.6, 0.3])}, "masked": np.array([0.85, 0.7, 0.5])}
    fig = plot_examples_beside(_faces(2), curves, 1, x=[32, 16, 8], title="16 px", xlabel="px")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    strip, chart = fig.axes
    assert strip.get_images()[0].get_array().shape == (16, 32, 3)
    lines = chart.get_lines()
    assert [ln.get_label() for ln in lines[::2]] == ["ArcFace", "masked"]
    np.testing.assert_allclose(lines[0].get_xdata(), [32, 16, 8])
    np.testing.assert_allclose(lines[2].get_ydata(), [0.85, 0.7, 0.5])
    for marker, want in ((lines[1], 0.6), (lines[3], 0.7)):  # the chosen level, on each curve
        assert marker.get_xdata()[0] == 16 and marker.get_ydata()[0] == pytest.approx(want)
    assert chart.get_xlabel() == "px" and chart.get_ylim()[0] == 0


def test_plot_examples_beside_labels_and_its_errors():
    curves = {"a": [0.9, 0.5]}
    fig = plot_examples_beside(_faces(1), curves, 0, x=["no mask", 0.55])
    chart = fig.axes[1]
    assert [t.get_text() for t in chart.get_xticklabels()] == ["no mask", "0.55"]
    with pytest.raises(ValueError, match="level 2 is not one of the curves' 2 levels"):
        plot_examples_beside(_faces(1), curves, 2)
    with pytest.raises(ValueError, match="3 x values for curves of 2 levels"):
        plot_examples_beside(_faces(1), curves, 0, x=[1, 2, 3])
    with pytest.raises(ValueError, match="different lengths"):
        plot_examples_beside(_faces(1), {"a": [1, 2], "b": [1]}, 0)


@pytest.fixture(scope="module")
def noisy():
    clean = SyntheticFaces(4, 5, image_size=16, seed=3)
    outsiders = SyntheticFaces(4, 5, image_size=16, seed=3, first_identity=10_000)
    closed, _ = add_label_noise(clean, closed_rate=0.3, seed=0)
    opened, _ = add_label_noise(clean, open_rate=0.3, outliers=outsiders, seed=0)
    return closed, opened


def test_noise_sheet_one_row_per_identity_titled_with_the_noise(noisy):
    closed, opened = noisy
    fig = noise_sheet(closed, identities=(0, 1))
    y, noise, truth = closed.labels.numpy(), closed.meta["noise"], closed.meta["clean_label"]
    width = max((y == 0).sum(), (y == 1).sum())
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 2 * width
    first_row = [t for t in titles[:width] if t]
    want = ["label 0" if noise[i] == 0 else f"FLIP (is {truth[i]})" for i in np.flatnonzero(y == 0)]
    assert first_row == want and any(t.startswith("FLIP") for t in titles)
    assert any(ax.get_title() == "OUTLIER" for ax in noise_sheet(opened).axes)
    with pytest.raises(ValueError, match="make it with facecourse.data.add_label_noise"):
        noise_sheet(SyntheticFaces(2, 2, image_size=16, seed=0))


def test_relabel_gallery_puts_true_corrections_first(noisy):
    closed, _ = noisy
    given, truth = closed.labels.numpy(), closed.meta["clean_label"]
    flipped = np.flatnonzero(closed.meta["noise"] == 1)
    new = given.copy()
    new[flipped[:2]] = truth[flipped[:2]]  # two corrections to the true identity
    clean_face = np.flatnonzero(closed.meta["noise"] == 0)[0]
    new[clean_face] = (given[clean_face] + 1) % 4  # and one clean face moved away: wrong
    fig = relabel_gallery(closed, new, show=4)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[:3] == ["flip", f"labelled {given[flipped[0]]}", f"→ {truth[flipped[0]]} ✓"]
    assert titles[6:9] == ["clean face", f"labelled {given[clean_face]}",
                           f"→ {new[clean_face]} ✗"]
    assert len(titles) == 9  # three faces changed, three triples
    shown = [ax.get_images()[0].get_array() for ax in fig.axes if ax.get_images()]
    np.testing.assert_array_equal(shown[0], closed.images[flipped[0]].permute(1, 2, 0).numpy())
    nothing = relabel_gallery(closed, given)
    assert nothing.axes[0].texts[0].get_text() == "no face is relabelled"
    with pytest.raises(ValueError, match="3 new labels for 20 images"):
        relabel_gallery(closed, given[:3])
