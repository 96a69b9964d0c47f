"""Helpers for tests that drive the real CLI: find a run directory, read metrics.csv, kill a run mid-way.

Importable from every test module (``tests/`` is on ``sys.path`` through its ``conftest.py``)."""
import csv
import os
import signal
import subprocess
import sys
import time

from evohyper.engine.checkpoint import list_checkpoints

CLI = [sys.executable, "-m", "evohyper.cli"]


def run_dir_of(tmp_path, name):
    """The one run directory named ``name-<time>`` under ``tmp_path / "runs"``."""
    (d,) = [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(name + "-")]
    return d


def metric_rows(run_dir):
    """``metrics.csv`` as dicts, without the wall-clock column (the part a resumed run must reproduce)."""
    with (run_dir / "metrics.csv").open() as fh:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(fh)]


def run_and_kill(tmp_path, config, kill_after, timeout_s=60):
    """``evohyper run config`` (its name must be "killed"), SIGKILLed once a checkpoint of generation
    >= ``kill_after`` exists; the run directory."""
    proc = subprocess.Popen([*CLI, "run", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        dirs = list((tmp_path / "runs").glob("killed-*/checkpoints"))
        if dirs and list_checkpoints(dirs[0]) and \
                int(list_checkpoints(dirs[0])[0].stem.split("-")[1]) >= kill_after:
            break
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return run_dir_of(tmp_path, "killed")


def resume_beside(ref_dir, run_dir):
    """``evohyper resume run_dir`` (must succeed); the newest checkpoint states of the uninterrupted
    reference run and of the resumed one, to be compared bit for bit."""
    from evohyper.engine.checkpoint import load_latest

    res = subprocess.run([*CLI, "resume", str(run_dir)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return load_latest(ref_dir / "checkpoints")[0], load_latest(run_dir / "checkpoints")[0]


def kill_and_resume(tmp_path, write, kill_after, generations, timeout_s=120):
    """Run ``write(tmp_path, "ref")`` uninterrupted and ``write(tmp_path, "killed")`` SIGKILLed after
    ``kill_after`` generations, then resumed; ``(ref_dir, run_dir, ref_state, resumed_state)``."""
    from evohyper.engine.checkpoint import load_latest

    subprocess.run([*CLI, "run", str(write(tmp_path, "ref"))], check=True, capture_output=True)
    run_dir = run_and_kill(tmp_path, write(tmp_path, "killed"), kill_after, timeout_s)
    state, _ = load_latest(run_dir / "checkpoints")
    assert state["counters"]["generation"] < generations, "run finished before it could be killed"
    ref_dir = run_dir_of(tmp_path, "ref")
    return (ref_dir, run_dir, *resume_beside(ref_dir, run_dir))


def same_state(a, b):
    """Are two checkpoint states equal, tensors bit for bit (a strategy's explicit state, say)?"""
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype \
            and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        if "@dict" in a and "@dict" in b:   # an object_state dict: its items in any order (evotorch builds
            #                               # some from sets, so their order differs from process to process)
            ka, kb = {repr(k): v for k, v in a["@dict"]}, {repr(k): v for k, v in b["@dict"]}
            return a.keys() == b.keys() and same_state(ka, kb) and \
                all(same_state(a[k], b[k]) for k in a if k not in ("@dict", "@id"))
        # object_state's reference numbers follow the walk's order, which such a dict changes
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a if k not in ("@id", "@ref"))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)   # NaN == NaN here


def write_config(tmp_path, raw):
    """``raw`` (a config dict with its ``name``) as ``tmp_path/<name>.yaml``; the path."""
    import yaml

    path = tmp_path / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path
