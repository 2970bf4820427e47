"""Every lesson, end to end, through papermill in the smoke profile (as `make course` runs it)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from facecourse.course import run_notebook

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))


# The lessons with a "Web faces" section, and the claim each asserts there: in these runs it
# trains for 3 % of casia-arcface's schedule (one epoch) on a tiny synthetic train.rec.
WEB_CLAIMS = {
    "03_angular_margins": "at the papers' scale the margins pay",
    "04_backbones": "with the papers' whole schedule the heavy backbone wins",
    "06_siamese_cross_age": "at the papers' scale the age gap still costs",
}


@pytest.fixture(scope="module")
def web_data(tmp_path_factory):
    """A FACECOURSE_DATA with what the course finds in ../shared/data, plus a tiny web-face set
    (train.rec and four .bin sets) where the gpu profile looks for CASIA-WebFace."""
    from facecourse.data import default_data_root, make_tiny_insightface
    root = tmp_path_factory.mktemp("data")
    shared = default_data_root()
    for entry in (shared.iterdir() if shared is not None else ()):
        (root / entry.name).symlink_to(entry)
    make_tiny_insightface(root / "faces_webface_112x112", identities=8, per_identity=10, pairs=40,
                          size=48, bins=("lfw", "cfp_fp", "agedb_30", "calfw"))
    return root


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_lesson_runs_in_smoke_profile_and_reports(path, tmp_path, request, monkeypatch):
    if path.stem in WEB_CLAIMS:
        monkeypatch.setenv("FACECOURSE_DATA", str(request.getfixturevalue("web_data")))
        monkeypatch.setenv("FACECOURSE_WEBFACE", "0.03")
    result = run_notebook(path, tmp_path, {"PROFILE": "smoke", "SEED": 0}, progress=False)
    assert result["status"] == "ok", result["error"]
    assert result["metrics"], f"{path.name} reported no figures: call facecourse.report(...)"
    assert result["metrics"].get("profile") == "smoke"
    if path.stem in WEB_CLAIMS:
        claims = result["metrics"].get("claims") or {}
        assert any(text.startswith(WEB_CLAIMS[path.stem]) for text in claims), (
            f"{path.name}: its web-face section did not run on the tiny train.rec ({list(claims)})")
        web = {k: v for k, v in result["metrics"].items() if k.startswith("web_")}
        assert web and all(0.0 <= v <= 1.0 for v in web.values()), web
    executed = json.loads((tmp_path / path.name).read_text())
    assert any("injected-parameters" in c.get("metadata", {}).get("tags", [])
               for c in executed["cells"]), "papermill injected the parameters"
    pictures = sum("image/png" in o.get("data", {})
                   for c in executed["cells"] for o in c.get("outputs", []))
    assert pictures >= 2, f"{path.name} showed {pictures} figures: results are pictures"


def test_papermill_parameters_reach_the_profile_and_home_stays_clean(tmp_path, monkeypatch):
    """A profile passed with -p wins over the default, and nothing is written into $HOME."""
    import nbformat
    monkeypatch.delenv("FACECOURSE_PROFILE", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    params = nbformat.v4.new_code_cell('PROFILE = "laptop"\nSEED = 0')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\nfrom facecourse import get_profile, report\n"
        "plt.plot([1, 2]); plt.show()\nreport(profile=get_profile(PROFILE).name, seed=SEED)")]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    result = run_notebook(path, tmp_path / "out", {"PROFILE": "smoke", "SEED": 7}, progress=False)
    assert result["status"] == "ok", result["error"]
    assert result["metrics"] == {"profile": "smoke", "seed": 7}
    written = [str(p.relative_to(home)) for p in home.rglob("*")]
    assert written == [], f"wrote into $HOME: {written}"
