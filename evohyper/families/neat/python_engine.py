"""The ``neat-python`` engine: neat-python's own ``Population`` runs the generation (the reference engine).

Why kept beside the batched engine: neat-python 2.0 is the oracle the batched engine is tested against,
and users comparing with published NEAT-Python results may want its exact runs (docs/neat_engine.md,
section 5.1). ``ask`` converts neat's population to a ``GenomeBatch`` (float64: every attribute the very
Python float) while neat keeps evolving its own objects (the batch's genes are in sorted order; neat's
mutation iterates its dicts in insertion order, so a converted copy goes out). ``tell`` writes the fitness
into those genomes in population order and runs one generation of ``Population.run``.

neat-python draws from Python's global ``random``; every neat-python call runs with this engine's private
``random.Random`` swapped in, so a run depends on the seed only, and with Python's cyclic garbage collector
paused: neat makes a gene object per connection (2.2 million per P-NEAT generation) and the collector's
passes over them, which free nothing, took 3 of 15 CPU seconds of a P-NEAT ``tell``. State is explicit
data (``neat_state``) and resumes bit-identically.
"""
from __future__ import annotations

import contextlib
import gc as _gc
import itertools
import random
from collections.abc import Iterator
from typing import Any

import neat
import torch

from evohyper.api import rng as _rng
from evohyper.families.neat import convert as _convert
from evohyper.families.neat import neat_state as _neat_state
from evohyper.families.neat.genome import GenomeBatch


@contextlib.contextmanager
def _neat_python(own: random.Random) -> Iterator[None]:
    """Run neat-python with ``own`` as Python's global ``random`` and the cyclic collector paused."""
    was_enabled = _gc.isenabled()
    _gc.disable()
    try:
        with _rng.python_random(own):
            yield
    finally:
        if was_enabled:
            _gc.enable()


class PythonEngine:
    """neat-python's ``Population`` with a private ``random.Random``; ``config`` is a parsed ``neat.Config``."""

    def __init__(self, config: Any, seed: int):
        self.config = config
        self._random = random.Random(seed)
        self._pop: Any = None
        self._genomes: list[Any] = []

    @property
    def species_count(self) -> int:
        return 0 if self._pop is None else len(self._pop.species.species)

    def ask(self) -> GenomeBatch:
        if self._pop is None:
            with _neat_python(self._random):
                self._pop = neat.Population(self.config)
        self._genomes = list(self._pop.population.values())
        return _convert.from_neat_python(self._genomes)

    def tell(self, fitness: torch.Tensor) -> None:
        """One generation of neat's ``Population.run``; raises neat's ``RuntimeError``s unchanged."""
        for genome, f in zip(self._genomes, fitness.tolist()):
            genome.fitness = float(f)
        self._genomes = []
        with _neat_python(self._random):
            self._pop.run(lambda genomes, config: None, 1)  # fitness is already assigned
        self._pop.reproduction.ancestors.clear()  # neat-python's lineage log only grows; not state

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"rng": _neat_state.rng_to_data(self._random), "started": self._pop is not None}
        if self._pop is None:
            return state
        pop, gc = self._pop, self.config.genome_config
        genome_next, pop.reproduction.genome_indexer = _neat_state.peek_count(pop.reproduction.genome_indexer)
        node_next = None
        if gc.node_indexer is not None:
            node_next, gc.node_indexer = _neat_state.peek_count(gc.node_indexer)
        state.update({
            "neat_generation": pop.generation,
            "population": [_neat_state.genome_to_data(g) for g in pop.population.values()],
            "species": _neat_state.species_to_data(pop.species),
            "genome_indexer_next": genome_next,
            "node_indexer_next": node_next,
            "innovation": _neat_state.innovation_to_data(pop.reproduction.innovation_tracker),
        })
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        gc = self.config.genome_config
        if state["started"]:
            population = {}
            for data in state["population"]:
                g = _neat_state.genome_from_data(data, gc)
                population[g.key] = g
            species = _neat_state.species_from_data(state["species"], self.config, population)
            with _rng.python_random(random.Random(0)):  # Population() may reseed; our RNG is set below
                self._pop = neat.Population(
                    self.config, initial_state=(population, species, int(state["neat_generation"])))
            self._pop.reproduction.genome_indexer = itertools.count(int(state["genome_indexer_next"]))
            gc.node_indexer = (
                None if state["node_indexer_next"] is None else itertools.count(int(state["node_indexer_next"])))
            _neat_state.innovation_from_data(self._pop.reproduction.innovation_tracker, state["innovation"])
            gc.innovation_tracker = self._pop.reproduction.innovation_tracker
        self._random = _neat_state.rng_from_data(state["rng"])
