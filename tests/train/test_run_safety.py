"""Runs that never lose work (issue 14): the NaN guard, run folders, resume, clear errors.

`T` is the tiny command of the issue: `python -m facecourse train --recipe synthetic-arcface`
on 20 synthetic people x 8 images at 32 px, batch 16, on the CPU.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from facecourse.train import TrainConfig
from facecourse.train.checkpoint import load_checkpoint, non_finite, save_checkpoint
from facecourse.train.cli import export_onnx_main, main
from facecourse.train.fit import fit
from facecourse.train.history import History
from facecourse.train.run_dir import RunLock

from _train_tiny import tiny_config, tiny_faces

REPO = Path(__file__).resolve().parents[2]
T = ["--recipe", "synthetic-arcface", "--set", "data.num_identities=20", "--set",
     "data.images_per_identity=8", "--set", "model.image_size=32", "--set", "batch_size=16",
     "--set", "device=cpu", "--set", "progress=false"]


def sets(*items):
    return [a for s in items for a in ("--set", s)]


def train(out, *args):
    return main([*T, *args, "--out", str(out)])


def rows(out):
    return [json.loads(line) for line in (Path(out) / "history.jsonl").read_text().splitlines()]


def finite_everywhere(state) -> bool:
    tensors = [*state["backbone"].values(), *state["head"].values()]
    tensors += [t for s in state["optimizer"]["state"].values() for t in s.values()
                if isinstance(t, torch.Tensor)]
    return all(t.isfinite().all() for t in tensors if t.is_floating_point())


# ---- 1. the NaN guard keeps only a checkpoint that is finite in every tensor

def test_nan_guard_never_saves_non_finite_batchnorm_statistics(tmp_path, capsys):
    """lr=1e5: the loss stays finite for a while but running_var blows up first."""
    out = tmp_path / "M"
    rc = train(out, *sets("epochs=4", "checkpoint_every=5", "log_every=5", "optim.lr=1e5"))
    err = capsys.readouterr().err
    assert rc == 1, err
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert finite_everywhere(state), "the kept checkpoint holds NaN/Inf"
    assert f"(step {state['step']}) was kept" in err, err


def test_non_finite_names_buffers_and_optimizer_state():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    assert non_finite({"backbone": model}, opt) == []
    model[1].running_var[0] = float("nan")
    next(iter(opt.state.values()))["momentum_buffer"][0] = float("inf")
    assert non_finite({"backbone": model}, opt) == ["backbone.1.running_var",
                                                    "optimizer.state[0].momentum_buffer"]


# ---- 2. an existing run folder is refused; a lock keeps a second process out

def test_a_finished_run_is_not_overwritten_without_overwrite(tmp_path, capsys):
    out = tmp_path / "OW"
    assert train(out, *sets("max_steps=6", "log_every=1")) == 0
    before = (out / "history.jsonl").read_bytes(), (out / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert train(out, *sets("max_steps=3")) == 2
    err = capsys.readouterr().err
    assert "already holds a run (checkpoint.pt at step 6, 6 history rows)" in err
    assert "--resume" in err and "--overwrite" in err
    assert ((out / "history.jsonl").read_bytes(), (out / "checkpoint.pt").read_bytes()) == before
    assert train(out, *sets("max_steps=3", "log_every=1"), "--overwrite") == 0
    assert [r["step"] for r in rows(out)] == [1, 2, 3]
    assert not (out / ".lock").exists()


def test_a_live_lock_is_refused_with_its_pid_and_a_stale_one_taken_over(tmp_path, capsys):
    out = tmp_path / "L"
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = {"pid": sleeper.pid, "host": os.uname().nodename, "started": "now"}
        (out / ".lock").write_text(json.dumps(lock))
        assert train(out, *sets("max_steps=2")) == 2
        assert f"is in use by PID {sleeper.pid}" in capsys.readouterr().err
        assert not (out / "config.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert train(out, *sets("max_steps=2")) == 0  # that process is gone: the lock is stale
    assert f"left by PID {sleeper.pid}" in capsys.readouterr().err
    assert not (out / ".lock").exists()


def test_two_runs_started_at_once_into_one_folder(tmp_path):
    out = tmp_path / "both"
    cmd = [sys.executable, "-m", "facecourse", "train", *T, *sets("max_steps=30", "log_every=1"),
           "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(rc for rc, _ in results) == [0, 2], results
    loser = next(err for rc, err in results if rc == 2)
    assert "is in use by PID" in loser or "already holds a run" in loser, loser
    assert [r["step"] for r in rows(out)] == list(range(1, 31))  # one run's rows, not two



def test_a_lock_that_exists_always_names_its_owner(tmp_path):
    """The race behind a flaky CI run: a second process found the lock created but still empty
    and could only say 'another process'. The lock is now linked into place whole."""
    import threading
    seen, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            try:
                seen.append((tmp_path / ".lock").read_text())
            except FileNotFoundError:
                pass

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(300):
            with RunLock(tmp_path):
                time.sleep(0.001)  # lets the watcher run (on a loaded machine it may not, else)
    finally:
        stop.set()
        watcher.join()
    assert seen, "the watcher never saw the lock"
    assert all(json.loads(text)["pid"] == os.getpid() for text in seen)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no temporary left behind


def test_lock_temporaries_of_killed_processes_are_removed_and_live_ones_kept(tmp_path):
    """A run SIGKILLed between writing `.lock.<pid>.tmp` and linking it left the file for good."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = os.uname().nodename
        for pid in (dead.pid, live.pid):
            (tmp_path / f".lock.{pid}.tmp").write_text(json.dumps({"pid": pid, "host": host}))
        (tmp_path / ".lock.77777777.tmp").write_text(json.dumps({"pid": 77777777, "host": "elsewhere"}))
        (tmp_path / f".lock.{dead.pid + 1000000}.tmp").write_text("")  # cut short, just now
        with RunLock(tmp_path):
            pass
        left = sorted(p.name for p in tmp_path.iterdir())
    finally:
        live.kill()
        live.wait()
    assert left == sorted([f".lock.{live.pid}.tmp", ".lock.77777777.tmp",  # another host's, a live one's
                           f".lock.{dead.pid + 1000000}.tmp"])  # may be under way: kept for a minute


# ---- 3./4. resume: the run's own config; weight-deciding changes refused, nothing written

def test_documented_resume_reads_the_runs_own_config(tmp_path, capsys):
    out = tmp_path / "a"
    assert train(out, *sets("max_steps=4", "log_every=2")) == 0
    assert main(["--out", str(out), "--resume", "--set", "max_steps=6"]) == 0
    assert "done: 6 steps" in capsys.readouterr().out
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["max_steps"] == 6 and cfg["model"]["image_size"] == 32  # the run's, not defaults
    assert [r["step"] for r in rows(out)] == [2, 4, 6]


def test_resume_refuses_a_changed_lr_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "a"
    assert train(out, *sets("max_steps=4")) == 0
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(["--out", str(out), "--resume", *sets("optim.lr=1e6", "head.m=0.1")]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "optim.lr: 0.1 in the checkpoint, 1000000.0 now" in err
    assert "head.m: 0.5 in the checkpoint, 0.1 now" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files


def test_resume_with_an_empty_out_says_there_is_no_run(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "none"), "--resume"]) == 2
    assert "holds no run to continue (no checkpoint.pt)" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="holds no run to continue"):
        fit(tiny_config(out_dir=str(tmp_path / "none2"), resume=True), tiny_faces())


def test_resume_with_a_checkpoint_of_another_architecture(tmp_path, capsys):
    out = tmp_path / "a"
    assert train(out, *sets("max_steps=2")) == 0
    capsys.readouterr()
    # a recipe that builds another network: refused from the config, before loading weights
    assert main(["--recipe", "synthetic-arcface", "--out", str(out), "--resume"]) == 2
    assert "model.image_size: 32 in the checkpoint, 64 now" in capsys.readouterr().err
    # a checkpoint whose config says one thing and whose weights are another's
    state = load_checkpoint(out / "checkpoint.pt")
    state["backbone"] = {k + "_x": v for k, v in state["backbone"].items()}
    save_checkpoint(state, out / "checkpoint.pt")
    assert main(["--out", str(out), "--resume", "--set", "max_steps=3"]) == 2
    assert "does not fit the model this config builds" in capsys.readouterr().err


def test_a_torn_history_line_is_dropped_with_a_warning(tmp_path, capsys):
    out = tmp_path / "a"
    assert train(out, *sets("max_steps=4", "log_every=2", "checkpoint_every=2")) == 0
    with open(out / "history.jsonl", "a") as f:
        f.write('{"step": 6, "epoch": 0.75, "lo')  # a kill in the middle of a write
    capsys.readouterr()
    assert main(["--out", str(out), "--resume", "--set", "max_steps=6"]) == 0
    assert f"{out / 'history.jsonl'} line 3 is damaged" in capsys.readouterr().err
    assert [r["step"] for r in rows(out)] == [2, 4, 6]
    assert History(out, keep_until=6).rows[-1]["step"] == 6


def test_orphaned_checkpoint_temporaries_are_removed_at_the_next_start(tmp_path):
    out = tmp_path / "a"
    assert train(out, *sets("max_steps=2")) == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    orphan = out / f".checkpoint.pt.{dead}.tmp"
    orphan.write_bytes(b"half a checkpoint")
    assert main(["--out", str(out), "--resume", "--set", "max_steps=3"]) == 0
    assert not orphan.exists()


# ---- 5. unreadable checkpoints and devices: one line naming the file, exit 2

def test_checkpoint_errors_name_the_file_and_never_suggest_weights_only_false(tmp_path, capsys):
    good = tmp_path / "a"
    assert train(good, *sets("max_steps=2")) == 0
    blob = (good / "checkpoint.pt").read_bytes()
    cases = {
        "empty.pt": (b"", "is empty (0 bytes)"),
        "cut.pt": (blob[: len(blob) // 2], "is truncated or not a torch checkpoint"),
    }
    pickled = tmp_path / "pickled.pt"
    torch.save({"backbone": {}, "config": {}, "x": Path("/etc")}, pickled)  # a class, pickled
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    cases["pickled.pt"] = (None, "holds pickled Python objects, which facecourse refuses")
    for name, (_, message) in cases.items():
        path = tmp_path / name
        with pytest.raises(ValueError) as e:
            load_checkpoint(path)
        assert message in str(e.value) and str(path) in str(e.value)
        assert "weights_only=False" not in str(e.value)
        capsys.readouterr()
        assert export_onnx_main(["--checkpoint", str(path), "--out", str(tmp_path / "x.onnx")]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main([*T, "--set", f"distill.teacher_checkpoint={tmp_path / 'cut.pt'}", "--set",
                 "distill.weight=1", "--out", str(tmp_path / "t")]) == 2
    assert "is truncated" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is here")
def test_device_cuda_without_cuda(tmp_path, capsys):
    assert main([*T, "--set", "device=cuda", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "device='cuda' but CUDA is not available here" in err and "device=cpu" in err
    assert not (tmp_path / "c").exists()


# ---- 6. values that mean nothing are refused with the field's name (typed --set)

@pytest.mark.parametrize("item, message", [
    ("optim.head_lr=-1", "config optim.head_lr=-1: use null (= lr) or a learning rate > 0"),
    ("optim.weight_decay=-1", "config optim.weight_decay=-1: use 0 (off) or a positive decay"),
    ("optim.momentum=2", "config optim.momentum=2: use a momentum in [0, 1)"),
    ("classification.center_loss_weight=-1",
     "config classification.center_loss_weight=-1: use 0 (off)"),
    ("center_loss_weight=-1", "config classification.center_loss_weight=-1"),  # the old name
    ("optim.lr=0", "config optim.lr=0: use a learning rate > 0"),
    ("log_every=0", "config log_every=0: use at least 1 step"),
    ("max_steps=-5", "config max_steps=-5: use 0"),
    ("epochs=abc", "config epochs='abc': expected a finite number (float)"),
    ("optim.lr=0.1x", "config optim.lr='0.1x': expected a finite number"),
    ("model.embedding_dim=12.5", "config model.embedding_dim=12.5: expected a whole number (int)"),
    ("data.augment=maybe", "config data.augment='maybe': expected true or false (bool)"),
    ("optim.head_lr=fast", "config optim.head_lr='fast': expected a finite number or null"),
    ("optim.betas=0.9", "config optim.betas=0.9: expected a list"),
    ("data.on_error=ignore", "config data.on_error='ignore': use 'raise' or 'skip'"),
])
def test_bad_values_are_refused_naming_the_field(tmp_path, capsys, item, message):
    assert train(tmp_path / "v", "--set", item) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("text, value", [("no", False), ("off", False), ("true", True),
                                         ("1", True)])
def test_bool_values_are_coerced(text, value):
    from facecourse.train.cli import build_config
    from facecourse.train.config import parse_sets
    cfg = TrainConfig.from_dict({"data": {"augment": parse_sets([f"x={text}"])["x"]}})
    assert cfg.data.augment is value
    cfg = TrainConfig.from_dict({"model": {"embedding_dim": 64.0}, "optim": {"head_lr": "null"}})
    assert cfg.model.embedding_dim == 64 and type(cfg.model.embedding_dim) is int
    assert cfg.optim.head_lr is None
    assert callable(build_config)


def test_configs_built_in_python_are_type_checked_too():
    from facecourse.train.config import validate
    cfg = TrainConfig()
    cfg.data.augment = "no"  # truthy: augmentation would silently stay on
    with pytest.raises(ValueError, match="config data.augment='no': expected bool, got str"):
        validate(cfg)


def test_a_run_that_times_out_of_epochs_on_resume_is_fine(tmp_path):
    """Resuming a finished run with the same length trains no step and changes no weight."""
    out = tmp_path / "a"
    assert train(out, *sets("max_steps=2")) == 0
    before = (out / "checkpoint.pt").read_bytes()
    t0 = time.time()
    assert main(["--out", str(out), "--resume"]) == 0
    assert (out / "checkpoint.pt").read_bytes() == before and time.time() - t0 < 60


def test_train_on_a_folder_with_a_corrupt_image_raise_or_skip(tmp_path, capsys):
    from PIL import Image
    root = tmp_path / "faces"
    for person in ("ann", "bob"):
        (root / person).mkdir(parents=True)
        for k in range(4):
            Image.new("RGB", (40, 40), (60 * k, 90, 30)).save(root / person / f"{k}.png")
    (root / "bob" / "broken.jpg").write_bytes(b"not a jpeg")
    folder = sets("data.source=folder", f"data.root={root}", "max_steps=2", "batch_size=4")
    assert main([*T, *folder, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "data.on_error=skip" in err
    assert main([*T, *folder, "--set", "data.on_error=skip", "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 unreadable image" in out and "broken.jpg" in out
