"""`python -m facecourse course`: runs notebooks in order and writes summary.json (course/run.py)."""
import json

import nbformat

from facecourse.course import run_course


def _notebook(path, body):
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    params = nbformat.v4.new_code_cell('PROFILE = "laptop"\nSEED = 0')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


def test_summary_records_seconds_metrics_and_failures(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACECOURSE_DATA", str(tmp_path / "no-data"))  # no real set to prepare
    src = tmp_path / "solutions"
    src.mkdir()
    _notebook(src / "00_ok.ipynb", "from facecourse import claim, report\nreport(profile=PROFILE, x=1.5)\n"
              "claim('one holds', True, strict=False)\nclaim('one does not', False, strict=False, lfw_auc=0.5)")
    _notebook(src / "01_bad.ipynb", "raise RuntimeError('lesson broke')")
    out = run_course("smoke", solutions=src, out_root=tmp_path / "runs")
    summary = json.loads((out / "summary.json").read_text())
    ok, bad = summary["notebooks"]["00_ok"], summary["notebooks"]["01_bad"]
    assert ok["status"] == "ok" and ok["metrics"]["x"] == 1.5 and ok["metrics"]["profile"] == "smoke"
    assert summary["claims"] == {"held": 1, "not_held": ["00_ok: one does not"]}
    assert summary["real_faces"] == {"00_ok": True, "01_bad": False}  # 00 reported an lfw_ figure
    assert ok["seconds"] > 0 and summary["profile"] == "smoke"
    assert ok["cpu_seconds"] > 0 and summary["total_cpu_seconds"] >= ok["cpu_seconds"]  # the kernel's CPU too
    assert bad["status"] == "failed" and "lesson broke" in bad["error"]
    assert (out / "00_ok.ipynb").is_file() and (out / "01_bad.ipynb").is_file()
    book = sorted(p.name for p in (out / "book").iterdir())  # the run, as a book (course/book.py)
    assert book == ["00_ok.html", "01_bad.html", "index.html"]
    printed = capsys.readouterr().out
    assert "[1/2] 00_ok" in printed and "FAILED: ['01_bad']" in printed
    assert printed.count("no real face data found") == 1  # said once, before the lessons
    assert summary["real_data"] == {"lfw": {"status": "missing"}, "lag": {"status": "missing"}}
    assert summary["real_data_seconds"] >= 0
