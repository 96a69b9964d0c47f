"""A whole search on the Ray backend, built from a config: same results as local, plugins reach actors."""
from pathlib import Path

import pytest
import torch

from evohyper.config import validate
from evohyper.engine.runner import build_search

HERE = Path(__file__).resolve().parent


def _search(backend, **over):
    raw = {"name": "r", "seed": 11, "plugins": ["plugin_tasks"], "task": {"name": "plugin-quadratic", "dim": 5},
           "strategy": {"name": "snes", "popsize": 12}, "budget": {"generations": 4},
           "backend": {"name": backend, "num_actors": 3, "num_cpus_per_actor": 0.25, "timeout_s": 60}}
    raw.update(over)
    return build_search(validate(raw), None)


@pytest.mark.ray
def test_ray_search_from_config_equals_local_search(ray_local, monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("PYTHONPATH", str(HERE))      # the driver's plugin path is handed to the actors
    local = _search("local")
    local.run()
    remote = _search("ray")
    remote.run()
    assert [r.best for r in local.history] == [r.best for r in remote.history]
    assert [r.mean for r in local.history] == [r.mean for r in remote.history]
    assert torch.equal(local.strategy.best_genotype, remote.strategy.best_genotype)
