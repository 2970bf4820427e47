"""bench/lfw.py end to end on a few real people (from the raw LFW, as CI has it), and the
README's results table, which must equal what bench/results_table.py generates."""
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _results_table():
    spec = importlib.util.spec_from_file_location("results_table", BENCH / "results_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_results_section_is_generated_from_the_results():
    rt = _results_table()
    section = rt.generate(rt.load_results())
    text = rt.README.read_text()
    assert section in text, "README.md is stale: run python bench/results_table.py --write"
    assert text.rstrip().endswith(rt.END), "the results table ends the README"


def test_results_table_shows_missing_figures_as_not_measured():
    rt = _results_table()
    empty = rt.generate({})
    assert empty.count("not measured") >= 3 * 4 and "%" not in empty.split("Published")[0]
    one = rt.generate({"lfw": {"scratch": {"acc": 0.8512, "auc": 0.91, "tar@far=1e-2": 0.3,
                                           "train_minutes": 17.0, "device": "cpu",
                                           "command": "python bench/lfw.py", "machine": "m",
                                           "date": "2026-01-02"}}})
    assert ("| 85.1 % | 0.9100 | 0.300 | not measured | not measured | not measured | 17.0 min wall, cpu | "
            "`python bench/lfw.py`; m; 2026-01-02 |") in one
    lag = rt.generate({"lfw": {"dlib": {"acc": 0.986, "lag": {"auc": 0.9312, "rank1": 0.4046,
                                                              "tar@far=1e-2": 0.51, "n_people": 392}}}})
    assert "| 98.6 % | not measured | not measured | 0.931 | 0.405 | 0.510 | — (pretrained) |" in lag
    assert "the 392 LAG-dev people who are in no LFW list" in lag
    assert one.count("not measured") == empty.count("not measured") - 5
    assert rt.replace_section("intro\n" + empty + "\n", one) == "intro\n" + one + "\n"
    timed = rt.generate({"lfw": {"distilled": {"acc": 0.9, "train_minutes": 25.3, "device": "cpu",
                                               "train_process_cpu_minutes": 18.42, "threads": 1}}})
    assert "| 25.3 min wall, cpu (18.4 min process CPU, 1 thread) |" in timed
    assert rt.replace_section("intro\n", one) == "intro\n\n" + one + "\n"


@pytest.mark.lfw
@pytest.mark.slow
def test_tiny_lfw_bench_end_to_end(lfw_dir, tmp_path):
    """Prepare ~30 people from the raw LFW, cache dlib's embeddings, train both recipes a few
    steps, evaluate all three on the DevTest pairs they have, and write the JSON."""
    out = tmp_path / "lfw.json"
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, str(BENCH / "lfw.py"), "--tiny", "--data", str(lfw_dir),
                          "--work", str(tmp_path / "work"), "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    seconds = time.perf_counter() - t0
    results = json.loads(out.read_text())
    for key in ("devtest_acc_scratch", "devtest_acc_distilled", "devtest_acc_dlib",
                "train_cpu_minutes_scratch", "train_cpu_minutes_distilled"):
        assert key in results, key
    for key in ("devtest_acc_scratch", "devtest_acc_distilled", "devtest_acc_dlib",
                "devtest_auc_dlib", "devtest_tar_far1e-2_scratch"):
        assert 0.0 <= results[key] <= 1.0, (key, results[key])
    assert results["tiny"] is True and results["dlib"]["command"].startswith("python bench/lfw.py --tiny --data ")
    assert "--recipe lfw-distill" in results["distilled"]["command"]
    # lfw-scratch's threshold comes from the held-out people's pairs and the mismatched ones
    assert results["scratch"]["hold_out"] == "people"
    assert results["scratch"]["n_devtrain_pairs"] < results["distilled"]["n_devtrain_pairs"]
    assert results["dlib"]["embedded_images"] > 0 and results["dlib"]["n_pairs"] > 0
    assert (tmp_path / "work" / "runs" / "bench-lfw-scratch" / "devtest.json").is_file()
    print(f"tiny LFW bench: {seconds:.0f} s")


def test_gpu_bench_runs_on_the_cpu_with_tiny_sizes(tmp_path):
    """bench/gpu.py --device cpu --tiny: the speed pair and a casia-arcface run on a tiny .rec
    whose .bin sets are measured during training, into the JSON."""
    out = tmp_path / "gpu.json"
    run = subprocess.run([sys.executable, str(BENCH / "gpu.py"), "--device", "cpu", "--tiny", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    r = json.loads(out.read_text())
    (speed,) = r["speed_fit_vs_bare_loop"]
    assert speed["fit_img_per_s"] > 0 and speed["bare_loop_img_per_s"] > 0 and speed["ratio"] > 0
    real = r["real_run"]
    assert [s for s, _ in real["loss"]] == [2, 4] and all(l > 0 for _, l in real["loss"])
    assert [v["step"] for v in real["val"]] == [2, 4]
    assert all(0 <= v["val_lfw_acc"] <= 1 and 0 <= v["val_cfp_fp_acc"] <= 1 for v in real["val"])
    assert "tiny synthetic" in real["note"] and r["tiny"] is True
    no_gpu = subprocess.run([sys.executable, str(BENCH / "gpu.py"), "--out", str(tmp_path / "x.json")],
                            capture_output=True, text=True, timeout=120)
    if not __import__("torch").cuda.is_available():
        assert no_gpu.returncode == 2 and "no CUDA device here" in no_gpu.stderr
