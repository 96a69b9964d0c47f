"""The search loop: ask -> evaluate (decode + score on a backend) -> tell, with budget and observers."""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from evohyper.api.evaluation_state import merge_evaluation_state
from evohyper.api.strategy import Strategy, TrainingStrategy
from evohyper.api.task import TaskInfo
from evohyper.config.budget import Budget, Counters
from evohyper.engine.backends import Backend
from evohyper.engine.errors import AllFailedError
from evohyper.engine.evaluation import ChunkResult

log = logging.getLogger("evohyper.search")
STATE_VERSION = 2   # 2: no history inside (metrics.csv holds it), explicit strategy state


def generation_seed(seed: int, generation: int) -> int:
    """Evaluation seed of one generation: fixed by the run seed, independent of the backend."""
    return int(np.random.SeedSequence([int(seed), int(generation)]).generate_state(1, dtype=np.uint64)[0] >> 1)


@dataclass
class GenerationRecord:
    """One row of metrics.csv. Fitness statistics are in the task's own direction."""

    generation: int
    evaluations: int
    sample_forwards: int
    seconds: float
    best: float
    mean: float
    median: float
    worst: float
    best_so_far: float
    nonfinite: int
    task_errors: int
    env_steps: int = 0
    metrics: dict[str, float] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """The fixed columns, then the task's metrics by name: the same order in a resumed run (a
        checkpoint stores metrics as sorted JSON) as in an uninterrupted one."""
        out = {k: v for k, v in asdict(self).items() if k != "metrics"}
        out.update((k, self.metrics[k]) for k in sorted(self.metrics))
        return out


@dataclass
class SearchResult:
    best_fitness: float | None
    best_genotype: Any
    generations: int
    stop_reason: str
    counters: Counters


class Observer(Protocol):
    def on_start(self, search: Search) -> None: ...
    def on_generation(self, search: Search, record: GenerationRecord) -> None: ...
    def on_end(self, search: Search, result: SearchResult) -> None: ...


def _stats(values: torch.Tensor, maximize: bool) -> tuple[float, float, float, float, int]:
    """best, mean, median, worst over finite values and the index of the best (task direction)."""
    finite = torch.isfinite(values)
    if not finite.any():
        nan = float("nan")
        return nan, nan, nan, nan, -1
    v = values[finite]
    idx = torch.nonzero(finite).flatten()
    i = int(v.argmax() if maximize else v.argmin())
    best, worst = float(v[i]), float(v.min() if maximize else v.max())
    return best, float(v.mean()), float(v.median()), worst, int(idx[i])


class Search:
    """Runs one search. Higher-is-better inside; ``maximize`` says which way the task counts."""

    def __init__(self, strategy: Strategy, backend: Backend, budget: Budget, *, maximize: bool, seed: int,
                 observers: Sequence[Observer] = (), name: str = "search", clock: Any = time.perf_counter,
                 task_info: TaskInfo | None = None):
        self.strategy, self.backend, self.budget = strategy, backend, budget
        self.maximize, self.seed, self.name = bool(maximize), int(seed), name
        #: what the task declares (``Task.info()``): the objectives' directions, for the strategy's
        #: higher-is-better objectives and the per-objective metrics (None: a single-objective task)
        self.task_info = task_info or TaskInfo(maximize=self.maximize)
        self._signs = torch.tensor([1.0 if o.maximize else -1.0 for o in self.task_info.objectives],
                                   dtype=torch.float64)
        self.observers = list(observers)
        self.counters = Counters()
        self.best_fitness: float | None = None  # task direction
        #: the records of the generations this object ran (a resumed search starts empty): the run's whole
        #: history is its metrics.csv, never part of a checkpoint (whose size must not grow with the run)
        self.history: list[GenerationRecord] = []
        #: ``budget.seconds`` is wall-clock from the start of the first generation, observers and checkpoints
        #: included, summed over resumes: ``counters.seconds`` = the checkpoint's value + time since this
        #: process started its first generation
        self.clock = clock
        self._clock_start: tuple[float, float] | None = None   # (clock at the first step, counters.seconds then)
        self.stop_reason: str | None = None
        #: what the task learned while evaluating, summed over the run (``EvalResult.state``); every
        #: evaluator evaluates with it (None: nothing learned yet, or a task that learns nothing)
        self.evaluation_state: dict[str, torch.Tensor] | None = None
        #: how the best-so-far individual was scored: ``{"generation", "seed", "state"}`` (for its export)
        self.best_evaluation: dict[str, Any] | None = None
        #: the last generation, for observers (re-evaluation): genotypes, fitness (task direction) and
        #: how they were scored (``{"generation", "seed", "state"}``); not checkpointed
        self.last_population: Any = None
        self.last_fitness: torch.Tensor | None = None
        self.last_evaluation: dict[str, Any] | None = None
        # a generation either scores the population or, for a gradient strategy, trains its job
        self._generation = self._train if isinstance(strategy, TrainingStrategy) else self._evaluate

    # ------------------------------------------------------------------ loop
    def _evaluate(self, genotypes: Any, seed: int) -> ChunkResult:
        if self.evaluation_state is None:   # backends (and wrappers) with the older two-argument evaluate work
            return self.backend.evaluate(genotypes, seed)
        return self.backend.evaluate(genotypes, seed, self.evaluation_state)

    def _train(self, job: Any, seed: int) -> ChunkResult:
        """``backend.train`` the job, then hand the trained job to the strategy (its fitness belongs to it)."""
        result, trained = self.backend.train(job, seed)
        self.strategy.adopt(trained)
        return result

    def _tick(self) -> None:
        """Bring ``counters.seconds`` up to now (wall-clock since this process's first generation)."""
        now = self.clock()
        if self._clock_start is None:
            self._clock_start = (now, self.counters.seconds)
        self.counters.seconds = self._clock_start[1] + (now - self._clock_start[0])

    def step(self) -> GenerationRecord:
        self._tick()
        genotypes = self.strategy.ask()
        seed, state = generation_seed(self.seed, self.counters.generation), self.evaluation_state
        result = self._generation(genotypes, seed)
        fitness = result.fitness
        if fitness.shape[0] != len(genotypes):
            raise RuntimeError(f"backend returned {fitness.shape[0]} fitness values for {len(genotypes)} genotypes")
        self._report_errors(result, len(genotypes))
        self.strategy.tell(fitness if self.maximize else -fitness, **self._extras(result))
        c = self.counters
        c.generation += 1
        c.evaluations += len(genotypes)
        c.sample_forwards += result.sample_forwards
        c.env_steps += result.env_steps
        c.nonfinite += int((~torch.isfinite(fitness)).sum())
        c.task_errors += result.errors
        self._tick()
        best, mean, median, worst, i = _stats(fitness, self.maximize)
        self.last_population, self.last_fitness = genotypes, fitness
        self.last_evaluation = {"generation": c.generation, "seed": seed, "state": state}   # a metrics.csv row
        if i >= 0 and (self.best_fitness is None or (best > self.best_fitness if self.maximize
                                                      else best < self.best_fitness)):
            self.best_fitness = best
            self.best_evaluation = self.last_evaluation
        self.evaluation_state = merge_evaluation_state(state, result.state)
        metrics = {}
        for name, values in result.metrics.items():
            metrics[f"{name}_of_best"] = float(values[i]) if i >= 0 else float("nan")
            metrics[f"{name}_mean"] = float(values[torch.isfinite(values)].mean()) if torch.isfinite(values).any() \
                else float("nan")
        metrics.update(self._objective_metrics(result.objectives))
        for name, value in self.strategy.metrics().items():
            if name in metrics:
                raise ValueError(f"strategy metric {name!r} has the name of a task metric column; rename one")
            metrics[name] = float(value)
        self.budget.observe(c, metrics)
        record = GenerationRecord(c.generation, c.evaluations, c.sample_forwards, round(c.seconds, 6), best, mean,
                                  median, worst, self.best_fitness if self.best_fitness is not None else float("nan"),
                                  int((~torch.isfinite(fitness)).sum()), result.errors, c.env_steps, metrics)
        self.history.append(record)
        for obs in self.observers:
            obs.on_generation(self, record)
        return record

    def _extras(self, result: ChunkResult) -> dict[str, torch.Tensor | None]:
        """What the strategy ``consumes`` besides fitness: the descriptors ``[P, d]`` as the task returned
        them, and the objectives ``[P, m]`` each flipped to higher-is-better by its declared direction.
        Nothing for a strategy that consumes nothing (its ``tell`` may predate the keywords)."""
        consumes = getattr(self.strategy, "consumes", ())
        extras: dict[str, torch.Tensor | None] = {}
        if "descriptors" in consumes:
            extras["descriptors"] = result.descriptors
        if "objectives" in consumes:
            extras["objectives"] = None if result.objectives is None else result.objectives * self._signs
        return extras

    def _objective_metrics(self, objectives: torch.Tensor | None) -> dict[str, float]:
        """``<objective>_best`` and ``<objective>_mean`` of a multi-objective task's generation, each in the
        objective's own direction, over its finite values (NaN when none is finite)."""
        out: dict[str, float] = {}
        if objectives is None:
            return out
        for j, objective in enumerate(self.task_info.objectives):
            column = objectives[:, j]
            finite = column[torch.isfinite(column)]
            if len(finite) == 0:
                out[f"{objective.name}_best"] = out[f"{objective.name}_mean"] = float("nan")
                continue
            out[f"{objective.name}_best"] = float(finite.max() if objective.maximize else finite.min())
            out[f"{objective.name}_mean"] = float(finite.mean())
        return out

    def _report_errors(self, result: ChunkResult, n: int) -> None:
        """Lenient mode: hand every task exception to the observers that keep them (``on_task_errors``),
        and stop when no individual of the generation could be scored."""
        if not result.error_texts:
            return
        generation = self.counters.generation + 1
        for obs in self.observers:
            hook = getattr(obs, "on_task_errors", None)
            if hook is not None:
                hook(self, generation, result.error_texts)
        if result.errors >= n > 0:
            index, text = result.error_texts[0]
            raise AllFailedError(
                f"every one of the {n} evaluations of generation {generation} raised, so the search has no fitness "
                f"to go on (evaluation.on_error: lenient scores a failing individual worst, not a whole "
                f"generation); the first, individual {index}: {text.rstrip()}")

    def run(self) -> SearchResult:
        for obs in self.observers:
            obs.on_start(self)
        try:
            while (reason := self.budget.stop_reason(self.counters, self.best_fitness, self.maximize)) is None:
                self.step()
                self._tick()   # the observers' time counts too
            self.stop_reason = reason
            result = SearchResult(self.best_fitness, self.strategy.best_genotype, self.counters.generation,
                                  reason, self.counters)
            for obs in self.observers:
                obs.on_end(self, result)
            return result
        finally:
            self.backend.close()

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "name": self.name, "seed": self.seed, "maximize": self.maximize,
                "counters": asdict(self.counters), "best_fitness": self.best_fitness,
                "strategy": self.strategy.state_dict(),
                "evaluation_state": self.evaluation_state, "best_evaluation": self.best_evaluation,
                # observers that keep state of their own (re-evaluation), each under its own key
                **{obs.state_key: obs.state_dict(self) for obs in self.observers if hasattr(obs, "state_key")}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint. The search's own fields are checked before the strategy is touched; a
        ValueError/KeyError/TypeError means an inconsistent state (the strategy then needs rebuilding)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"search state version {state.get('version')} is not {STATE_VERSION}")
        if int(state["seed"]) != self.seed:
            raise ValueError(f"checkpoint seed {state['seed']} differs from the configured seed {self.seed}")
        counters = Counters(**state["counters"])
        self.strategy.load_state_dict(state["strategy"])
        if getattr(self.strategy, "generation", counters.generation) != counters.generation:
            raise ValueError(f"the checkpoint's strategy is at generation {self.strategy.generation}, "
                             f"its counters at {counters.generation}")
        self.load_progress(state)

    def load_progress(self, state: dict[str, Any]) -> None:
        """The loop's own part of a checkpoint (counters, best, evaluation state); the strategy's is loaded
        by the caller."""
        self.counters = Counters(**state["counters"])
        self.best_fitness = state["best_fitness"]
        self.history = []
        self._clock_start = None
        self.evaluation_state = state.get("evaluation_state")   # absent in checkpoints before issue 15
        self.best_evaluation = state.get("best_evaluation")
        for obs in self.observers:
            if hasattr(obs, "state_key"):
                obs.load_state_dict(self, state.get(obs.state_key))
