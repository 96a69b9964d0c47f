"""NSGA-II on vector genotypes, as DEAP's documented example runs it (``examples/ga/nsga2.py``).

A (mu + lambda) loop: the first ``ask`` returns ``popsize`` (mu) random vectors; every later ``ask`` breeds
``offspring`` (lambda) children: parents by ``tools.selTournamentDCD`` (dominance, then crowding distance)
among the survivors, cloned, crossed pairwise with ``tools.cxSimulatedBinaryBounded`` (probability
``crossover_prob``) and each mutated by ``tools.mutPolynomialBounded`` (probability ``mutation_prob``, per
gene ``indpb``). ``tell`` keeps ``popsize`` survivors of parents + children by ``tools.selNSGA2``
(non-dominated sorting, then crowding distance), as the example's ``toolbox.select(pop + offspring, MU)``.
DEAP's operators run on its own list individuals (the conversion it needs, one per row); the selections go
through ``evohyper.strategies.mo.pareto`` (row indices in and out).

Reported after each ``tell`` (``metrics``): ``hypervolume`` of the survivors' first front against the
reference point (the task's, or the ``reference_point`` option), and ``front_size``. The run's end writes
the front (``write_archive``: ``front.pt``, ``front.csv``, ``front.png``).

Every DEAP draw runs on this strategy's own ``random.Random`` (``evohyper.api.rng.python_random``) and the
first population on its own numpy generator, so a run depends on ``seed`` only, and the state (survivors,
their objectives and crowding distances, both generators) is explicit arrays: a resumed run is bit-identical.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from deap import tools

from evohyper.api import rng as _rng
from evohyper.api.checks import MAX_SCALE, Checks
from evohyper.api.strategy import Strategy
from evohyper.api.task import TaskInfo
from evohyper.strategies.mo import front_files
from evohyper.strategies.mo.pareto import hypervolume, nsga2_survivors, pareto_front, tournament_dcd

_checks = Checks("strategy")


def _interval(key: str, value: object) -> tuple[float, float]:
    if not (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            and -MAX_SCALE <= value[0] < value[1] <= MAX_SCALE):
        _checks.fail(key, value, f"[low, high] with -{MAX_SCALE:g} <= low < high <= {MAX_SCALE:g}")
    return float(value[0]), float(value[1])


class NSGA2(Strategy):
    """NSGA-II (DEAP): (mu + lambda) survival by non-dominated sorting and crowding, SBX and polynomial mutation.

    Options:
      popsize: mu, the survivors kept each generation and the size of the first population (a multiple of
        4 >= 4: DEAP's ``selTournamentDCD`` takes the survivors four at a time).
      offspring: lambda, children per generation (a multiple of 4, at most ``popsize``; null: ``popsize``).
      bounds: ``[low, high]`` of every gene, for SBX and polynomial mutation (DEAP's ``low``/``up``).
      init_bounds: ``[low, high]`` of the uniform first population (null: ``bounds``; inside ``bounds``).
      crossover_prob: probability that a pair of children is crossed (the example's CXPB, 0.9).
      crossover_eta: SBX crowding degree (larger: children closer to their parents; the example's 20).
      mutation_prob: probability that a child is mutated (the example mutates every child: 1.0).
      mutation_eta: polynomial mutation's crowding degree (the example's 20).
      indpb: per-gene probability of polynomial mutation (null: 1 / genome size, as the example).
      reference_point: the hypervolume reference point, one value per objective in its own direction
        (null: the task's; required when the task declares none).
    """

    consumes: ClassVar[tuple[str, ...]] = ("objectives",)
    #: the dtype of the genes ``ask`` returns (survivors are exactly what was evaluated)
    gene_dtype: ClassVar[type] = np.float32

    def __init__(self, genome_size: int, seed: int, *,
                 popsize: int = 100,
                 offspring: int | None = None,
                 bounds: tuple[float, ...] = (-1.0, 1.0),
                 init_bounds: list[float] | None = None,
                 crossover_prob: float = 0.9,
                 crossover_eta: float = 20.0,
                 mutation_prob: float = 1.0,
                 mutation_eta: float = 20.0,
                 indpb: float | None = None,
                 reference_point: list[float] | None = None):
        super().__init__(_checks.genome_size(genome_size), seed)
        self._mu = _checks.population("popsize", popsize, 4)
        if self._mu % 4:
            _checks.fail("popsize", popsize, "a multiple of 4 (DEAP's selTournamentDCD)")
        self._lambda = self._mu if offspring is None else _checks.integer("offspring", offspring, 4, self._mu)
        if self._lambda % 4:
            _checks.fail("offspring", offspring, f"a multiple of 4 in [4, {self._mu}] (DEAP's selTournamentDCD)")
        self._low, self._high = _interval("bounds", bounds)
        self._init = (self._low, self._high) if init_bounds is None else _interval("init_bounds", init_bounds)
        if not self._low <= self._init[0] < self._init[1] <= self._high:
            _checks.fail("init_bounds", init_bounds, f"an interval inside bounds [{self._low:g}, {self._high:g}]")
        self._cx_prob = _checks.probability("crossover_prob", crossover_prob)
        self._cx_eta = _checks.rate("crossover_eta", crossover_eta)
        self._mut_prob = _checks.probability("mutation_prob", mutation_prob)
        self._mut_eta = _checks.rate("mutation_eta", mutation_eta)
        self._indpb = 1.0 / self.genome_size if indpb is None else \
            _checks.real("indpb", indpb, 0.0, 1.0, low_open=True)
        self._reference_option = _checks.point("reference_point", reference_point)
        self._random = random.Random(self.seed)                                # every DEAP draw
        self._np = np.random.Generator(np.random.PCG64(self.seed % 2**128))   # the first population
        self._names: list[str] = []
        self._signs = np.ones(0)               # +1 maximised, -1 minimised objective (task direction)
        self._reference = np.zeros(0)          # the reference point, higher-is-better
        self._asked: np.ndarray | None = None  # [n, D] the population last asked
        self._genes: np.ndarray | None = None  # [mu, D] the survivors
        self._objectives = np.zeros((0, 0))    # [mu, m] their objectives, higher-is-better
        self._crowding = np.zeros(0)           # [mu] their crowding distances (selNSGA2's)
        self._hypervolume, self._front_size = 0.0, 0

    # ------------------------------------------------------------------ binding
    def bind_task(self, info: TaskInfo) -> None:
        """Read the objectives' names and directions and the reference point (the option over the task's)."""
        if not info.objectives:
            raise ValueError("strategy 'nsga2' needs a task that declares its objectives (Task.objective_space)")
        m = len(info.objectives)
        reference = self._reference_option if self._reference_option is not None else info.reference_point
        if reference is None:
            _checks.refuse("reference_point", f"null; the task declares no reference point: give {m} values, one per "
                                              f"objective ({', '.join(o.name for o in info.objectives)}), each "
                                              f"worse than any solution worth counting")
        if len(reference) != m:
            _checks.fail("reference_point", list(reference), f"{m} values, one per objective "
                                                             f"({', '.join(o.name for o in info.objectives)})")
        self._names = [o.name for o in info.objectives]
        self._signs = np.array([1.0 if o.maximize else -1.0 for o in info.objectives])
        self._reference = np.asarray(reference, dtype=np.float64) * self._signs

    @classmethod
    def state_bytes(cls, genome_size: int, options: dict) -> int:
        """Survivors and children as float32 arrays, and the children once more as DEAP's lists of Python
        floats (about 32 bytes a gene) while they are bred."""
        mu = int(options.get("popsize") or 100)
        lam = int(options.get("offspring") or mu)
        return (mu + lam) * genome_size * 4 + lam * genome_size * 32

    @property
    def popsize(self) -> int:
        """How many genotypes the next ``ask`` returns: mu at first, lambda afterwards."""
        return self._mu if self._genes is None else self._lambda

    # ------------------------------------------------------------------ ask / tell
    def _ask(self) -> torch.Tensor:
        if self._genes is None:
            genes = self._np.uniform(self._init[0], self._init[1], (self._mu, self.genome_size))
        else:
            parents = tournament_dcd(torch.from_numpy(self._objectives), torch.from_numpy(self._crowding),
                                     self._lambda, self._random).numpy()
            genes = np.asarray(self._vary(self._genes[parents].astype(np.float64).tolist()))
        self._asked = np.clip(genes.astype(self.gene_dtype), self._low, self._high)
        return torch.from_numpy(self._asked.copy())

    def _vary(self, children: list[list[float]]) -> list[list[float]]:
        """The example's variation loop, with DEAP's bounded operators on our generator."""
        low, up = self._low, self._high
        with _rng.python_random(self._random):
            for a, b in zip(children[::2], children[1::2], strict=True):
                if random.random() <= self._cx_prob:
                    tools.cxSimulatedBinaryBounded(a, b, eta=self._cx_eta, low=low, up=up)
                for child in (a, b):
                    if self._mut_prob >= 1.0 or random.random() < self._mut_prob:
                        tools.mutPolynomialBounded(child, eta=self._mut_eta, low=low, up=up, indpb=self._indpb)
        return children

    def _tell(self, fitness: torch.Tensor, *, objectives: torch.Tensor) -> None:
        if objectives.shape[1] != len(self._names):
            raise ValueError(f"tell() got {objectives.shape[1]} objectives; the task declared {len(self._names)}")
        told = objectives.numpy().astype(np.float64)
        if self._genes is None:
            genes, values = self._asked, told
        else:   # parents first, as the example's ``pop + offspring``
            genes = np.concatenate([self._genes, self._asked])
            values = np.concatenate([self._objectives, told])
        keep, crowding = nsga2_survivors(torch.from_numpy(values), self._mu)
        keep = keep.numpy()
        self._genes, self._objectives, self._crowding = genes[keep], values[keep], crowding.numpy()
        self._asked = None
        front = self._front()
        self._front_size = int(len(front))
        self._hypervolume = hypervolume(torch.from_numpy(self._objectives[front]), torch.from_numpy(self._reference))

    def _front(self) -> np.ndarray:
        """Row indices of the survivors' first front."""
        return torch.nonzero(pareto_front(torch.from_numpy(self._objectives))).flatten().numpy()

    def metrics(self) -> dict[str, float]:
        return {"hypervolume": self._hypervolume, "front_size": float(self._front_size)}

    # ------------------------------------------------------------------ the front
    def front(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The survivors' first front: genotypes ``[F, D]`` (float32) and objectives ``[F, m]`` in each
        objective's own direction (empty before the first ``tell``)."""
        if self._genes is None:
            return torch.zeros(0, self.genome_size), torch.zeros(0, len(self._names), dtype=torch.float64)
        rows = self._front()
        return torch.from_numpy(self._genes[rows].copy()), torch.from_numpy(self._objectives[rows] * self._signs)

    def write_archive(self, directory: Path) -> list[Path]:
        """``front.pt`` (``solutions`` [F, D], ``objectives`` [F, m] in the task's directions, ``names``,
        ``reference_point``, ``hypervolume``), ``front.csv`` and ``front.png``."""
        solutions, values = self.front()
        return front_files.write(Path(directory), solutions, values, self._names,
                                 (self._reference * self._signs).tolist(), self._hypervolume)
