"""A real-valued genetic algorithm assembled from DEAP's own operators.

Generational replacement with elitism: each ``ask`` after the first returns the ``elite`` best of the
last told population unchanged (``tools.selBest``) followed by offspring bred by DEAP's
``algorithms.varAnd`` (crossover then Gaussian mutation) from ``tools.selTournament`` parents. Elites
are re-evaluated with everyone else, so a lucky noisy evaluation cannot stay on top for ever.

DEAP draws from Python's global ``random``; every DEAP call runs with this strategy's own
``random.Random`` swapped in (``_rng.python_random``), so the GA depends on ``seed`` only.
"""
import random
from typing import Literal

import numpy as np
import torch
from deap import base, tools

from evohyper.api import checks as _checks
from evohyper.api.deap_ga import clone as _clone
from evohyper.api.deap_ga import next_generation
from evohyper.api.strategy import Strategy

CROSSOVERS = ("blend", "sbx", "two_point", "uniform")




class GA(Strategy):
    """Genetic algorithm (DEAP operators): tournament selection, crossover, Gaussian mutation, elitism.

    ``crossover``: blend = cxBlend(alpha=blend_alpha), sbx = cxSimulatedBinary(eta=sbx_eta),
    two_point = cxTwoPoint, uniform = cxUniform(indpb=0.5). ``mut_indpb`` None means 1/genome_size.

    Options:
      popsize: individuals per generation (>= 2).
      tournament_size: contestants per selection tournament (1 .. popsize).
      cx_prob: probability that a pair of selected parents is crossed over (DEAP ``varAnd``), in [0, 1].
      mut_prob: probability that a child is mutated, in [0, 1].
      elite: best individuals copied unchanged into the next generation (0 .. popsize - 1).
      crossover: the DEAP crossover: ``blend``, ``sbx``, ``two_point`` (genomes of >= 2 values) or ``uniform``.
      mut_sigma: standard deviation of the Gaussian mutation (DEAP ``mutGaussian``; > 0).
      mut_indpb: per-value probability of mutating, in (0, 1]; null: 1 / genome size.
      init_sigma: standard deviation of the first population around ``x0`` (> 0).
      x0: centre of the first population, every coordinate.
      blend_alpha: ``cxBlend``'s alpha (>= 0), for crossover ``blend``.
      sbx_eta: ``cxSimulatedBinary``'s crowding degree eta (> 0), for crossover ``sbx``.
    """

    def __init__(self, genome_size: int, seed: int, *,
                 popsize: int = 64,
                 tournament_size: int = 3,
                 crossover: Literal["blend", "sbx", "two_point", "uniform"] = "blend",
                 cx_prob: float = 0.5,
                 mut_prob: float = 0.5,
                 mut_sigma: float = 0.1,
                 mut_indpb: float | None = None,
                 elite: int = 1,
                 init_sigma: float = 0.5,
                 x0: float = 0.0,
                 blend_alpha: float = 0.5,
                 sbx_eta: float = 15.0):
        super().__init__(_checks.genome_size(genome_size), seed)
        _checks.integer("popsize", popsize, 2)
        _checks.integer("tournament_size", tournament_size, 1, popsize)
        _checks.one_of("crossover", crossover, CROSSOVERS)
        if crossover == "two_point" and self.genome_size < 2:
            _checks.fail("crossover", crossover, "not 'two_point' for a genome of size 1")
        _checks.probability("cx_prob", cx_prob)
        _checks.probability("mut_prob", mut_prob)
        _checks.positive("mut_sigma", mut_sigma)
        if mut_indpb is not None:
            _checks.real("mut_indpb", mut_indpb, 0.0, 1.0, low_open=True)
        _checks.integer("elite", elite, 0, popsize - 1)
        _checks.positive("init_sigma", init_sigma)
        _checks.real("x0", x0)
        _checks.real("blend_alpha", blend_alpha, 0.0)
        _checks.positive("sbx_eta", sbx_eta)
        self._popsize, self._elite = int(popsize), int(elite)
        self._cx_prob, self._mut_prob = float(cx_prob), float(mut_prob)
        self._x0, self._init_sigma = float(x0), float(init_sigma)
        self._random = random.Random(self.seed)                # every DEAP draw
        self._np = np.random.Generator(np.random.PCG64(self.seed % 2**128))  # the initial population
        self._toolbox = base.Toolbox()
        self._toolbox.register("clone", _clone)
        mate = {"blend": (tools.cxBlend, {"alpha": float(blend_alpha)}),
                "sbx": (tools.cxSimulatedBinary, {"eta": float(sbx_eta)}),
                "two_point": (tools.cxTwoPoint, {}),
                "uniform": (tools.cxUniform, {"indpb": 0.5})}[crossover]
        self._toolbox.register("mate", mate[0], **mate[1])
        indpb = 1.0 / self.genome_size if mut_indpb is None else float(mut_indpb)
        self._toolbox.register("mutate", tools.mutGaussian, mu=0.0, sigma=float(mut_sigma), indpb=indpb)
        self._toolbox.register("select", tools.selTournament, tournsize=int(tournament_size))
        self._genes: np.ndarray | None = None      # [P, D] float32, the population last asked
        self._fitness: np.ndarray | None = None    # [P] float64, its fitness once told

    @property
    def popsize(self) -> int:
        return self._popsize

    def _ask(self) -> torch.Tensor:
        if self._genes is None:
            genes = self._x0 + self._init_sigma * self._np.standard_normal((self._popsize, self.genome_size))
        else:
            genes = np.asarray(next_generation(self._genes, self._fitness, self._toolbox, self._elite, self._cx_prob,
                                               self._mut_prob, self._random), dtype=np.float64)
        # Stored as float32, so what is evaluated is exactly what survives as an elite.
        self._genes = genes.astype(np.float32)
        self._fitness = None
        return torch.from_numpy(self._genes.copy())

    def _tell(self, fitness: torch.Tensor) -> None:
        self._fitness = fitness.to(torch.float64).numpy().copy()
