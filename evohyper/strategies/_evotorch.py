"""Drive EvoTorch's Gaussian search algorithms (SNES, XNES, PGPE, CEM) through ask/tell.

EvoTorch only offers ``step()``, which samples *and* evaluates. We build the real algorithm on an
objective-less ``Problem`` and perform exactly the two halves of
``GaussianSearchAlgorithm._step_non_distributed`` (evotorch 0.6.1) ourselves:

* ask  = ``algo._distribution.sample(out=population.access_values(), generator=problem)``
* tell = ``population.set_evals(f)``; ``gradients = algo._distribution.compute_gradients(samples, f,
  objective_sense, ranking_method=algo._ranking_method)``; ``algo._update_distribution(gradients)``

``step()`` interleaves the same calls in the same order (sample gen 0; then update, sample gen 1; ...)
and the update draws no random numbers, so the search distribution follows the very same trajectory
as ``algo.run(n)`` on the same problem seed; ``test_evotorch_wrapper_matches_evotorch_step`` checks
this. Private attributes used: ``_distribution``, ``_ranking_method``, ``_obj_index``,
``_update_distribution``, ``_population``, ``_popsize`` (pinned to evotorch >=0.6,<0.7).

Sampling uses the problem's own ``torch.Generator`` (``Problem(seed=...)``), never torch's global one.
"""
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from evohyper.api.checks import Checks
from evohyper.api.strategy import Strategy

_checks = Checks("strategy")


@contextmanager
def _quiet_evotorch() -> Iterator[None]:
    """EvoTorch logs every Problem it builds at INFO level; hush it while we build ours."""
    logger = logging.getLogger("evotorch")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def stdev_args(stdev_init: float, radius_init: float | None) -> dict[str, Any]:
    """EvoTorch takes exactly one of stdev_init / radius_init; ours: radius_init, when set, wins."""
    _checks.scale("stdev_init", stdev_init)
    if _checks.scale("radius_init", radius_init, optional=True) is not None:
        return {"radius_init": float(radius_init)}  # type: ignore[arg-type]
    return {"stdev_init": float(stdev_init)}


def stdev_limits(stdev_min: float | None, stdev_max: float | None,
                 stdev_max_change: float | None) -> dict[str, Any]:
    lo = _checks.scale("stdev_min", stdev_min, optional=True)
    hi = _checks.scale("stdev_max", stdev_max, optional=True)
    if lo is not None and hi is not None and hi < lo:
        _checks.fail("stdev_max", stdev_max, f"a number >= stdev_min ({lo:g})")
    _checks.real("stdev_max_change", stdev_max_change, 0.0, 1.0, low_open=True, optional=True)
    return {"stdev_min": stdev_min, "stdev_max": stdev_max, "stdev_max_change": stdev_max_change}


def make_problem(genome_size: int, seed: int):
    """An objective-less EvoTorch problem: only its dtype, length and seeded generator are used."""
    from evotorch import Problem  # imported lazily: evotorch pulls in Ray and takes seconds to import

    with _quiet_evotorch():
        return Problem("max", None, solution_length=genome_size, initial_bounds=(-1.0, 1.0),
                       seed=seed, dtype=torch.float32, eval_dtype=torch.float64, device="cpu")


class EvoTorchStrategy(Strategy):
    """Base for strategies that wrap an ``evotorch.algorithms`` Gaussian search algorithm."""

    algorithm_name: str = ""  # attribute of evotorch.algorithms, set by subclasses
    #: the population buffer (popsize x genome values) is refilled by the next ask: a checkpoint need not
    #: carry it (issue 21: a checkpoint holds what the next generation needs)
    state_exclude = ("_algo._population",)

    def __init__(self, genome_size: int, seed: int, center_init: float, **algorithm_kwargs: Any):
        super().__init__(_checks.genome_size(genome_size), seed)
        _checks.location("center_init", center_init)
        import evotorch.algorithms as algorithms
        from evotorch import SolutionBatch

        self._problem = make_problem(self.genome_size, self.seed % 2**63)
        center = torch.full((self.genome_size,), float(center_init), dtype=torch.float32)
        cls = getattr(algorithms, self.algorithm_name)
        with _quiet_evotorch():
            self._algo = cls(self._problem, center_init=center, **algorithm_kwargs)
        # The one population buffer, reused every generation exactly as step() reuses its own.
        self._algo._population = SolutionBatch(self._problem, popsize=self._algo._popsize,
                                               device=self._problem.device, empty=True)

    @property
    def popsize(self) -> int:
        return int(self._algo._popsize)

    def _algo_option(self, name: str, value: float) -> None:
        """Set a hyperparameter EvoTorch keeps as ``_<name>`` on the algorithm and reads at every update."""
        if not hasattr(self._algo, f"_{name}"):
            raise ValueError(f"EvoTorch {self.algorithm_name} has no option {name!r}")
        setattr(self._algo, f"_{name}", float(value))

    @property
    def algorithm(self) -> Any:
        """The wrapped EvoTorch search algorithm (``.status``, ``.optimizer``, ...)."""
        return self._algo

    def center(self) -> torch.Tensor:
        """Mean of the search distribution (``mu``)."""
        return self._algo._distribution.parameters["mu"].detach().clone()

    @property
    def stdev(self) -> torch.Tensor:
        """Standard deviation(s) of the search distribution (a matrix for XNES)."""
        return self._algo._distribution.parameters["sigma"].detach().clone()

    def _ask(self) -> torch.Tensor:
        values = self._algo._population.access_values()  # also marks the old evaluations stale
        self._algo._distribution.sample(out=values, generator=self._problem)
        return values.detach().clone()

    def _tell(self, fitness: torch.Tensor) -> None:
        algo, population = self._algo, self._algo._population
        population.set_evals(fitness.to(population.evals.dtype).reshape(-1, 1))
        samples = population.access_values(keep_evals=True)
        fitnesses = population.access_evals()[:, algo._obj_index]
        gradients = algo._distribution.compute_gradients(
            samples, fitnesses, objective_sense=self._problem.senses[algo._obj_index],
            ranking_method=algo._ranking_method)
        algo._update_distribution(gradients)
