"""Search over cell architectures (``genotype_kind = "graph"``): random search and regularized evolution.

Genotypes are cells as plain JSON (``{"ops": [...], "edges": [[u, v], ...]}``, ``graph_to_json``), so a
population crosses to Ray actors and into checkpoints as data. The space and its DEAP-style operators
(``CellSpace.sample`` / ``mutate``) come from the decoder (``bind``: what the ``ghn`` decoder declares); the
tournament is DEAP's ``tools.selBest`` over DEAP fitness objects. All randomness comes from one private
``random.Random(seed)``, whose state the base class's explicit-state checkpoint holds: a resume is exact.
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
import copy
import random
from collections import deque
from typing import Any, ClassVar

import torch
from deap import tools

from evohyper.api.checks import Checks
from evohyper.api.deap_ga import Fitness
from evohyper.api.decoder import DecoderInfo
from evohyper.api.strategy import Strategy
from evohyper.families.nas.space import CellSpace, graph_from_json, graph_to_json

_checks = Checks("strategy")


class _Member:
    """A DEAP-style individual: a cell (JSON) carrying a one-objective fitness."""

    __slots__ = ("cell", "fitness")

    def __init__(self, cell: dict[str, Any], fitness: float):
        self.cell, self.fitness = cell, Fitness((fitness,))


class GraphStrategy(Strategy):
    """Base of the cell searches: binds the decoder's ``CellSpace``, exports the best cell as JSON."""

    genotype_kind: ClassVar[str] = "graph"
    name: ClassVar[str] = "graph"

    def __init__(self, genome_size: int | None, seed: int):
        super().__init__(None, seed)   # genotypes are cells; a vector size means nothing here
        self.space: CellSpace | None = None
        self._random = random.Random(self.seed)

    def bind(self, info: DecoderInfo) -> None:
        space = info.graph_space
        if not isinstance(space, CellSpace):
            raise ValueError(f"strategy {self.name!r} searches cell architectures: it needs a decoder that "
                             f"declares a cell space (decoder 'ghn'); this one decodes {info.genotype!r} genotypes")
        self.space = space

    def _sample(self) -> dict[str, Any]:
        if self.space is None:
            raise RuntimeError(f"strategy {self.name!r} has no cell space yet: call bind() first")
        return graph_to_json(self.space.sample(self._random))

    @staticmethod
    def _copy_genotype(population: Any, i: int) -> Any:
        return copy.deepcopy(population[i])

    def export_genotype(self, genotype: Any) -> dict[str, Any]:
        """The cell as JSON (``best/genotype.json``); ``evohyper.families.nas.graph_from_json`` reads it back."""
        return {"ops": list(genotype["ops"]), "edges": [list(e) for e in genotype["edges"]]}


class NASRandom(GraphStrategy):
    """Random search: ``popsize`` cells sampled uniformly from the space every generation.

    Options:
      popsize: cells sampled per generation (>= 1).
    """

    name: ClassVar[str] = "nas_random"

    def __init__(self, genome_size: int | None, seed: int, *, popsize: int = 20):
        super().__init__(genome_size, seed)
        self._popsize = _checks.population("popsize", popsize, 1)

    @property
    def popsize(self) -> int:
        return self._popsize

    def _ask(self) -> list[dict[str, Any]]:
        return [self._sample() for _ in range(self._popsize)]

    def _tell(self, fitness: torch.Tensor) -> None:
        pass


class RegularizedEvolution(GraphStrategy):
    """Aging evolution (Real et al. 2019): the first generation is ``population`` random cells; each later
    generation draws ``children`` tournaments of ``sample`` members (without replacement), mutates each
    winner (``CellSpace.mutate``), and after scoring appends the children and removes as many of the oldest.

    Options:
      population: members kept alive, the size of the first (random) generation (>= 2).
      sample: members drawn (without replacement) for each tournament (1 .. population).
      children: tournaments, hence mutated children, per later generation (1 .. population).
    """

    name: ClassVar[str] = "regularized_evolution"

    def __init__(self, genome_size: int | None, seed: int, *, population: int = 20, sample: int = 5,
                 children: int = 10):
        super().__init__(genome_size, seed)
        self.population = _checks.population("population", population, 2)
        self.sample = _checks.integer("sample", sample, 1, self.population)
        self.children = _checks.integer("children", children, 1, self.population)
        self._members: deque[_Member] = deque()

    @property
    def popsize(self) -> int:
        return self.population if not self._members else self.children

    def _ask(self) -> list[dict[str, Any]]:
        if not self._members:
            return [self._sample() for _ in range(self.population)]
        out = []
        for _ in range(self.children):
            contenders = self._random.sample(list(self._members), self.sample)
            parent = tools.selBest(contenders, 1)[0]
            out.append(graph_to_json(self.space.mutate(graph_from_json(parent.cell), self._random)[0]))
        return out

    def _tell(self, fitness: torch.Tensor) -> None:
        for cell, f in zip(self._population, fitness.tolist()):
            self._members.append(_Member(cell, float(f)))
        while len(self._members) > self.population:
            self._members.popleft()                  # aging: the oldest die, whatever their fitness

