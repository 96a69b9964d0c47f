"""Cross-entropy method from EvoTorch: refit a separable Gaussian to the elite fraction each generation."""
from evohyper.api.checks import Checks
from evohyper.strategies._evotorch import EvoTorchStrategy, stdev_args, stdev_limits

_checks = Checks("strategy")


class CEM(EvoTorchStrategy):
    """CEM (EvoTorch): separable Gaussian refitted to the top parenthood_ratio of each population.

    The standard deviation can collapse early on rugged problems; ``stdev_min`` keeps it exploring.

    Options:
      popsize: samples per generation (>= 2).
      parenthood_ratio: fraction of each population the distribution is refitted to, in (0, 1]
        (at least one sample).
      stdev_init: initial standard deviation of every coordinate (> 0).
      radius_init: initial radius (norm of the standard-deviation vector) instead of ``stdev_init``; null: off.
      center_init: initial mean of every coordinate.
      stdev_min, stdev_max: bounds on every coordinate's standard deviation (> 0; null: none).
      stdev_max_change: largest relative change of a standard deviation per generation, in (0, 1]; null: none.
    """

    algorithm_name = "CEM"

    def __init__(self, genome_size: int, seed: int, *,
                 popsize: int = 50,
                 parenthood_ratio: float = 0.2,
                 stdev_init: float = 0.5,
                 radius_init: float | None = None,
                 center_init: float = 0.0,
                 stdev_min: float | None = None,
                 stdev_max: float | None = None,
                 stdev_max_change: float | None = None):
        _checks.genome_size(genome_size)
        _checks.population("popsize", popsize, 2)
        _checks.real("parenthood_ratio", parenthood_ratio, 0.0, 1.0, low_open=True)
        if int(popsize * parenthood_ratio) < 1:  # evotorch's floor(popsize * ratio) elites
            _checks.fail("parenthood_ratio", parenthood_ratio,
                         f"a fraction that keeps at least one of popsize={popsize} (>= {1 / popsize:g})")
        super().__init__(genome_size, seed, center_init,
                         popsize=int(popsize), parenthood_ratio=float(parenthood_ratio),
                         **stdev_args(stdev_init, radius_init),
                         **stdev_limits(stdev_min, stdev_max, stdev_max_change))
