"""Issue 13 (items 12, 14): a Ray backend that cannot start stops quickly with one line; actors run on the
configured device."""
import subprocess
import sys
import time

import pytest
import torch
import yaml

from evohyper.config import validate
from evohyper.engine.runner import make_backend

CLI = [sys.executable, "-m", "evohyper.cli"]
pytestmark = pytest.mark.ray


def _config(tmp_path, backend):
    cfg = {"name": "r", "seed": 1, "task": {"name": "sphere", "dim": 3}, "strategy": {"name": "cmaes", "popsize": 4},
           "budget": {"generations": 2}, "backend": {"name": "ray", **backend},
           "output": {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _fails_fast(tmp_path, backend, message, limit_s):
    start = time.monotonic()
    proc = subprocess.run([*CLI, "run", str(_config(tmp_path, backend))], capture_output=True, text=True,
                          timeout=limit_s + 60)
    took = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert took < limit_s, took


def test_unreachable_cluster_address_fails_fast(tmp_path):
    _fails_fast(tmp_path, {"address": "127.0.0.1:1", "startup_timeout_s": 600}, "cannot reach Ray at", 30)


def test_actors_a_local_ray_cannot_place_fail_fast(tmp_path):
    backend = {"num_actors": 1000, "num_cpus_per_actor": 1, "startup_timeout_s": 600}
    _fails_fast(tmp_path, backend, "could never all be placed", 90)


@pytest.mark.parametrize("device,expected", [(None, "cpu"), ("cpu:0", "cpu:0")])
def test_ray_actors_run_on_the_configured_device(ray_local, device, expected):
    config = validate({"name": "d", "task": {"name": "sphere", "dim": 3}, "strategy": {"name": "cmaes"},
                       "budget": {"generations": 1},
                       "backend": {"name": "ray", "device": device, "num_actors": 1, "num_cpus_per_actor": 0.25}})
    backend = make_backend(config, config.components())
    try:
        assert [info["device"] for info in backend.actor_info()] == [expected]
    finally:
        backend.close()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_ray_actors_evaluate_on_cuda(ray_local):
    config = validate({"name": "d", "task": {"name": "sphere", "dim": 3}, "strategy": {"name": "cmaes"},
                       "budget": {"generations": 1},
                       "backend": {"name": "ray", "device": "cuda", "num_actors": 1, "num_cpus_per_actor": 0.25,
                                   "num_gpus_per_actor": 0.5}})
    backend = make_backend(config, config.components())
    try:
        assert [info["device"] for info in backend.actor_info()] == ["cuda"]
        result = backend.evaluate(torch.zeros(4, 3), 0)
        assert torch.allclose(result.fitness, torch.full((4,), 0.75, dtype=torch.float64))
    finally:
        backend.close()
