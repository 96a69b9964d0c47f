"""CMA-ES through the reference implementation, ``cma`` (Hansen), driven by ask/tell."""
from typing import Any

import numpy as np
import torch

from evohyper.api.strategy import Strategy
from evohyper.strategies import _checks, _rng


class CMAES(Strategy):
    """CMA-ES (pycma): covariance-matrix adaptation; set diagonal=true (sep-CMA) for large genomes.

    All of cma's randomness is ours: its Gaussian sampler is ``randn`` of a ``RandomState`` seeded from
    ``seed`` (cma's own ``seed`` option is off, so it never reseeds the global numpy generator), and the
    rare global ``np.random`` draws left in cma (stochastic rounding for mirrored sampling) run on a
    second owned ``RandomState`` swapped in around ask/tell. So runs replay bit-identically.
    """

    def __init__(self, genome_size: int, seed: int, *,
                 popsize: int | None = None,
                 sigma0: float = 0.5,
                 x0: float = 0.0,
                 diagonal: bool = False,
                 active: bool = True):
        super().__init__(_checks.genome_size(genome_size, minimum=2), seed)  # cma refuses 1-D problems
        _checks.integer("popsize", popsize, 2, optional=True)
        _checks.positive("sigma0", sigma0)
        _checks.real("x0", x0)
        _checks.boolean("diagonal", diagonal)
        _checks.boolean("active", active)
        self._rs = np.random.RandomState(self.seed % 2**32)            # cma's Gaussian sampler
        self._global_rs = np.random.RandomState((self.seed + 1) % 2**32)  # stands in for np.random
        opts = {"seed": np.nan, "randn": self._rs.randn, "verbose": -9, "verb_log": 0, "verb_disp": 0,
                "CMA_diagonal": bool(diagonal), "CMA_active": bool(active),
                # the engine decides when to stop; cma's termination criteria must not end the run
                "tolfun": 0, "tolfunhist": 0, "tolx": 0, "tolstagnation": np.inf, "maxiter": np.inf}
        if popsize is not None:
            opts["popsize"] = int(popsize)
        import cma  # imported lazily: it takes a second, and `evohyper list` should not wait for it

        with _rng.numpy_random(self._global_rs):
            self._es = cma.CMAEvolutionStrategy(self.genome_size * [float(x0)], float(sigma0), opts)
        self._asked: list[np.ndarray] | None = None

    @property
    def popsize(self) -> int:
        return int(self._es.popsize)

    @property
    def es(self) -> Any:
        """The wrapped ``cma.CMAEvolutionStrategy`` (read its ``sigma``, ``mean``, ``result``)."""
        return self._es

    def _ask(self) -> torch.Tensor:
        with _rng.numpy_random(self._global_rs):
            self._asked = self._es.ask()
        # cma keeps float64; the engine gets float32 genotypes, cma is told its own float64 points.
        return torch.from_numpy(np.asarray(self._asked, dtype=np.float32))

    def _tell(self, fitness: torch.Tensor) -> None:
        losses = (-fitness.to(torch.float64)).numpy().tolist()  # cma minimises
        with _rng.numpy_random(self._global_rs):
            self._es.tell(self._asked, losses)
        self._asked = None
