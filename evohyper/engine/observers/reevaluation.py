"""Re-evaluation of candidates on fresh episodes (``evaluation.reevaluate``): what ``best/`` is chosen by.

Why: with stochastic episodes the search's best-so-far is the single luckiest evaluation, and a
distribution strategy's centre (what ES users deploy) is never evaluated at all. At chosen generations
(``every``) and at the end, the candidates (the best re-evaluated one so far, the search's best so far,
the strategy's centre, the generation's top k) are scored together on the same fresh episodes: one
batched call of a task built with ``episodes: N`` (a task without that option: N calls with different
seeds). The seeds come from their own stream (``reevaluation_seed``), never the generations'.

It only reads the search: the strategy, the evaluation state and the budget counters are never fed
(its evaluations go to ``reevaluation.csv``), so a run is bit-identical with it on or off, and
``target_fitness`` keeps reading the search's own fitness. Its state (the best re-evaluated candidate)
is part of each checkpoint, so resume is exact. Evaluation runs in the driver's process, so the result
does not depend on the number of actors. The end-of-run re-evaluation changes no checkpointed state (a
run extended later continues exactly), and it is bounded by a share of the run's budget (``end_share``,
``end_allowance``): the usual candidates by ``budget.seconds``, an archive's members by every budget limit.
"""
from __future__ import annotations

import csv
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evohyper.api import registry
from evohyper.api import rows as _rows
from evohyper.api.strategy import TrainingStrategy
from evohyper.config.build import Components, ComponentsSpec, construct
from evohyper.config.options import ConfigError, options_of
from evohyper.config.sections import ReevaluateConfig
from evohyper.engine.evaluation import ChunkResult, Evaluator
from evohyper.engine.observers.end_allowance import Allowance, end_allowance, episodes_for, members_for

log = logging.getLogger("evohyper.reevaluation")
#: the re-evaluation seed stream's tag ("reva"): its SeedSequence entropy never equals a generation seed's
TAG = 0x72657661
#: candidate-episodes per evaluation call when a whole archive is re-evaluated (bounds the environments alive at once)
ARCHIVE_EPISODES = 2000
FIELDS = ("generation", "point", "candidate", "search_fitness", "reevaluated", "episodes", "seed", "chosen",
          "seconds")

#: ``evaluate(genotypes, episodes, seed, state) -> ChunkResult``: every genotype scored on the same
#: ``episodes`` fresh episodes drawn from ``seed`` (fitness: the mean over them)
Evaluate = Callable[[Any, int, int, Any], ChunkResult]


def reevaluation_seed(seed: int, generation: int, end: bool) -> int:
    """The seed of the re-evaluation at ``generation`` (``end``: the end-of-run one), apart from the
    generation seeds (``engine.search.generation_seed``)."""
    entropy = [int(seed), TAG, int(generation), int(end)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> 1)


@dataclass
class Candidate:
    """One genotype up for re-evaluation, with the search's own score of it (None: never scored)."""

    name: str                              # champion, best_so_far, centre, top1, top2, ...
    genotype: Any
    search_fitness: float | None           # task direction
    evaluation: dict[str, Any] | None      # how the search scored it: {"generation", "seed", "state"}
    reevaluation: dict[str, Any] = field(default_factory=dict)  # {"mean", "episodes", "seed", "generation", "state"}


def _batch(genotypes: list[Any]) -> Any:
    if all(isinstance(g, torch.Tensor) for g in genotypes):
        return torch.stack([g.detach().to(torch.float32) for g in genotypes])
    if genotypes and all(_rows.is_row_batch(g) for g in genotypes):   # one-row batches (NEAT genomes)
        return _rows.cat_rows(genotypes)
    return list(genotypes)


class Reevaluator:
    """Observer: re-scores candidates at chosen generations and at the end; ``final`` is what ``best/``
    exports (read by the best exporter after this observer's ``on_end``)."""

    state_key = "reevaluation"

    def __init__(self, options: ReevaluateConfig, evaluate: Evaluate, *, maximize: bool,
                 path: str | Path | None = None, budget: Any = None, parallel: int = 1,
                 episodes_per_evaluation: int = 1):
        self.options, self._evaluate, self.maximize = options, evaluate, bool(maximize)
        self.path = Path(path) if path is not None else None
        self.budget = budget       # ``config.budget.Budget``: what the end re-evaluation's allowance is a share of
        #: to estimate an episode's cost from a generation's time: evaluators sharing it, episodes per individual
        self.parallel, self.episodes_per_evaluation = max(1, parallel), max(1, episodes_per_evaluation)
        self.champion: Candidate | None = None        # the best re-evaluated candidate so far (checkpointed)
        self.final: Candidate | None = None           # the end of the run's choice (never checkpointed)
        self.totals = {"points": 0, "evaluations": 0, "episodes": 0, "env_steps": 0, "sample_forwards": 0}
        self._episode_seconds: float | None = None    # measured cost of one candidate-episode
        self._guess: float | None = None              # the same, estimated from a generation's time
        self._loaded_final: Candidate | None = None   # the end's choice in the checkpoint resumed from
        self._last_seconds = 0.0
        #: the run keeps an archive or front: at the end its members are the candidates (``archive_point``,
        #: called by the archive exporter once the files are written), not the usual ones
        self.archive_end = False
        self.archive_about: dict[str, Any] = {}       # the last archive point: members scored, of how many, bound

    # ------------------------------------------------------------------ observer
    def on_start(self, search: Any) -> None:
        self.final = None
        self._last_seconds = search.counters.seconds
        if self.path is None:
            return
        rows: list[dict[str, str]] = []
        if self.path.is_file():   # a resumed run: keep the rows up to its checkpoint (periodic points only)
            with self.path.open(newline="") as fh:
                rows = [r for r in csv.DictReader(fh)
                        if r.get("point") == "every" and int(r["generation"]) <= search.counters.generation]
        with self.path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def on_generation(self, search: Any, record: Any) -> None:
        spent = record.seconds - self._last_seconds
        self._last_seconds = record.seconds
        n = len(search.last_population) if search.last_population is not None else 0
        if n and spent > 0:
            self._guess = spent * self.parallel / (n * self.episodes_per_evaluation)
        every = self.options.every
        if every and record.generation % every == 0:
            self.champion = self._point(search, self.options.episodes, end=False)

    def on_end(self, search: Any, result: Any) -> None:
        if self.archive_end:   # the archive exporter re-evaluates the whole archive and chooses (``archive_point``)
            self.final = None
            return
        self.end_point(search)

    def end_point(self, search: Any) -> None:
        """The end of the run's choice among the usual candidates (``final``)."""
        g = search.counters.generation
        loaded = self._loaded_final
        if search.last_population is None and loaded is not None and loaded.reevaluation.get("generation") == g:
            self.final = loaded          # a finished run resumed without a step: the same choice again
            return
        if self.champion is not None and self.champion.reevaluation.get("generation") == g:
            self.final = self.champion   # this generation was a periodic point already
            return
        candidates = len(self._candidates(search))
        allowance = self._allowance(search, units=("seconds",))
        episodes = episodes_for(self.options.episodes, candidates, allowance)
        if episodes < self.options.episodes:
            log.warning("re-evaluating %d candidates on %d episodes instead of %d, to stay within %s "
                        "(evaluation.reevaluate.end_share)", candidates, episodes, self.options.episodes,
                        allowance.words())
        self.final = self._point(search, episodes, end=True)

    def _allowance(self, search: Any, units: tuple[str, ...] | None = None) -> Allowance:
        cost = self._episode_seconds if self._episode_seconds is not None else self._guess
        return end_allowance(self.options.end_share, self.budget, search.counters, cost,
                             self.episodes_per_evaluation, **({} if units is None else {"units": units}))

    # ------------------------------------------------------------------ one re-evaluation
    def _candidates(self, search: Any) -> list[Candidate]:
        out = []
        if self.champion is not None:
            c = self.champion
            out.append(Candidate("champion", c.genotype, c.search_fitness, c.evaluation))
        if search.strategy.best_genotype is not None:
            out.append(Candidate("best_so_far", search.strategy.best_genotype, search.best_fitness,
                                 search.best_evaluation))
        centre = search.strategy.center() if self.options.centre else None
        if centre is not None:
            out.append(Candidate("centre", centre, None, None))
        fitness, population = search.last_fitness, search.last_population
        if fitness is not None and population is not None:
            internal = fitness if self.maximize else -fitness
            finite = torch.nonzero(torch.isfinite(internal)).flatten()
            order = finite[torch.argsort(internal[finite], descending=True, stable=True)]
            for rank, i in enumerate(order[:self.options.top_k].tolist()):
                out.append(Candidate(f"top{rank + 1}", search.strategy.copy_genotype(population, i),
                                     float(fitness[i]), dict(search.last_evaluation)))
        return out

    def _point(self, search: Any, episodes: int, end: bool) -> Candidate | None:
        candidates = self._candidates(search)
        if not candidates:
            return self.champion
        g = search.counters.generation
        seed, state = reevaluation_seed(search.seed, g, end), search.evaluation_state
        start = time.perf_counter()
        result = self._evaluate(_batch([c.genotype for c in candidates]), episodes, seed, state)
        seconds = time.perf_counter() - start
        self._episode_seconds = seconds / (len(candidates) * episodes)
        t = self.totals
        t["points"] += 1
        t["evaluations"] += len(candidates)
        t["episodes"] += len(candidates) * episodes
        t["env_steps"] += result.env_steps
        t["sample_forwards"] += result.sample_forwards
        means = result.fitness.tolist()
        internal = [m if self.maximize else -m for m in means]
        ranked = [i for i in range(len(candidates)) if math.isfinite(internal[i])]
        chosen = max(ranked, key=lambda i: internal[i], default=None)   # the first of equals: the incumbent
        for c, mean in zip(candidates, means):
            c.reevaluation = {"mean": mean, "episodes": episodes, "seed": seed, "generation": g, "state": state}
        self._write(g, "end" if end else "every", candidates, chosen, seconds)
        if chosen is None:
            return self.champion
        return candidates[chosen]

    def archive_point(self, search: Any, archive: Any) -> torch.Tensor | None:
        """The members of ``archive`` (``engine.archive_files.Archive``) on the same fresh episodes, in chunks
        of about ``ARCHIVE_EPISODES`` candidate-episodes per evaluation: all of them, or the best by the
        search's first objective as many as the allowance holds (``end_allowance``; the rest NaN). ``final``
        becomes the member best on the re-evaluated first objective. Returns the re-evaluated objectives
        ``[n, m]`` in the archive's directions (None: an empty archive, whose run falls back to the usual end
        point); ``self.archive_about`` says how many were scored and what bound them."""
        n = len(archive)
        if n == 0:
            self.end_point(search)
            return None
        g, episodes = search.counters.generation, self.options.episodes
        allowance = self._allowance(search)
        fits = members_for(episodes, n, allowance)
        first = archive.objectives[:, 0]
        engine_first = first if archive.kind == "elites" or archive.maximize[0] else -first   # higher is better
        rows = torch.argsort(-engine_first, stable=True)[:fits].sort().values   # the best members, in row order
        if fits < n:
            log.warning("re-evaluating the best %d of %d archive members (by the search's score) on %d episodes, "
                        "to stay within %s (evaluation.reevaluate.end_share; null re-evaluates all)", fits, n,
                        episodes, allowance.words())
        seed, state = reevaluation_seed(search.seed, g, True), search.evaluation_state
        chunk = max(1, ARCHIVE_EPISODES // episodes)
        start = time.perf_counter()
        parts = []
        for lo in range(0, fits, chunk):
            part = rows[lo:lo + chunk]
            genotypes = archive.genotypes[part].to(torch.float32) if isinstance(archive.genotypes, torch.Tensor) \
                else _batch([archive.genotype(int(i)) for i in part])
            parts.append(self._evaluate(genotypes, episodes, seed, state))
        seconds = time.perf_counter() - start
        self._episode_seconds = seconds / (fits * episodes)
        fitness = torch.full((n,), math.nan, dtype=torch.float64)    # task direction; NaN: not re-evaluated
        fitness[rows] = torch.cat([p.fitness for p in parts]).to(torch.float64)
        values = torch.full((n, archive.objectives.shape[1]), math.nan, dtype=torch.float64)
        if archive.kind == "front" and all(p.objectives is not None for p in parts):
            values[rows] = torch.cat([p.objectives for p in parts]).to(torch.float64)
        else:   # an archive's objective is the engine's (higher is better)
            values[:, 0] = fitness if self.maximize else -fitness
        t = self.totals
        t["points"] += 1
        t["evaluations"] += fits
        t["episodes"] += fits * episodes
        t["env_steps"] += sum(p.env_steps for p in parts)
        t["sample_forwards"] += sum(p.sample_forwards for p in parts)
        search_fitness = first if archive.kind == "front" or self.maximize else -first
        about = {"mean": None, "episodes": episodes, "seed": seed, "generation": g, "state": state}
        candidates = {int(i): Candidate(archive.name(int(i)), None, float(search_fitness[i]), None,
                                        {**about, "mean": float(fitness[i])}) for i in rows}
        archive.reevaluated = values
        chosen = archive.best(reevaluated=True)   # the search's best if every scored member failed (NaN)
        order = sorted(candidates)
        self._write(g, "archive", [candidates[i] for i in order], order.index(chosen), seconds)
        best = candidates[chosen]
        best.genotype = archive.genotype(chosen)
        self.final = best
        self.archive_about = {"members": fits, "archive_members": n,
                              **({"bound": allowance.words()} if fits < n else {})}
        return values

    def _write(self, generation: int, point: str, candidates: list[Candidate], chosen: int | None,
               seconds: float) -> None:
        if self.path is None:
            return
        with self.path.open("a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            for i, c in enumerate(candidates):
                writer.writerow({"generation": generation, "point": point, "candidate": c.name,
                                 "search_fitness": "" if c.search_fitness is None else repr(c.search_fitness),
                                 "reevaluated": repr(c.reevaluation["mean"]), "episodes": c.reevaluation["episodes"],
                                 "seed": c.reevaluation["seed"], "chosen": int(i == chosen),
                                 "seconds": round(seconds, 6)})

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self, search: Any) -> dict[str, Any]:
        """The champion (what later points compare against) and, in the final checkpoint, the end's choice
        (only reused by a resume that takes no step: a run continued further chooses again at its end)."""
        def data(c: Candidate | None) -> dict[str, Any] | None:
            return None if c is None else {
                "name": c.name, "genotype": _export(search.strategy, c.genotype), "search_fitness": c.search_fitness,
                "evaluation": c.evaluation, "reevaluation": c.reevaluation}
        return {"champion": data(self.champion), "final": data(self.final), "totals": dict(self.totals)}

    def load_state_dict(self, search: Any, state: dict[str, Any] | None) -> None:
        self.champion, self.final, self._loaded_final = None, None, None
        self.totals = {k: 0 for k in self.totals}
        if state is None:
            return
        self.totals.update(state["totals"])

        def candidate(c: dict[str, Any] | None) -> Candidate | None:
            return None if c is None else Candidate(c["name"], _import(search.strategy, c["genotype"]),
                                                    c["search_fitness"], c["evaluation"], c["reevaluation"])
        self.champion, self._loaded_final = candidate(state["champion"]), candidate(state.get("final"))


def _export(strategy: Any, genotype: Any) -> Any:
    """A genotype as checkpoint data: a tensor as is, anything else as the strategy's JSON description."""
    if isinstance(genotype, torch.Tensor):
        return genotype
    data = strategy.export_genotype(genotype)
    if data is None:
        raise TypeError(f"{type(strategy).__name__} cannot describe its genotypes as data (export_genotype), "
                        "so the re-evaluated champion cannot be checkpointed")
    return {"exported": data}


def _import(strategy: Any, data: Any) -> Any:
    return data if isinstance(data, torch.Tensor) else strategy.import_genotype(data["exported"])


# ----------------------------------------------------------------------------- building it
def reevaluation_enabled(options: ReevaluateConfig, components: Components) -> bool:
    """On when asked, else (``enabled: null``) when the task declares stochastic evaluation; never for a
    gradient strategy (its genotype is a training state, not a candidate to score)."""
    on = bool(getattr(components.task, "stochastic", False)) if options.enabled is None else options.enabled
    if on and isinstance(components.strategy, TrainingStrategy):
        if options.enabled:
            raise ConfigError("evaluation.reevaluate.enabled", "a gradient strategy trains its candidates; "
                                                               "re-evaluation works with search strategies only")
        return False
    return on


def driver_evaluate(spec: ComponentsSpec, components: Components, device: str) -> Evaluate:
    """``Evaluate`` in this process with the driver's decoder and a task of its own, built with
    ``episodes: N`` when the task takes that option (one batched call for all candidates x episodes),
    else N calls with seeds drawn from the one given."""
    task_cls = type(components.task)
    takes_episodes = "episodes" in options_of(task_cls)
    evaluators: dict[int, Evaluator] = {}

    def evaluator(episodes: int) -> Evaluator:
        if episodes not in evaluators:
            options = {k: v for k, v in spec.task.items() if k != "name"}
            if takes_episodes:
                options["episodes"] = episodes
            task = construct("task", registry.tasks.get(spec.task["name"]), **options)
            built = Components(task, components.decoder, None, components.info, components.maximize, False)
            evaluators[episodes] = Evaluator(spec, device, built)
        return evaluators[episodes]

    def evaluate(genotypes: Any, episodes: int, seed: int, state: Any) -> ChunkResult:
        if takes_episodes:
            return evaluator(episodes).evaluate(genotypes, seed, state)
        seeds = np.random.SeedSequence(int(seed)).generate_state(episodes, dtype=np.uint64) >> 1
        parts = [evaluator(0).evaluate(genotypes, int(s), state) for s in seeds]
        fitness = torch.stack([p.fitness for p in parts]).mean(dim=0)
        objectives = None if parts[0].objectives is None else torch.stack([p.objectives for p in parts]).mean(dim=0)
        return ChunkResult(fitness, {}, sum(p.sample_forwards for p in parts), sum(p.errors for p in parts),
                           env_steps=sum(p.env_steps for p in parts), objectives=objectives)

    return evaluate
