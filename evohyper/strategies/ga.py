"""A real-valued genetic algorithm assembled from DEAP's own operators.

Generational replacement with elitism: each ``ask`` after the first returns the ``elite`` best of the
last told population unchanged (``tools.selBest``) followed by offspring bred by DEAP's
``algorithms.varAnd`` (crossover then Gaussian mutation) from ``tools.selTournament`` parents. Elites
are re-evaluated with everyone else, so a lucky noisy evaluation cannot stay on top for ever.

DEAP draws from Python's global ``random``; every DEAP call runs with this strategy's own
``random.Random`` swapped in (``_rng.python_random``), so the GA depends on ``seed`` only.
"""
from typing import Literal

import numpy as np
from deap import tools

from evohyper.api.checks import MAX_RATE, Checks
from evohyper.api.deap_ga import DeapGA

_checks = Checks("strategy")

CROSSOVERS = ("blend", "sbx", "two_point", "uniform")


class GA(DeapGA):
    """Genetic algorithm (DEAP operators): tournament selection, crossover, Gaussian mutation, elitism.

    Options (and those of ``DeapGA``: popsize, tournament_size, cx_prob, mut_prob, elite):
      crossover: the DEAP crossover: ``blend`` = cxBlend(alpha=blend_alpha), ``sbx`` =
        cxSimulatedBinary(eta=sbx_eta), ``two_point`` = cxTwoPoint (genomes of >= 2 values) or ``uniform`` =
        cxUniform(indpb=0.5).
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
        _checks.one_of("crossover", crossover, CROSSOVERS)
        if crossover == "two_point" and self.genome_size < 2:
            _checks.fail("crossover", crossover, "not 'two_point' for a genome of size 1")
        _checks.scale("mut_sigma", mut_sigma)
        if mut_indpb is not None:
            _checks.real("mut_indpb", mut_indpb, 0.0, 1.0, low_open=True)
        _checks.scale("init_sigma", init_sigma)
        _checks.location("x0", x0)
        _checks.real("blend_alpha", blend_alpha, 0.0, MAX_RATE)
        _checks.rate("sbx_eta", sbx_eta)
        self._setup_ga(popsize, tournament_size, cx_prob, mut_prob, elite)
        self._x0, self._init_sigma = float(x0), float(init_sigma)
        mate = {"blend": (tools.cxBlend, {"alpha": float(blend_alpha)}),
                "sbx": (tools.cxSimulatedBinary, {"eta": float(sbx_eta)}),
                "two_point": (tools.cxTwoPoint, {}),
                "uniform": (tools.cxUniform, {"indpb": 0.5})}[crossover]
        self._toolbox.register("mate", mate[0], **mate[1])
        indpb = 1.0 / self.genome_size if mut_indpb is None else float(mut_indpb)
        self._toolbox.register("mutate", tools.mutGaussian, mu=0.0, sigma=float(mut_sigma), indpb=indpb)

    def _first_population(self) -> np.ndarray:
        return self._x0 + self._init_sigma * self._np.standard_normal((self._popsize, self.genome_size))
