"""bench/lesson_seeds.py: a lesson run for several seeds through papermill, its figures kept."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_lesson_seeds_records_each_seeds_reported_figures(tmp_path):
    out = tmp_path / "seeds.json"
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "lesson_seeds.py"), "07", "--profile", "smoke",
                           "--seeds", "0", "1", "--keys", "bcubed", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["lesson"] == "07_clustering" and data["profile"] == "smoke" and data["seeds"] == [0, 1]
    assert data["held"] == 2 and set(data["per_seed"]) == {"0", "1"}
    first, second = (data["per_seed"][s]["figures"] for s in ("0", "1"))
    assert first and all(k.startswith("bcubed") for k in first)
    assert first != second, "two seeds gave identical figures: SEED did not reach the lesson"
    for key, stats in data["summary"].items():
        values = [first[key], second[key]]
        assert abs(stats["mean"] - sum(values) / 2) < 1e-12
        assert stats["min"] == min(values) and stats["max"] == max(values)
    assert "lesson_seeds.py 07" in data["command"]


def test_lesson_seeds_refuses_an_ambiguous_prefix(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "lesson_seeds.py"), "0", "--out",
                           str(tmp_path / "x.json")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "give a prefix that names one lesson" in proc.stderr
    assert not (tmp_path / "x.json").exists()
