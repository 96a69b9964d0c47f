"""Test-only parts for the archive reader, ``show --cell``/``export --cell`` and the archive's re-evaluation:
a stochastic cart-pole that returns two behaviour descriptors (and can replay, as a gym task does), and tiny
QD runs of it. Registered per test (``register(monkeypatch)``) so the registry-driven conformance tests never
see it."""
from __future__ import annotations

from pathlib import Path

import torch
import yaml

from evohyper.api import registry
from evohyper.api.task import Descriptor, Replay
from evohyper.config import validate
from evohyper.engine.runner import build_search
from evohyper_tasks.cartpole import CartPoleTask

NAME = "test-archive-cartpole"


class DescribedCartPole(CartPoleTask):
    """Cart-pole (stochastic: start states from the seed) with descriptors: the mean return as a fraction of
    ``max_steps`` (noisy) and the policy's output at the upright rest state (deterministic), and a replay
    that plays the very episodes ``evaluate`` scores (``episodes`` of them from ``seed``)."""

    def descriptor_space(self):
        return Descriptor("survival", 0.0, 1.0), Descriptor("rest_output", -1.0, 1.0)

    def evaluate(self, phenotypes, seed):
        result = super().evaluate(phenotypes, seed)
        rest = phenotypes.forward(torch.zeros(len(phenotypes), 1, self.obs_dim, dtype=phenotypes.dtype))
        result.descriptors = torch.stack([result.fitness.double().mean(1) / self.max_steps,
                                          torch.tanh(rest[:, 0, 0].double())], dim=1)
        return result

    def replay(self, phenotypes, seed, episodes, render=False):
        other = DescribedCartPole(episodes=episodes, max_steps=self.max_steps)
        returns = other.evaluate(phenotypes.select([0]), seed).fitness[0]
        return Replay([float(r) for r in returns], [int(r) for r in returns], [int(seed)] * episodes)


def register(monkeypatch) -> None:
    registry.tasks.names()   # entry points first
    monkeypatch.setitem(registry.tasks._entries, NAME, DescribedCartPole)
    DescribedCartPole.registered_name = NAME


def raw_config(tmp_path: Path, task: dict | None = None, generations: int = 3, reevaluate: dict | None = None,
               strategy: str = "map_elites") -> dict:
    raw = {"name": "qd-cartpole", "seed": 3,
           "task": task or {"name": NAME, "episodes": 2, "max_steps": 40},
           "network": {"hidden": [3]},
           "strategy": {"name": strategy, "archive": {"type": "grid", "dims": [4, 5]},
                        "emitters": {"count": 1, "batch_size": 12}},
           "budget": {"generations": generations},
           "output": {"runs_dir": str(tmp_path), "tensorboard": False, "progress": False}}
    if reevaluate is not None:
        raw["evaluation"] = {"reevaluate": reevaluate}
    return raw


def run(raw: dict, run_dir: Path):
    """A run into ``run_dir`` (its config.yaml written first, as ``evohyper run`` does); the search and result."""
    config = validate(raw)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    search = build_search(config, run_dir)
    return search, search.run()
