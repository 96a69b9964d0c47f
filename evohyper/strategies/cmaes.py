"""CMA-ES through the reference implementation, ``cma`` (Hansen), driven by ask/tell."""
from typing import Any

import numpy as np
import torch

from evohyper.api.checks import Checks
from evohyper.api.strategy import Strategy

_checks = Checks("strategy")

#: the largest population: cma's constructor takes about 9 us per sample (measured), so 10**5 costs ~1 s
MAX_POPSIZE = 100_000


class CMAES(Strategy):
    """CMA-ES (pycma): covariance-matrix adaptation; set diagonal=true (sep-CMA) for large genomes.

    All of cma's randomness is ours: its Gaussian sampler is ``randn`` of a ``RandomState`` seeded from
    ``seed``, and cma's own ``seed`` option is off, so it never reseeds the global numpy generator. The
    ask/tell path used here (default CSA, selective mirrors by injection for popsize < 6, sep-CMA)
    draws nothing else; cma's other global ``np.random`` uses (stochastic rounding for mirror methods
    0/1, restarts in ``fmin``) are not reachable from these options. The conformance tests assert the
    global generators stay untouched, so runs replay bit-identically.

    Options:
      popsize: samples per generation (2 .. 100,000: cma builds its recombination weights in Python, about
        9 s per million); null: cma's default 4 + floor(3 ln n) for n genome values.
      sigma0: initial step size, the standard deviation of the first population (> 0).
      x0: initial mean of every coordinate.
      diagonal: sep-CMA (cma's ``CMA_diagonal``): a diagonal covariance, O(n) memory and time per sample
        instead of O(n^2); for large genomes.
      active: active CMA (cma's ``CMA_active``): the worst samples also update the covariance, negatively.
    """

    #: cma's data logger (off here), its wall-clock timer, and the iterations whose h_sigma was off (a
    #: diagnostic list that grows): none of them changes what is asked
    state_exclude = ("_es.logger", "_es.timer", "_es.hsiglist")

    def __init__(self, genome_size: int, seed: int, *,
                 popsize: int | None = None,
                 sigma0: float = 0.5,
                 x0: float = 0.0,
                 diagonal: bool = False,
                 active: bool = True):
        super().__init__(_checks.genome_size(genome_size), seed)
        _checks.integer("popsize", popsize, 2, MAX_POPSIZE, optional=True)
        _checks.scale("sigma0", sigma0)
        _checks.location("x0", x0)
        _checks.boolean("diagonal", diagonal)
        _checks.boolean("active", active)
        self._rs = np.random.RandomState(self.seed % 2**32)  # cma's Gaussian sampler
        opts = {"seed": np.nan, "randn": self._rs.randn, "verbose": -9, "verb_log": 0, "verb_disp": 0,
                "CMA_diagonal": bool(diagonal), "CMA_active": bool(active)}
        if popsize is not None:
            opts["popsize"] = int(popsize)
        import cma  # imported lazily: it takes a second, and `evohyper list` should not wait for it

        self._es = cma.CMAEvolutionStrategy(self.genome_size * [float(x0)], float(sigma0), opts)
        self._asked: list[np.ndarray] | None = None

    @classmethod
    def state_bytes(cls, genome_size: int, options: dict[str, Any]) -> int:
        """Full CMA-ES keeps the covariance matrix, its eigenvectors and a copy (3 n^2 floats); sep-CMA O(n)."""
        return 10 * 8 * genome_size if options.get("diagonal") else 3 * 8 * genome_size ** 2

    @classmethod
    def state_advice(cls) -> str:
        return "set strategy.diagonal: true (sep-CMA keeps O(n) state instead of full CMA-ES's O(n^2))"

    @property
    def popsize(self) -> int:
        return int(self._es.popsize)

    @property
    def es(self) -> Any:
        """The wrapped ``cma.CMAEvolutionStrategy`` (read its ``sigma``, ``mean``, ``result``)."""
        return self._es

    def center(self) -> torch.Tensor:
        """cma's distribution mean, as a float32 genotype like those ``ask`` returns."""
        return torch.from_numpy(np.asarray(self._es.mean, dtype=np.float32).copy())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """The explicit state, and a new (paused) timer: cma creates its wall-clock timer at the first
        ask, and only its display and ``timeout`` option (unused here) read it."""
        super().load_state_dict(state)
        if self._es.countiter > 0:
            from cma.utilities.utils import ElapsedWCTime

            self._es.timer = ElapsedWCTime()
            self._es.timer.pause()

    def _ask(self) -> torch.Tensor:
        self._asked = self._es.ask()
        # cma keeps float64; the engine gets float32 genotypes, cma is told its own float64 points.
        return torch.from_numpy(np.asarray(self._asked, dtype=np.float32))

    def _tell(self, fitness: torch.Tensor) -> None:
        losses = (-fitness.to(torch.float64)).numpy().tolist()  # cma minimises
        self._es.tell(self._asked, losses)
        self._asked = None
