"""Natural evolution strategies from EvoTorch: separable (SNES) and full-covariance (XNES)."""
from typing import Any, ClassVar, Literal

from evohyper.api.checks import Checks
from evohyper.strategies._evotorch import EvoTorchStrategy, stdev_args, stdev_limits

_checks = Checks("strategy")

RANKINGS = ("nes", "centered", "linear", "normalized", "raw")


def _nes_args(popsize, center_learning_rate, stdev_learning_rate, ranking_method) -> dict:
    """Options SNES and XNES share. ``stdev_learning_rate`` None keeps EvoTorch's size-dependent default;
    a number is used as is (``scale_learning_rate=False``)."""
    _checks.population("popsize", popsize, 2, optional=True)
    _checks.rate("center_learning_rate", center_learning_rate)
    _checks.rate("stdev_learning_rate", stdev_learning_rate, optional=True)
    _checks.one_of("ranking_method", ranking_method, RANKINGS)
    return {"popsize": popsize, "center_learning_rate": float(center_learning_rate),
            "stdev_learning_rate": stdev_learning_rate, "scale_learning_rate": False,
            "ranking_method": ranking_method}


class _NES(EvoTorchStrategy):
    """The learning rates are read by the update step only, so a running search may change them (PBT).

    Options:
      popsize: samples per generation (>= 2); null: EvoTorch's default 4 + floor(3 ln D).
      stdev_init: initial standard deviation of every coordinate (> 0).
      radius_init: initial radius (norm of the standard-deviation vector) instead of ``stdev_init``; null: off.
      center_init: initial mean of every coordinate.
      center_learning_rate: step size of the mean's update (> 0); PBT may change it during a run.
      stdev_learning_rate: step size of the standard deviations' update (> 0); null: EvoTorch's
        size-dependent default; PBT may change it during a run.
      ranking_method: fitness shaping: ``nes`` (NES utilities), ``centered``, ``linear``, ``normalized``, ``raw``.
    """

    mutable_options: ClassVar[tuple[str, ...]] = ("center_learning_rate", "stdev_learning_rate")

    def _set_option(self, name: str, value: Any) -> None:
        if value is None:   # null keeps the rate in force (EvoTorch's size-dependent default at the start)
            return
        self._algo_option(name, _checks.rate(name, value))


class SNES(_NES):
    """SNES (EvoTorch): separable natural evolution strategy; linear cost in genome size, good default.

    ``popsize`` None uses EvoTorch's default 4 + floor(3 ln D).

    Options (besides those of every NES, ``_NES``):
      stdev_min, stdev_max: bounds on every coordinate's standard deviation (> 0; null: none).
      stdev_max_change: largest relative change of a standard deviation per generation, in (0, 1]; null: none.
    """

    algorithm_name = "SNES"

    def __init__(self, genome_size: int, seed: int, *,
                 popsize: int | None = None,
                 stdev_init: float = 0.5,
                 radius_init: float | None = None,
                 center_init: float = 0.0,
                 center_learning_rate: float = 1.0,
                 stdev_learning_rate: float | None = None,
                 ranking_method: Literal["nes", "centered", "linear", "normalized", "raw"] = "nes",
                 stdev_min: float | None = None,
                 stdev_max: float | None = None,
                 stdev_max_change: float | None = None):
        _checks.genome_size(genome_size)
        super().__init__(genome_size, seed, center_init,
                         **_nes_args(popsize, center_learning_rate, stdev_learning_rate, ranking_method),
                         **stdev_args(stdev_init, radius_init),
                         **stdev_limits(stdev_min, stdev_max, stdev_max_change))


class XNES(_NES):
    """XNES (EvoTorch): exponential NES with a full covariance matrix; for small genomes (O(D^3) per update).

    Options: those of every NES (``_NES``).
    """

    algorithm_name = "XNES"

    def __init__(self, genome_size: int, seed: int, *,
                 popsize: int | None = None,
                 stdev_init: float = 0.5,
                 radius_init: float | None = None,
                 center_init: float = 0.0,
                 center_learning_rate: float = 1.0,
                 stdev_learning_rate: float | None = None,
                 ranking_method: Literal["nes", "centered", "linear", "normalized", "raw"] = "nes"):
        _checks.genome_size(genome_size)
        super().__init__(genome_size, seed, center_init,
                         **_nes_args(popsize, center_learning_rate, stdev_learning_rate, ranking_method),
                         **stdev_args(stdev_init, radius_init))
