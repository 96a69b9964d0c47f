"""PGPE from EvoTorch: symmetric-sampling policy-gradient ES with a ClipUp/Adam optimizer on the center."""
from typing import Literal

from evohyper.api.checks import Checks
from evohyper.strategies._evotorch import EvoTorchStrategy, stdev_args, stdev_limits
from evohyper.strategies.nes import RANKINGS

_checks = Checks("strategy")


class PGPE(EvoTorchStrategy):
    """PGPE (EvoTorch): antithetic Gaussian ES with ClipUp by default; the usual neuroevolution workhorse.

    ``max_speed`` (ClipUp's step cap) None means EvoTorch's default, twice ``center_learning_rate``;
    ``momentum`` applies to ClipUp and SGD. With ``symmetric`` sampling ``popsize`` must be even.

    Options:
      popsize: samples per generation (>= 2; even when ``symmetric``).
      center_learning_rate: step size of the mean's update (> 0).
      stdev_learning_rate: step size of the standard deviations' update (> 0).
      stdev_init: initial standard deviation of every coordinate (> 0).
      radius_init: initial radius (norm of the standard-deviation vector) instead of ``stdev_init``; null: off.
      center_init: initial mean of every coordinate.
      optimizer: what moves the mean: ``clipup`` (default), ``adam``, ``sgd`` or ``none`` (plain gradient steps).
      max_speed: ClipUp's largest step (> 0; only with ``clipup``); null: twice ``center_learning_rate``.
      momentum: ClipUp's or SGD's momentum, in [0, 1).
      ranking_method: fitness shaping before the gradient estimate: ``centered`` (ranks in [-0.5, 0.5]),
        ``nes``, ``linear``, ``normalized`` or ``raw``.
      symmetric: antithetic (mirrored) sampling: every sample comes with its reflection about the mean.
      stdev_min, stdev_max: bounds on every coordinate's standard deviation (> 0; null: none).
      stdev_max_change: largest relative change of a standard deviation per generation, in (0, 1]; null: none.
    """

    algorithm_name = "PGPE"

    def __init__(self, genome_size: int, seed: int, *,
                 popsize: int = 32,
                 center_learning_rate: float = 0.1,
                 stdev_learning_rate: float = 0.1,
                 stdev_init: float = 0.3,
                 radius_init: float | None = None,
                 center_init: float = 0.0,
                 optimizer: Literal["clipup", "adam", "sgd", "none"] = "clipup",
                 max_speed: float | None = None,
                 momentum: float = 0.9,
                 ranking_method: Literal["centered", "nes", "linear", "normalized", "raw"] = "centered",
                 symmetric: bool = True,
                 stdev_min: float | None = None,
                 stdev_max: float | None = None,
                 stdev_max_change: float | None = 0.2):
        _checks.genome_size(genome_size)
        _checks.boolean("symmetric", symmetric)
        _checks.population("popsize", popsize, 2)
        if symmetric and popsize % 2:
            _checks.fail("popsize", popsize, "an even integer >= 2 when symmetric is true")
        _checks.rate("center_learning_rate", center_learning_rate)
        _checks.rate("stdev_learning_rate", stdev_learning_rate)
        _checks.one_of("optimizer", optimizer, ("clipup", "adam", "sgd", "none"))
        _checks.scale("max_speed", max_speed, optional=True)
        _checks.real("momentum", momentum, 0.0, 1.0, high_open=True)
        _checks.one_of("ranking_method", ranking_method, RANKINGS)
        if max_speed is not None and optimizer != "clipup":
            _checks.fail("max_speed", max_speed, "null unless optimizer is 'clipup'")
        config = {"clipup": {"momentum": momentum, **({} if max_speed is None else {"max_speed": max_speed})},
                  "sgd": {"momentum": momentum}, "adam": None, "none": None}[optimizer]
        super().__init__(genome_size, seed, center_init,
                         popsize=int(popsize), center_learning_rate=float(center_learning_rate),
                         stdev_learning_rate=float(stdev_learning_rate),
                         optimizer=None if optimizer == "none" else optimizer, optimizer_config=config,
                         ranking_method=ranking_method, symmetric=symmetric,
                         **stdev_args(stdev_init, radius_init),
                         **stdev_limits(stdev_min, stdev_max, stdev_max_change))
