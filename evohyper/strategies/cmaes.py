"""CMA-ES through the reference implementation, ``cma`` (Hansen), driven by ask/tell."""
import math
from typing import Any

import numpy as np
import torch

from evohyper.api.checks import Checks
from evohyper.api.strategy import Strategy

_checks = Checks("strategy")

#: the largest population: cma's constructor takes about 9 us per sample (measured), so 10**5 costs ~1 s
MAX_POPSIZE = 100_000
#: most restarts: at factor 2 the population reaches MAX_POPSIZE after ~14; a larger count is a typo
MAX_RESTARTS = 1_000
#: the longest ``restart_stall`` window: a larger one never fires before cma's own ``maxiter`` would
MAX_STALL = 1_000_000
#: ``es.stop()`` keys that start no restart: ``fmin`` ends the whole search on the first three (none can fire
#: here: ftarget -inf, maxfevals inf, no callback), and a wall-clock ``timeout`` would tie a run to its machine
NO_RESTART = frozenset({"ftarget", "maxfevals", "callback", "timeout"})


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
      restarts: IPOP restarts (Auger & Hansen 2005): when cma's ``stop()`` fires, the next generation comes
        from a fresh CMA-ES at x0 and sigma0 with a larger population, this many times at most (<= 1,000); 0: none.
      restart_popsize_factor: population growth per restart (>= 1; IPOP's 2; 1: plain restarts).
      restart_stall: also restart when the running CMA-ES has not raised its best fitness for this many
        generations (0: cma's own criteria only; needs restarts > 0). cma's criteria watch the spread of recent
        values (tolfun, tolflatfitness, tolstagnation's medians), and a run that creeps below an old lucky best
        never meets them: on the damping pole fitness such runs kept their best for 600+ generations unstopped.

    Restarts are ``cma.fmin``'s IPOP loop (same samples for an explicit popsize, tested) in ask/tell form.
    Every ``stop()`` key but ``NO_RESTART`` counts, cma's default ``maxiter`` included as in ``fmin`` (a run
    that long is over by cma's measure; with few genome values it takes thousands of generations). Where
    ours differs: the restart happens at the next ``ask`` (``center()`` and ``es`` show the ended run until
    then); run k's popsize is round(popsize0 * factor**k), at most MAX_POPSIZE, for the first run's integer
    popsize0 (``fmin`` grows cma's unrounded default: 7.3 -> 14, 29 where we ask 7, 14, 28); cma evaluates
    its popsize-dependent defaults (maxiter, tolstagnation) anew for each run (``fmin`` keeps the first's);
    and once the restarts are spent the last run goes on (``fmin`` returns), until the budget ends the search.
    """

    #: cma's data logger (off here), its wall-clock timer, and the iterations whose h_sigma was off (a
    #: diagnostic list that grows): none of them changes what is asked
    state_exclude = ("_es.logger", "_es.timer", "_es.hsiglist")

    def __init__(self, genome_size: int, seed: int, *,
                 popsize: int | None = None,
                 sigma0: float = 0.5,
                 x0: float = 0.0,
                 diagonal: bool = False,
                 active: bool = True,
                 restarts: int = 0,
                 restart_popsize_factor: float = 2.0,
                 restart_stall: int = 0):
        super().__init__(_checks.genome_size(genome_size), seed)
        _checks.integer("popsize", popsize, 2, MAX_POPSIZE, optional=True)
        _checks.scale("sigma0", sigma0)
        _checks.location("x0", x0)
        _checks.boolean("diagonal", diagonal)
        _checks.boolean("active", active)
        self._restarts = _checks.integer("restarts", restarts, 0, MAX_RESTARTS)
        self._factor = _checks.real("restart_popsize_factor", restart_popsize_factor, 1.0, MAX_POPSIZE)
        self._stall = _checks.integer("restart_stall", restart_stall, 0, MAX_STALL)
        if self._stall and not self._restarts:
            _checks.fail("restart_stall", restart_stall, "0 while restarts is 0 (a stall starts a restart)")
        self._restarts_done = 0
        # the running CMA-ES's best fitness and the generations since it last rose (``restart_stall``)
        self._run_best, self._run_stalled = -math.inf, 0
        self._x0, self._sigma0 = float(x0), float(sigma0)
        self._rs = np.random.RandomState(self.seed % 2**32)  # cma's Gaussian sampler
        # what every run (the first and each restart) is built with besides its popsize
        self._options = {"CMA_diagonal": bool(diagonal), "CMA_active": bool(active)}
        if restarts:   # stop() would read option changes from a file of this name in the working directory
            self._options["signals_filename"] = ""
        self._es = self._new_es(None if popsize is None else int(popsize))
        self._popsize0 = int(self._es.popsize)
        self._asked: list[np.ndarray] | None = None

    def _new_es(self, popsize: int | None) -> Any:
        """A CMA-ES at x0 and sigma0 that samples from our ``randn`` (cma's own seeding off)."""
        import cma  # imported lazily: it takes a second, and `evohyper list` should not wait for it

        opts = {"seed": np.nan, "randn": self._rs.randn, "verbose": -9, "verb_log": 0, "verb_disp": 0,
                **self._options}
        if popsize is not None:
            opts["popsize"] = popsize
        return cma.CMAEvolutionStrategy(self.genome_size * [self._x0], self._sigma0, opts)

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
    def restarts_done(self) -> int:
        """Restarts begun so far (at most the ``restarts`` option)."""
        return self._restarts_done

    @property
    def es(self) -> Any:
        """The wrapped ``cma.CMAEvolutionStrategy`` (read its ``sigma``, ``mean``, ``result``)."""
        return self._es

    def center(self) -> torch.Tensor:
        """cma's distribution mean, as a float32 genotype like those ``ask`` returns."""
        return torch.from_numpy(np.asarray(self._es.mean, dtype=np.float32).copy())

    def _popsize_of_run(self, k: int) -> int:
        """Run k's popsize: round(popsize0 * factor**k), capped (checked in logs first: factor**k can overflow)."""
        if k * math.log(self._factor) > math.log(MAX_POPSIZE):
            return MAX_POPSIZE
        return min(MAX_POPSIZE, int(self._popsize0 * self._factor ** k + 0.5))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """The explicit state (after a restart too: the saved run's popsize and recombination weights are part of
        it), and a new (paused) timer: cma creates its wall-clock timer at the first ask, and only its display and
        ``timeout`` option (unused here) read it."""
        super().load_state_dict(state)
        if self._es.countiter > 0:
            from cma.utilities.utils import ElapsedWCTime

            self._es.timer = ElapsedWCTime()
            self._es.timer.pause()

    def metrics(self) -> dict[str, float]:
        """``restarts`` begun so far, when restarts are on (a metrics.csv column: when did the search restart?)."""
        return {"restarts": float(self._restarts_done)} if self._restarts else {}

    def _ask(self) -> torch.Tensor:
        # stop() is cached per iteration (an ask after discard() sees the same answer) and is {} before a tell
        if self._restarts_done < self._restarts and (set(self._es.stop()) - NO_RESTART or self._stalled()):
            self._restarts_done += 1
            self._es = self._new_es(self._popsize_of_run(self._restarts_done))
            self._run_best, self._run_stalled = -math.inf, 0
        self._asked = self._es.ask()
        # cma keeps float64; the engine gets float32 genotypes, cma is told its own float64 points.
        return torch.from_numpy(np.asarray(self._asked, dtype=np.float32))

    def _stalled(self) -> bool:
        """``restart_stall`` generations in a row without a new best of the running CMA-ES."""
        return 0 < self._stall <= self._run_stalled

    def _tell(self, fitness: torch.Tensor) -> None:
        top = float(fitness.max())   # finite: ``tell`` ranks NaN/inf last
        self._run_best, self._run_stalled = (top, 0) if top > self._run_best else \
            (self._run_best, self._run_stalled + 1)
        losses = (-fitness.to(torch.float64)).numpy().tolist()  # cma minimises
        self._es.tell(self._asked, losses)
        self._asked = None
