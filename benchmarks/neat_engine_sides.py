"""The two sides of ``bench_neat_engine``: strategy ``neat`` per engine, and neat-python's own ``Population``.

Why a module of its own: every section of the benchmark times the same kinds of generations (the strategy's
``ask`` and ``tell``, optionally the decoder's ``decode`` and the task's ``evaluate`` in between; or
neat-python's ``Population.run(f, 1)``), interleaves the sides, and checks that they did the same work
before any ratio is printed. The sides know nothing about tables; the sections know nothing about engines.

Engines: the strategy option ``engine`` (docs/neat_engine.md, 5.1). Whether an engine exists is asked
of the config validation itself (``engine_available``): a value the strategy does not accept is a
``ConfigError`` naming ``strategy.engine``, and the benchmark then says "not available" instead of
inventing a figure.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import neat
import numpy as np
import torch

from evohyper.config import ConfigError, apply_overrides, load_raw, validate
from evohyper.engine.runner import build_search

ROOT = Path(__file__).resolve().parent.parent
SPACES = ROOT / "search_spaces"
XOR_YAML = SPACES / "neat_xor.yaml"
XOR_INI = SPACES / "neat_python" / "xor-config-feedforward"
VISUAL_YAML = SPACES / "hyperneat_visual.yaml"
PNEAT_YAML = SPACES / "pneat_visual.yaml"
ENGINES = ("batched", "neat-python")
#: every search here: no target (a generation is timed, never a stopped run), no files, quiet
QUIET = ["budget.target_fitness=null", "output.progress=false", "output.tensorboard=false"]


@functools.cache
def engine_available(engine: str) -> tuple[bool, str]:
    """(accepted?, why not): builds the XOR config's components with ``strategy.engine=<engine>``."""
    try:
        config = validate(apply_overrides(load_raw(XOR_YAML), [f"strategy.engine={engine}", *QUIET]))
        config.components()
    except ConfigError as exc:
        return False, str(exc)
    return True, ""


def available_engines(wanted: Sequence[str] = ENGINES) -> tuple[list[str], dict[str, str]]:
    """The engines of ``wanted`` the strategy accepts, and why each other one is missing."""
    ok, missing = [], {}
    for engine in wanted:
        yes, why = engine_available(engine)
        if yes:
            ok.append(engine)
        else:
            missing[engine] = why
    return ok, missing


def engines_and_note(wanted: Sequence[str]) -> tuple[list[str], str]:
    """The engines to measure and a sentence on those the strategy refuses (never estimated)."""
    ok, missing = available_engines(wanted)
    note = " ".join(f"**Engine `{e}` not available**: the strategy refuses it ({why}); no figure is reported "
                    "for it." for e, why in missing.items())
    return ok, note


def random_fitness(seed: int, generation: int, n: int) -> np.ndarray:
    """The same "random fitness" for every side: uniform in [0, 4) (XOR's range), by (seed, generation)."""
    return np.random.default_rng([seed, generation]).uniform(0.0, 4.0, n)


def genome_sizes(genotypes: Any) -> tuple[int, float, float]:
    """(genomes, mean node genes, mean enabled connections) of a population: a list of neat-python
    genomes (engine ``neat-python`` today) or a ``GenomeBatch`` (padded tensors)."""
    if hasattr(genotypes, "n_nodes") and hasattr(genotypes, "enabled"):
        live = genotypes.conn_live() if callable(genotypes.conn_live) else genotypes.conn_live
        enabled = (genotypes.enabled & live).sum(dim=1).double()
        return len(genotypes), float(genotypes.n_nodes.double().mean()), float(enabled.mean())
    genomes = list(genotypes)
    nodes = [len(g.nodes) for g in genomes]
    links = [sum(1 for c in g.connections.values() if c.enabled) for g in genomes]
    return len(genomes), float(np.mean(nodes)), float(np.mean(links))


@dataclass
class Step:
    """One timed generation of one side: seconds per phase, and what the generation worked on."""

    seconds: dict[str, float]
    genomes: int
    nodes: float
    links: float
    best: float = float("nan")

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


@dataclass
class StrategySide:
    """Strategy ``neat`` of a config with one engine, driven by hand so each phase is timed on its own.

    ``evaluate=False``: random fitness (the generation alone: ``ask`` + ``tell``); ``True``: the config's
    decoder and task score the population (``decode`` and ``evaluate`` timed apart, as the local backend
    runs them, under ``torch.no_grad``)."""

    config_path: Path
    engine: str
    popsize: int
    seed: int = 0
    evaluate: bool = False
    overrides: Sequence[str] = ()
    name: str = ""
    generation: int = 0
    search: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        over = [f"strategy.engine={self.engine}", f"strategy.popsize={self.popsize}", f"seed={self.seed}",
                "backend.name=local", *QUIET, *self.overrides]
        self.search = build_search(validate(apply_overrides(load_raw(self.config_path), over)), None)
        self.name = self.name or f"strategy `neat`, engine `{self.engine}`"

    def step(self) -> Step:
        strategy, t = self.search.strategy, {}
        start = time.perf_counter()
        genotypes = strategy.ask()
        t["ask"] = time.perf_counter() - start
        n, nodes, links = genome_sizes(genotypes)
        if self.evaluate:
            evaluator = self.search.backend.evaluator
            with torch.no_grad():
                start = time.perf_counter()
                phenotypes = evaluator.decoder.decode(genotypes, device=evaluator.device)
                t["decode"] = time.perf_counter() - start
                start = time.perf_counter()
                result = evaluator.task.evaluate(phenotypes, self.seed * 100_003 + self.generation)
                t["evaluate"] = time.perf_counter() - start
            fitness = torch.as_tensor(result.fitness).double()
            fitness = fitness.mean(dim=1) if fitness.dim() == 2 else fitness
            fitness = torch.nan_to_num(fitness if self.search.maximize else -fitness, nan=float("-inf"))
        else:
            fitness = torch.from_numpy(random_fitness(self.seed, self.generation, n))
        start = time.perf_counter()
        strategy.tell(fitness)
        t["tell"] = time.perf_counter() - start
        self.generation += 1
        return Step(t, n, nodes, links, float(fitness.max()))

    def close(self) -> None:
        self.search.backend.close()


class PopulationSide:
    """neat-python's own loop: ``neat.Population(config, seed).run(f, 1)`` per generation, where ``f``
    assigns the same random fitness as ``StrategySide`` (precomputed: the timed call does only the
    assignment besides neat-python's generation)."""

    def __init__(self, ini: Path, popsize: int, seed: int = 0):
        self.config = neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
                                  neat.DefaultStagnation, str(ini))
        self.config.pop_size = popsize
        self.config.no_fitness_termination = True   # a generation is timed, never a stop
        self.seed, self.generation = seed, 0
        self.population = neat.Population(self.config, seed=seed)
        self.name = "neat-python `Population.run(f, 1)`"

    def step(self) -> Step:
        genomes = list(self.population.population.values())
        n, nodes, links = genome_sizes(genomes)
        values = random_fitness(self.seed, self.generation, n).tolist()

        def assign(pairs: list[tuple[int, Any]], config: Any) -> None:
            for (_, genome), value in zip(pairs, values):
                genome.fitness = value

        start = time.perf_counter()
        self.population.run(assign, 1)
        seconds = time.perf_counter() - start
        self.generation += 1
        return Step({"generation": seconds}, n, nodes, links, max(values))

    def close(self) -> None:
        pass


def interleaved(sides: dict[str, Any], repeats: int, warmup: int = 1,
                on_step: Callable[[str, int], None] | None = None) -> dict[str, list[Step]]:
    """``warmup`` untimed generations of every side, then ``repeats`` generations each, the sides' order
    rotated every repeat (load drifting on a shared machine hits every side alike)."""
    names = list(sides)
    for _ in range(warmup):
        for name in names:
            sides[name].step()
    out: dict[str, list[Step]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            out[name].append(sides[name].step())
            if on_step is not None:
                on_step(name, r)
    return out


class NotTheSameWork(AssertionError):
    """Two sides of a ratio did different work: the ratio is not printed."""


def check_same_work(steps: dict[str, list[Step]], popsize: int, exact: Sequence[tuple[str, str]] = ()) -> str:
    """Every side configured with ``popsize`` worked on populations of that size in each timed generation
    (neat-python's spawn rounding may move a generation by a few genomes, and two engines with different
    species may round differently: allowed within max(2, 5%)); each pair in ``exact`` (the same code from
    the same seed: the ``neat-python`` engine and neat-python's own loop) worked on identical genome counts
    and mean genome sizes, generation by generation. Returns what was checked, for the report."""
    counts = {name: [s.genomes for s in st] for name, st in steps.items()}
    for name, c in counts.items():
        if not c or any(abs(n - popsize) > max(2, 0.05 * popsize) for n in c):
            raise NotTheSameWork(f"{name}: population sizes {c} are not {popsize} (within neat-python's rounding)")
    for a, b in exact:
        sa = [(s.genomes, s.nodes, s.links) for s in steps[a]]
        sb = [(s.genomes, s.nodes, s.links) for s in steps[b]]
        if sa != sb:
            raise NotTheSameWork(f"{a} and {b} run the same code from the same seed but their populations differ "
                                 f"(genomes, mean nodes, mean enabled links per generation): {sa} vs {sb}")
    sizes = sorted({n for c in counts.values() for n in c})
    text = f"every side's timed generations had {', '.join(map(str, sizes))} genomes (configured {popsize})"
    if exact:
        text += "; " + ", ".join(f"{a} and {b}: identical genome counts and mean genome sizes in every generation"
                                 for a, b in exact)
    return text
