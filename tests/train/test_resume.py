"""A run killed with SIGKILL and resumed ends with exactly the weights of an uninterrupted run."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import torch

from facecourse.train.fit import KILL_ENV

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def start(out, *sets, env=None):
    """`_train_tiny.py` in a fresh single-threaded process (same arithmetic every run)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.Popen([sys.executable, str(HERE / "_train_tiny.py"), str(out), *sets],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc):
    out, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    sets = ["epochs=2", "checkpoint_every=3", "log_every=1"]  # 8 steps, 4 an epoch
    full = start(tmp_path / "full", *sets)
    killed = start(tmp_path / "cut", *sets, env={KILL_ENV: "5"})  # dies after step 5
    rc, err = finish(killed)
    assert rc == -signal.SIGKILL, err
    state = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    assert (state["step"], state["epoch"], state["step_in_epoch"]) == (3, 0, 3)
    assert not (tmp_path / "cut" / "final.pt").exists()
    # resume from step 3: steps 4 and 5 are done again, across the epoch boundary
    rc, err = finish(start(tmp_path / "cut", *sets, "resume=true"))
    assert rc == 0, err
    rc, err = finish(full)
    assert rc == 0, err

    a = torch.load(tmp_path / "full" / "final.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / "final.pt", weights_only=True)
    for part in ("backbone", "head"):
        for name, w in a[part].items():
            assert torch.equal(w, b[part][name]), f"{part}.{name} differs after resume"
    rows = [json.loads(line) for line in (tmp_path / "cut" / "history.jsonl").read_text().splitlines()]
    ref = [json.loads(line) for line in (tmp_path / "full" / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 9))  # rows after the checkpoint replaced
    assert [r["loss"] for r in rows] == [r["loss"] for r in ref]
    assert (tmp_path / "cut" / "history.csv").read_text().count("\n") == 9  # header + 8 rows
