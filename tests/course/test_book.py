"""`python -m facecourse book` (course/book.py): a course run as a static HTML site."""
import base64
import io
import json
import re

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from facecourse.course.book import book_main, build_book, latest_run  # noqa: E402


def _png() -> str:
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _executed(path, title, png=None):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plt.plot([0, 1])", execution_count=1)
    if png:
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nWhat this lesson shows."), cell]
    nbformat.write(nb, path)


def _run(tmp_path):
    run = tmp_path / "runs" / "20261202-070000"
    run.mkdir(parents=True)
    _executed(run / "00_tour.ipynb", "00 — A tour", png=_png())
    _executed(run / "01_softmax.ipynb", "01 — Softmax")
    summary = {
        "profile": "laptop", "started": "2026-12-02T07:00:00+00:00",
        "machine": {"platform": "Linux-test", "python": "3.11", "cpus": 2},
        "notebooks": {
            "00_tour": {"seconds": 61.2, "cpu_seconds": 118.0, "status": "ok", "error": None,
                        "metrics": {"lfw_auc": 0.93, "claims": {"ArcFace beats untrained": True,
                                                                "x < y": False}}},
            "01_softmax": {"seconds": 3.0, "cpu_seconds": 2.0, "status": "failed",
                           "error": "PapermillExecutionError: lesson broke\nmore", "metrics": {}},
            "02_center_loss": {"seconds": 0.0, "cpu_seconds": 0.0, "status": "failed",
                               "error": "no kernel", "metrics": {}},
        },
        "total_seconds": 64.2, "total_cpu_seconds": 120.0, "real_data_seconds": 12.0,
        "claims": {"held": 1, "not_held": ["00_tour: x < y"]},
    }
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_index_lists_each_lesson_with_times_and_claims(tmp_path):
    run = _run(tmp_path)
    index = build_book(run, quiet=True)
    assert index == run / "book" / "index.html"
    page = index.read_text()
    assert "1 of 2 claims held" in page and "00_tour: x &lt; y" in page  # escaped, listed as not held
    row = re.search(r'<tr data-lesson="00_tour">(.*?)</tr>', page).group(1)
    assert 'href="00_tour.html"' in row and "00 — A tour" in row and ">61<" in row and ">118<" in row
    assert ">1/2<" in row and "ArcFace beats untrained" in row and "<td>yes</td>" in row  # real faces ran
    failed = re.search(r'<tr data-lesson="01_softmax">(.*?)</tr>', page).group(1)
    assert 'class="failed"' in failed and "<td>no</td>" in failed
    assert "(no executed notebook)" in page  # 02 is in the summary, its notebook is not
    assert sorted(p.name for p in (run / "book").iterdir()) == ["00_tour.html", "01_softmax.html", "index.html"]


def test_lesson_page_embeds_its_figures_and_opens_with_its_claims(tmp_path):
    run = _run(tmp_path)
    build_book(run, quiet=True)
    page = (run / "book" / "00_tour.html").read_text()
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', page)) == 1  # the figure, inline
    assert '<table class="claims">' in page and "NOT held" in page
    assert 'href="index.html"' in page and 'href="01_softmax.html"' in page
    failed = (run / "book" / "01_softmax.html").read_text()
    assert "stopped with an error" in failed and "lesson broke" in failed and "more" not in failed.split("lesson broke")[1][:20]


def test_rebuilding_replaces_only_the_book(tmp_path):
    run = _run(tmp_path)
    build_book(run, quiet=True)
    (run / "book" / "stale.html").write_text("old")
    build_book(run, quiet=True)
    assert not (run / "book" / "stale.html").exists() and not (run / "book.partial").exists()
    assert (run / "00_tour.ipynb").is_file() and (run / "summary.json").is_file()


def test_not_a_run_says_what_makes_one(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match=r"summary.json not found.*make course"):
        build_book(tmp_path)
    assert book_main([str(tmp_path)]) == 2
    assert "is not a course run" in capsys.readouterr().err
    (tmp_path / "summary.json").write_text("{broken")
    with pytest.raises(ValueError, match=r"summary.json: not a course summary"):
        build_book(tmp_path)
    assert not (tmp_path / "book").exists()


def test_latest_run_is_the_newest_with_a_summary(tmp_path):
    with pytest.raises(FileNotFoundError, match="make course"):
        latest_run(tmp_path)
    for stamp in ("20261201-100000", "20261202-090000"):
        (tmp_path / stamp).mkdir()
        (tmp_path / stamp / "summary.json").write_text("{}")
    (tmp_path / "20261203-000000").mkdir()  # a run that wrote nothing yet
    assert latest_run(tmp_path).name == "20261202-090000"
