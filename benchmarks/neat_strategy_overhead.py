"""Strategy-level overhead of NEAT on XOR (issue 22, M7): ``Strategy.ask`` + ``tell`` of strategy ``neat``
(batched engine) against its engine's own ``ask`` + ``tell``, and against a git revision's strategy, timed
interleaved in one process (one torch thread), medians over ``--repeat`` generations.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/neat_strategy_overhead.py [--popsize 150] [--repeat 200] \
        [--baseline-rev 0597ba2] [--profile]

Each side runs its own search from the same seed with random fitness fixed by (seed, generation), so the
strategy and the engine-alone sides do the same work generation for generation.
"""
from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import neat_engine_sides as sides  # noqa: E402
from profile_neat_engine import Baseline  # noqa: E402


def fitness(gen: int, n: int) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(1000 + gen).standard_normal(n))


class Strat:
    def __init__(self, popsize: int):
        self.strategy = sides.StrategySide(sides.XOR_YAML, "batched", popsize).search.strategy
        self.gen = 0

    def step(self) -> None:
        pop = self.strategy.ask()
        self.strategy.tell(fitness(self.gen, len(pop)))
        self.gen += 1


class EngineAlone(Strat):
    def __init__(self, popsize: int):
        super().__init__(popsize)
        self.strategy.ask()  # makes the engine
        self.strategy.discard()
        self.engine = self.strategy._engine

    def step(self) -> None:
        pop = self.engine.ask()
        self.engine.tell(fitness(self.gen, len(pop)))
        self.gen += 1


class BaseStrat(Strat):
    """The strategy of ``--baseline-rev`` (its module's ``NEATStrategy`` on the same config)."""

    def __init__(self, popsize: int):
        super().__init__(popsize)
        mine = self.strategy
        mod = importlib.import_module("evohyper_baseline.families.neat.strategy")
        self.strategy = mod.NEAT.__new__(mod.NEAT)
        self.strategy.__dict__.update({k: v for k, v in mine.__dict__.items() if k != "_engine"})
        self.strategy._engine = None
        base_engine = importlib.import_module("evohyper_baseline.families.neat.batched_engine")
        base_cfg = importlib.import_module("evohyper_baseline.families.neat.config")
        self.strategy._engine = base_engine.BatchedEngine(base_cfg.from_text(mine._ini_text), mine.seed,
                                                          device=mine.device, dtype=mine.dtype)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--popsize", type=int, default=150)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--baseline-rev")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sides_ = {"strategy": Strat(args.popsize), "engine alone": EngineAlone(args.popsize)}
    if args.baseline_rev:
        Baseline.load(args.baseline_rev)
        sides_["before strategy"] = BaseStrat(args.popsize)
    for side in sides_.values():
        for _ in range(args.warmup):
            side.step()
    if args.profile:
        pr = cProfile.Profile()
        pr.enable()
        for _ in range(args.repeat):
            sides_["strategy"].step()
        pr.disable()
        s = io.StringIO()
        pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(40)
        print(s.getvalue())
        return
    times: dict[str, list[float]] = {k: [] for k in sides_}
    for _ in range(args.repeat):
        for name, side in sides_.items():
            start = time.perf_counter()
            side.step()
            times[name].append(time.perf_counter() - start)
    for name, t in times.items():
        print(f"{name:16s} median {1e3 * statistics.median(t):.3f} ms  min {1e3 * min(t):.3f} ms")


if __name__ == "__main__":
    main()
