"""Test-only parts for the archive reader, ``show --cell``/``export --cell`` and the archive's re-evaluation:
a stochastic cart-pole that returns two behaviour descriptors (and can replay, as a gym task does), and tiny
QD runs of it. Registered per test (``register(monkeypatch)``) so the registry-driven conformance tests never
see it."""
from __future__ import annotations

from pathlib import Path

import torch
import yaml

from evohyper.api import registry
from evohyper.api.task import Descriptor, Objective, Replay
from evohyper.config import validate
from evohyper.engine.runner import build_search
from evohyper.strategies.random_search import RandomSearch
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
        result.env_steps = int(result.fitness.sum())   # one step per unit of return (``budget.env_steps``)
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


# ----------------------------------------------------------------------------- a two-objective run with a front
FRONT_TASK, FRONT_STRATEGY = "test-front-cartpole", "test-front"


class TwoObjectiveCartPole(CartPoleTask):
    """Cart-pole with two conflicting objectives: the return (maximised, noisy) and ``cost`` (minimised): the
    return minus 30 x the size of the policy's output at the upright rest state."""

    def objective_space(self):
        return Objective("return", True), Objective("cost", False)

    def reference_point(self):
        return (0.0, 1000.0)

    def evaluate(self, phenotypes, seed):
        result = super().evaluate(phenotypes, seed)
        rest = phenotypes.forward(torch.zeros(len(phenotypes), 1, self.obs_dim, dtype=phenotypes.dtype))
        returns = result.fitness.double()
        cost = returns - 30 * rest[:, 0, 0].abs().double()[:, None]
        result.fitness = torch.stack([returns, cost], dim=2)   # [P, E, 2]
        return result


class LastFront(RandomSearch):
    """Random search that keeps the last generation's non-dominated individuals and writes them as ``front.pt``
    (the contract of ``engine.archive_files``: solutions, objectives in the task's directions, names)."""

    consumes = ("objectives",)
    state_exclude = ("signs", "names", "front_genes", "front_values")

    def bind_task(self, info):
        self.names = [o.name for o in info.objectives]
        self.signs = torch.tensor([1.0 if o.maximize else -1.0 for o in info.objectives], dtype=torch.float64)
        self.front_genes, self.front_values = None, None

    def _tell(self, fitness, objectives):
        better = (objectives[None, :, :] >= objectives[:, None, :]).all(2) & \
                 (objectives[None, :, :] > objectives[:, None, :]).any(2)   # [i, j]: j dominates i
        keep = ~better.any(1)
        order = torch.argsort(objectives[keep][:, 0] * self.signs[0], stable=True)
        self.front_genes = self._population[keep][order].clone()
        self.front_values = (objectives[keep] * self.signs)[order]
        super()._tell(fitness)

    def write_archive(self, directory):
        directory.mkdir(parents=True, exist_ok=True)
        torch.save({"solutions": self.front_genes, "objectives": self.front_values, "names": self.names,
                    "reference_point": torch.tensor([0.0, 1000.0]), "hypervolume": 0.0}, directory / "front.pt")
        return [directory / "front.pt"]


def register_front(monkeypatch) -> None:
    registry.tasks.names()
    registry.strategies.names()
    monkeypatch.setitem(registry.tasks._entries, FRONT_TASK, TwoObjectiveCartPole)
    monkeypatch.setitem(registry.strategies._entries, FRONT_STRATEGY, LastFront)
    TwoObjectiveCartPole.registered_name, LastFront.registered_name = FRONT_TASK, FRONT_STRATEGY


def front_config(tmp_path: Path, reevaluate: dict | None = None) -> dict:
    raw = {"name": "mo-cartpole", "seed": 4, "task": {"name": FRONT_TASK, "episodes": 2, "max_steps": 60},
           "network": {"hidden": [3]}, "strategy": {"name": FRONT_STRATEGY, "popsize": 16, "local_fraction": 0.0},
           "budget": {"generations": 2},
           "output": {"runs_dir": str(tmp_path), "tensorboard": False, "progress": False}}
    if reevaluate is not None:
        raw["evaluation"] = {"reevaluate": reevaluate}
    return raw
