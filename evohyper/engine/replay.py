"""Replay a run's best individual in its task's real environment (``evohyper show RUN_DIR --episodes N``).

The best individual is rebuilt from what the run exported: ``best/weights.pt`` (its phenotype's
tensors, built into the task's target), and ``best/evaluation_state.pt`` with the seed it was scored
with (``best/phenotype.json``: ``evaluation``), so the first episodes of that seed reproduce its
recorded fitness (observation normalisation included).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from evohyper.api.phenotypes import Phenotypes
from evohyper.api.task import Replay, Task
from evohyper.config.build import build
from evohyper.engine.runner import load_run_config


@dataclass
class BestPolicy:
    """A run's best individual, ready to replay: the task (with the evaluation state loaded) and its
    phenotype (a population of one)."""

    task: Task
    phenotypes: Phenotypes
    fitness: float | None       # recorded, in the task's direction
    seed: int | None            # the evaluation seed that fitness was scored with
    generation: int | None

    def replay(self, episodes: int, seed: int | None = None, render: bool = False) -> Replay:
        """``episodes`` episodes seeded from ``seed`` (default: the recorded evaluation seed)."""
        chosen = self.seed if seed is None else seed
        if chosen is None:
            raise ValueError("this run recorded no evaluation seed for its best individual; pass a seed")
        return self.task.replay(self.phenotypes, int(chosen), int(episodes), render=render)


def load_best(run_dir: str | Path, device: str = "cpu") -> BestPolicy:
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    best = run_dir / "best"
    for name in ("phenotype.json", "weights.pt"):
        if not (best / name).is_file():
            raise FileNotFoundError(f"{run_dir} has no exported best individual (no best/{name})")
    summary: dict[str, Any] = json.loads((best / "phenotype.json").read_text())
    built = build(config.spec().without_strategy())
    task, decoder = built.task, built.decoder
    task.setup(device)
    weights = torch.load(best / "weights.pt", map_location=device, weights_only=True)
    phenotypes = decoder.target.build({k: v.unsqueeze(0) for k, v in weights.items()})
    evaluation = summary.get("evaluation") or {}
    state = torch.load(best / evaluation["state"], weights_only=True) if evaluation.get("state") else None
    task.load_evaluation_state(state)
    return BestPolicy(task, phenotypes, summary.get("fitness"), evaluation.get("seed"), evaluation.get("generation"))
