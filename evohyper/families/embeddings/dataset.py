"""The data set of the agent-embedding generator: evolved CartPole networks and their survival times.

Chang et al. (AAMAS 2019) trained a VAE on 74,000 pole-balancing networks in four groups by survival time in a
200-step CartPole episode (1-50, 51-100, 101-150, 151-200 steps). We make such a data set with the engine itself:

- **Where the networks come from.** Many short searches (vector strategies, CMA-ES / SNES / the GA / random
  search in turn, each with its own seed, on the ``direct`` decoder over the task's MLP), each run through the
  engine's ``Search``; a ``PopulationRecorder`` observer keeps every population the search evaluated, so early
  (poor), middle and late (good) networks of every run all enter the pool.
- **How survival time is measured.** Not with the searches' own (noisy, few-episode, per-generation) scores: all
  networks of a run are re-scored once, in batched calls, on one fixed set of ``score_episodes`` start states
  (seed ``score_seed``, the same for every network of every run); a network's survival time is its mean episode
  length over them (in [1, max_steps]). Its group is the paper's bin of that mean: <= 50, <= 100, <= 150, else.
- **Balance.** Runs are added until every group holds ``per_group`` networks (or ``max_runs`` is reached); each
  group is then cut to the same size by a seeded random choice, so the data set holds ``4 x per_group``
  networks (fewer, and said so in the sidecar, when a group stayed short).

Why the engine is passed in (``build_search``): a family imports only the core and the config layer
(docs/architecture.md); the caller (``experiments/agent_embeddings.py``) hands over
``evohyper.engine.runner.build_search``.

The file is ``torch.save`` of a dict of tensors (``weights [N, D]``, ``survival [N]``, ``group [N]`` (0-based),
``run [N]``), read back with ``weights_only=True``, plus a JSON sidecar ``<file>.json`` with the provenance:
target network, runs (strategy, options, seed), evaluations spent by the searches and by the re-scoring.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from evohyper.config import validate

#: the paper's survival-time groups (inclusive step ranges of a 200-step episode)
GROUPS: tuple[tuple[int, int], ...] = ((1, 50), (51, 100), (101, 150), (151, 200))

#: the strategies the searches cycle through (options on top of ``popsize``), each a differently shaped path
#: from random networks to balancing ones
STRATEGIES: tuple[dict[str, Any], ...] = (
    {"name": "cmaes", "sigma0": 0.5},
    {"name": "snes", "stdev_init": 0.5},
    {"name": "ga", "mut_sigma": 0.3},
    {"name": "cmaes", "sigma0": 1.5},
    {"name": "random"},
)


def group_of(survival: torch.Tensor, max_steps: int = 200) -> torch.Tensor:
    """0-based group of each survival time (the paper's bins scaled to ``max_steps``: quarters of the episode)."""
    edges = torch.tensor([max_steps * q / 4 for q in (1, 2, 3)], dtype=torch.float64)
    return torch.bucketize(survival.double(), edges, right=False)


@dataclass
class DatasetSpec:
    """What to make: network, episode length, how survival is scored, how many networks per group, the searches."""

    hidden: list[int] = field(default_factory=lambda: [8])
    max_steps: int = 200
    per_group: int = 8000
    score_episodes: int = 10
    score_seed: int = 12345
    search_episodes: int = 3
    popsize: int = 64
    generations: int = 25
    max_runs: int = 200
    seed: int = 0
    strategies: list[dict[str, Any]] = field(default_factory=lambda: [dict(s) for s in STRATEGIES])

    def task_block(self, episodes: int) -> dict[str, Any]:
        return {"name": "cartpole", "episodes": episodes, "max_steps": self.max_steps}

    def run_config(self, index: int) -> dict[str, Any]:
        """The engine config of search ``index`` (strategy cycles, seed = spec seed * 10007 + index)."""
        strategy = dict(self.strategies[index % len(self.strategies)])
        strategy["popsize"] = self.popsize
        return {"name": f"embeddings-data-{index}", "seed": self.seed * 10007 + index,
                "task": self.task_block(self.search_episodes), "network": {"hidden": list(self.hidden)},
                "decoder": {"name": "direct"}, "strategy": strategy, "budget": {"generations": self.generations},
                "backend": {"name": "local"}, "output": {"progress": False, "tensorboard": False}}

    def scorer_config(self) -> dict[str, Any]:
        return {"name": "embeddings-score", "task": self.task_block(self.score_episodes),
                "network": {"hidden": list(self.hidden)}, "decoder": {"name": "direct"},
                "strategy": {"name": "random", "popsize": 2}, "budget": {"generations": 1}}


class PopulationRecorder:
    """Engine observer that keeps every population a search evaluated (genotypes ``[P, D]``, a copy)."""

    def __init__(self) -> None:
        self.populations: list[torch.Tensor] = []

    def on_start(self, search: Any) -> None:
        pass

    def on_generation(self, search: Any, record: Any) -> None:
        self.populations.append(torch.as_tensor(search.last_population, dtype=torch.float32).detach().clone())

    def on_end(self, search: Any, result: Any) -> None:
        pass


class SurvivalScorer:
    """Mean episode length of networks (flat direct weights ``[N, D]``) on one fixed set of start states."""

    def __init__(self, spec: DatasetSpec, chunk: int = 4096):
        built = validate(spec.scorer_config()).components()
        self.task, self.decoder, self.chunk = built.task, built.decoder, chunk
        self.seed, self.episodes = spec.score_seed, spec.score_episodes
        self.target = self.decoder.target

    @torch.no_grad()
    def __call__(self, weights: torch.Tensor) -> torch.Tensor:
        out = []
        for part in torch.split(weights, self.chunk):   # chunks of the batch bound memory (N x E environments)
            fitness = torch.as_tensor(self.task.evaluate(self.decoder.decode(part), self.seed).fitness)
            out.append(fitness.reshape(len(part), -1).double().mean(dim=1))
        return torch.cat(out).float()


def make_dataset(spec: DatasetSpec, build_search: Callable[..., Any], path: str | Path,
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run searches until every group holds ``spec.per_group`` networks, balance, write ``path`` + its sidecar.

    ``build_search(config, run_dir)`` is the engine's (``evohyper.engine.runner.build_search``). Returns the
    provenance written to the sidecar."""
    start = time.perf_counter()
    scorer = SurvivalScorer(spec)
    weights, survival, runs, provenance = [], [], [], []
    counts = torch.zeros(len(GROUPS), dtype=torch.long)
    search_evals = 0
    index = 0
    while index < spec.max_runs and bool((counts < spec.per_group).any()):
        raw = spec.run_config(index)
        search = build_search(validate(raw), None)
        recorder = PopulationRecorder()
        search.observers.append(recorder)
        result = search.run()
        w = torch.cat(recorder.populations)
        s = scorer(w)
        counts += torch.bincount(group_of(s, spec.max_steps), minlength=len(GROUPS))
        weights.append(w), survival.append(s), runs.append(torch.full((len(w),), index, dtype=torch.long))
        search_evals += int(result.counters.evaluations)
        provenance.append({"run": index, "seed": raw["seed"], "strategy": raw["strategy"],
                           "evaluations": int(result.counters.evaluations), "best": result.best_fitness})
        log(f"[data] run {index} {raw['strategy']['name']:6s} seed {raw['seed']}: {len(w)} networks, "
            f"best {result.best_fitness:.1f}; group counts {counts.tolist()} "
            f"({time.perf_counter() - start:.0f} s)")
        index += 1
    w_all, s_all, r_all = torch.cat(weights), torch.cat(survival), torch.cat(runs)
    keep = balanced_indices(group_of(s_all, spec.max_steps), spec.per_group, spec.seed)
    data = {"weights": w_all[keep].contiguous(), "survival": s_all[keep].contiguous(),
            "group": group_of(s_all[keep], spec.max_steps), "run": r_all[keep].contiguous()}
    pool_counts = torch.bincount(group_of(s_all, spec.max_steps), minlength=len(GROUPS)).tolist()
    info = {"spec": asdict(spec), "target": scorer.target.describe(), "target_shapes":
            {k: list(v) for k, v in scorer.target.shapes().items()}, "groups": [list(g) for g in GROUPS],
            "networks": len(keep), "pool_networks": len(w_all), "pool_group_counts": pool_counts,
            "group_counts": torch.bincount(data["group"], minlength=len(GROUPS)).tolist(),
            "search_evaluations": search_evals, "search_episodes": search_evals * spec.search_episodes,
            "rescored_networks": len(w_all), "rescoring_episodes": len(w_all) * spec.score_episodes,
            "seconds": round(time.perf_counter() - start, 1), "runs": provenance,
            "survival": "mean episode length over score_episodes fixed start states (seed score_seed)"}
    save_dataset(data, info, path)
    log(f"[data] wrote {path}: {len(keep)} networks ({info['group_counts']} per group) from a pool of {len(w_all)}, "
        f"{search_evals} search evaluations, {info['seconds']} s")
    return info


def balanced_indices(groups: torch.Tensor, per_group: int, seed: int) -> torch.Tensor:
    """Indices of at most ``per_group`` members of each group, a seeded random choice, in group order."""
    gen = torch.Generator().manual_seed(int(seed))
    parts = []
    for g in range(len(GROUPS)):   # a loop over the four groups, not over networks
        members = torch.nonzero(groups == g).flatten()
        parts.append(members[torch.randperm(len(members), generator=gen)[:per_group]])
    return torch.cat(parts)


def save_dataset(data: dict[str, torch.Tensor], info: dict[str, Any], path: str | Path) -> Path:
    """Atomically write the tensors (``torch.save``) and the sidecar ``<path>.json``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({k: v.detach().cpu() for k, v in data.items()}, tmp)
    Path(str(path) + ".json").write_text(json.dumps(info, indent=1, default=str))
    os.replace(tmp, path)
    return path


def load_dataset(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors (``torch.load(weights_only=True)``) and the sidecar of a data set ``make_dataset`` wrote."""
    data = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ValueError(f"{path}: not a data set file (expected a mapping of names to tensors)")
    return data, json.loads(Path(str(path) + ".json").read_text())
