"""Random search: the baseline every other strategy must beat."""
import torch

from evohyper.api.checks import Checks
from evohyper.api.strategy import Strategy

_checks = Checks("strategy")


class RandomSearch(Strategy):
    """Random search: uniform samples in [low, high], a fraction of them Gaussian around the best so far.

    ``local_fraction`` 0 is pure uniform search; 1 is a (1, popsize) random local search. Local samples
    are N(best, sigma^2) clipped to [low, high]. The best point is tracked here, not taken from the
    base class, so its checkpointed state holds it. Draws come from a ``torch.Generator`` seeded
    with ``seed``.

    Options:
      popsize: samples per generation (>= 1).
      low, high: the box uniform samples are drawn from and local samples are clipped to (low < high).
      local_fraction: fraction of each population sampled around the best so far, in [0, 1].
      sigma: standard deviation of the local samples (> 0).
    """

    def __init__(self, genome_size: int, seed: int, *,
                 popsize: int = 64,
                 low: float = -1.0,
                 high: float = 1.0,
                 local_fraction: float = 0.5,
                 sigma: float = 0.1):
        super().__init__(_checks.genome_size(genome_size), seed)
        _checks.population("popsize", popsize, 1)
        _checks.location("low", low)
        _checks.location("high", high)
        if not high > low:
            _checks.fail("high", high, f"a number > low ({low:g})")
        _checks.probability("local_fraction", local_fraction)
        _checks.scale("sigma", sigma)
        self._popsize, self._low, self._high = int(popsize), float(low), float(high)
        self._local_fraction, self._sigma = float(local_fraction), float(sigma)
        self._gen = torch.Generator().manual_seed(self.seed % 2**63)
        self._center: torch.Tensor | None = None
        self._center_fitness = float("-inf")
        self._asked: torch.Tensor | None = None

    @property
    def popsize(self) -> int:
        return self._popsize

    def _ask(self) -> torch.Tensor:
        n_local = 0 if self._center is None else round(self._popsize * self._local_fraction)
        shape = (self._popsize - n_local, self.genome_size)
        parts = [self._low + (self._high - self._low) * torch.rand(shape, generator=self._gen)]
        if n_local:
            local = self._center + self._sigma * torch.randn(n_local, self.genome_size, generator=self._gen)
            parts.insert(0, local.clamp_(self._low, self._high))
        self._asked = torch.cat(parts).to(torch.float32)
        return self._asked.clone()

    def _tell(self, fitness: torch.Tensor) -> None:
        i = int(fitness.argmax())
        if float(fitness[i]) > self._center_fitness:
            self._center_fitness, self._center = float(fitness[i]), self._asked[i].clone()
        self._asked = None
