"""Double-pole (and single-pole) balancing, the neuroevolution yardstick, batched over the population.

The task of Wieland (1991) as Gruau, Whitley & Pyeatt (1996), Gomez & Miikkulainen (1999, ESP), Stanley &
Miikkulainen (2002, NEAT), Igel (2003) / Heidrich-Meisner & Igel (2009, CMA-ES) and Gomez, Schmidhuber &
Miikkulainen (2008, CoSyNE, whose Table collects the results) use it. P policies x E episodes step at once
(``double_pole_env.BatchedPoles``); one batched policy forward per time step; stepping stops once every
episode is done.

Sources of each constant and rule (where they disagree, the choice and why):

- Physics (``double_pole_env``): cart 1 kg, poles 0.1 / 0.01 kg, half-lengths 0.5 / 0.05 m, g = -9.8, hinge
  friction mu_p = 2e-6, force = 10 N x the output clamped to [-1, 1], RK4 with h = 0.01 s and two RK4 steps
  per action (0.02 s): Gomez's physics code as shipped in Stanley's NEAT C++ ``pole2`` experiment
  (``CartPole::step``/``rk4``/``performAction``) and in Shark's ``DoublePole`` (Heidrich-Meisner & Igel's
  code, from which the CMA-ES figures come). **Cart friction** mu_c = 5e-4: Shark subtracts
  ``mu_c sgn(x_dot)`` from the force as Wieland's equations do; NEAT's C++ defines ``MUC`` but never uses it
  (no cart friction). We follow Wieland/Shark (the term is 0.0005 N against a 10 N push: it changes
  trajectories by ~1e-5 per second, not who balances).
- Failure: ``|x| > 2.4`` m or ``|theta_i| > 36 deg`` (both codes: ``thirty_six_degrees = 0.628329``; we use
  exactly 36 deg, 1e-5 rad apart). Single pole (``poles: 1``, long pole only, same integrator): 12 deg, the
  single-pole failure angle of Barto/Anderson, gymnasium's CartPole and the single-pole tasks of Gomez et
  al. (2008) and Heidrich-Meisner & Igel (2009) (not checked against their code in this session).
- Standard start: the long pole at 0.07 rad (4.01 deg), everything else 0, for both variants: both codes'
  ``init`` (NEAT: ``state[2] = 0.07; // one_degree``; Shark: ``init(double state2init = 0.07)``). Papers
  quote 1 deg (Markovian) and 4.5 deg (non-Markovian); the codes that produced the tables use 0.07 rad, so
  that is the default, and ``start_angle`` (degrees) sets another.
- Inputs (both codes): ``x / 4.8, x_dot / 2, theta_i / 0.52, theta_i_dot / 2`` with velocities, ``x / 4.8,
  theta_i / 0.52`` without (the codes' constant 0.5 bias input is the networks' own bias here).
- ``fitness: steps``: the steps balanced (the step that fails is not counted: NEAT's ``balanced_sum``), at
  most ``max_steps`` (100,000, the literature's "solved" criterion; NEAT/Shark: fitness = steps, winner at
  100,000).
- ``fitness: damping`` (Gruau et al. 1996, as NEAT's ``evalNet`` computes it): a 1,000-step episode;
  ``f = 0.1 t / 1000 + 0.9 f2`` with t the steps balanced and ``f2 = 0.75 / J`` if t >= 100 (else 0), where J
  is the sum over the last 100 balanced steps of ``|x| + |x_dot| + |theta_1| + |theta_1_dot|`` (raw state:
  metres, m/s, radians, rad/s; NEAT's ``jigglestep``). NEAT pays f2 only when t > 100 (we follow Gruau's
  ``t >= 100``; a 100-step episode is rare and gets 0.1 x 0.1 + 0.9 f2 instead of 0.01).
- Solved with damping (NEAT's ``pole2_epoch``, Gruau's rule): an individual that balanced the 1,000-step
  episode then balances ``solve_steps`` (100,000) steps from the standard start and at least 200 of the 625
  generalisation starts for 1,000 steps. NEAT tests only one species champion per generation; we test every
  individual that lasted 1,000 steps (its evaluations are the same; the tests are extra simulated steps; a
  test per chunk's champion would depend on how a generation is split across actors). The 625 starts are run
  only for those that held the long run (solved needs both; a survivor that falls later costs its long run
  only and reports no generalisation score).
- Generalisation (Gruau; NEAT's grid): x, x_dot, theta_1, theta_1_dot each take the values ``lo + f (hi -
  lo)`` for f in (0.05, 0.25, 0.5, 0.75, 0.95) of the ranges +-2.16 m, +-1.35 m/s, +-3.6 deg, +-8.6 deg/s
  (NEAT: ``0.06283152 = 3.6 degrees``, ``0.15009752 = 8.6 degrees``); the short pole starts at 0; a start
  passes if balanced for 1,000 steps; the network starts at rest for each.
- ``start: random``: the four variables above drawn uniformly over the same ranges (the short pole at 0),
  from a generator seeded by the evaluate seed, the same for every individual (common random numbers).
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
import math
from typing import Any, ClassVar, Literal

import torch

from evohyper.api.checks import MAX_EPISODES, MAX_STEPS, Checks
from evohyper.api.network_block import NETWORK_KEYS, mlp_target
from evohyper.api.phenotypes import Phenotypes, TargetSpec
from evohyper.api.task import EvalResult, Task
from evohyper_tasks import double_pole_fused
from evohyper_tasks.double_pole_env import JIGGLE_WINDOW, BatchedPoles

_checks = Checks("task")

STANDARD_ANGLE = 0.07                     # rad: the long pole's start in Gomez's, NEAT's and Shark's code
DAMPING_STEPS = 1000                      # Gruau's damping episode
GENERALISATION_STEPS = 1000               # steps a generalisation start must be balanced for
GENERALISATION_PASS = 200                 # of the 625 starts, to count as solved with damping
GRID_FRACTIONS = (0.05, 0.25, 0.5, 0.75, 0.95)
#: half-ranges of x, x_dot, theta_1, theta_1_dot for the generalisation grid and the random start
START_RANGES = (2.16, 1.35, math.radians(3.6), math.radians(8.6))
OBS_SCALE = (4.8, 2.0, 0.52, 2.0)         # x, x_dot, theta, theta_dot (both codes)


def generalisation_grid(poles: int = 2) -> torch.Tensor:
    """The 625 start states ``[625, 2 + 2 poles]`` of Gruau's generalisation test (float64)."""
    lo = -torch.tensor(START_RANGES, dtype=torch.float64)
    f = torch.tensor(GRID_FRACTIONS, dtype=torch.float64)
    values = [lo[i] + f * (-2 * lo[i]) for i in range(4)]
    grid = torch.cartesian_prod(*values)                                     # [625, 4]
    return torch.cat((grid, grid.new_zeros(len(grid), 2 * poles - 2)), dim=1)


class DoublePoleTask(Task):
    """Balance one or two poles on a cart (Wieland's system; sources in the module docstring).

    Options:
      poles: 2 (double pole, default) or 1 (the long pole alone, failure at 12 deg).
      velocities: observe the velocities (Markovian, default) or only x and the angles (then the policy
        must remember: ``network: {recurrent: true}`` (Elman), ``{recurrent: full}`` or a recurrent NEAT genome).
      max_steps: the episode limit with ``fitness: steps`` (default 100,000 = solved).
      fitness: ``steps`` (steps balanced) or ``damping`` (Gruau's anti-wiggle fitness of a 1,000-step episode).
      episodes: episodes per individual (default 1; with ``start: standard`` they are all the same).
      start: ``standard`` (the long pole at ``start_angle``, all else 0: deterministic) or ``random``
        (x, x_dot, theta_1, theta_1_dot uniform over the generalisation ranges, from the evaluate seed).
      solve_steps: the length of the damping variant's solve test (default 100,000).
      start_angle: the standard start's long-pole angle in degrees (default: 0.07 rad = 4.01 deg).

    Metrics (each ``[P]``): ``balanced_steps`` (mean over episodes of the scored episode's steps balanced),
    ``solved`` (1/0; steps: every episode lasted ``max_steps``; damping: the solve test and >= 200 of 625
    generalisation starts), with damping also ``generalisation`` (starts passed; NaN where not tested: an
    individual that did not last the 1,000-step episode or did not hold the long run).
    """

    maximize: ClassVar[bool] = True
    network_keys: ClassVar[tuple[str, ...]] = NETWORK_KEYS
    default_hidden: ClassVar[tuple[int, ...]] = (5,)

    def __init__(self, poles: Literal[1, 2] = 2, velocities: bool = True, max_steps: int = 100_000,
                 fitness: Literal["steps", "damping"] = "steps", episodes: int = 1,
                 start: Literal["standard", "random"] = "standard", solve_steps: int = 100_000,
                 start_angle: float | None = None) -> None:
        self.poles = _checks.one_of("poles", poles, (1, 2))
        self.velocities = _checks.boolean("velocities", velocities)
        self.max_steps = _checks.integer("max_steps", max_steps, 1, MAX_STEPS)
        self.fitness = _checks.one_of("fitness", fitness, ("steps", "damping"))
        self.episodes = _checks.integer("episodes", episodes, 1, MAX_EPISODES)
        self.start = _checks.one_of("start", start, ("standard", "random"))
        self.solve_steps = _checks.integer("solve_steps", solve_steps, 1, MAX_STEPS)
        angle = _checks.real("start_angle", start_angle, -30.0, 30.0, optional=True)
        self.start_angle = STANDARD_ANGLE if angle is None else math.radians(angle)
        if self.fitness == "damping" and max_steps != 100_000:
            _checks.fail("max_steps", max_steps, "the default with fitness: damping (its episode is Gruau's "
                         "1,000 steps; the solve test's length is solve_steps)")
        self.stochastic = self.start == "random"
        self.device = torch.device("cpu")

    # ------------------------------------------------------------------ spaces
    @property
    def state_dim(self) -> int:
        return 2 + 2 * self.poles

    @property
    def obs_dim(self) -> int:
        return (2 + 2 * self.poles) if self.velocities else (1 + self.poles)

    def target(self, network: dict[str, Any]) -> TargetSpec:
        return mlp_target(network, self.obs_dim, 1, hidden=self.default_hidden,
                          activation="tanh", output_activation="tanh")

    def standard_state(self) -> torch.Tensor:
        s = torch.zeros(self.state_dim, dtype=torch.float64)
        s[2] = self.start_angle
        return s

    def initial_states(self, seed: int) -> torch.Tensor:
        """The ``[episodes, D]`` float64 start states for ``seed`` (CPU generator: the same on every device)."""
        if self.start == "standard":
            return self.standard_state().expand(self.episodes, self.state_dim).clone()
        gen = torch.Generator().manual_seed(int(seed))
        u = torch.rand(self.episodes, 4, dtype=torch.float64, generator=gen)
        half = torch.tensor(START_RANGES, dtype=torch.float64)
        s = torch.zeros(self.episodes, self.state_dim, dtype=torch.float64)
        s[:, :4] = (2 * u - 1) * half
        return s

    def observed(self) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """The state indices the policy sees and their scales (as the sources scale them)."""
        scale = OBS_SCALE[:2] + OBS_SCALE[2:] * self.poles
        index = tuple(range(self.state_dim)) if self.velocities else tuple(range(0, self.state_dim, 2))
        return index, tuple(scale[i] for i in index)

    def observe(self, state: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """The policy's inputs ``[..., obs_dim]`` from states ``[..., D]``."""
        index, scale = self.observed()
        return (state[..., list(index)] / torch.tensor(scale, dtype=torch.float64, device=state.device)).to(dtype)

    # ------------------------------------------------------------------ rollouts
    def rollout(self, phenotypes: Phenotypes, starts: torch.Tensor, max_steps: int,
                jiggle: bool = False, fused: bool | None = None) -> BatchedPoles:
        """Run every individual from every start ``[E, D]`` (``[P, E, D]`` environments) until all are done.
        ``fused``: recurrent NEAT networks and the cart in one compiled kernel (``double_pole_fused``; None:
        wherever it applies, False: the torch loop)."""
        P, device = len(phenotypes), phenotypes.device
        index, scale = self.observed()
        env = BatchedPoles(self.poles, max_steps, jiggle=jiggle, observe=index, obs_scale=scale,
                           obs_dtype=phenotypes.dtype)
        env.reset(starts.to(device).expand(P, *starts.shape))
        phenotypes.reset_state()                                     # recurrent policies start at rest
        if fused is not False and env.uses_kernel and double_pole_fused.supports(phenotypes):
            double_pole_fused.rollout(env, phenotypes, max_steps)
            return env
        if fused:
            raise ValueError("fused=True: these phenotypes or this device have no fused kernel (supports())")
        for _ in range(max_steps):  # a loop over time steps; every environment steps at once
            if env.live == 0:
                break
            env.step(phenotypes.forward(env.obs)[..., 0])
        return env

    def generalisation(self, phenotypes: Phenotypes) -> torch.Tensor:
        """``[P]``: how many of Gruau's 625 start states each individual balances for 1,000 steps
        (all 625 x P environments at once)."""
        return self._generalisation(phenotypes)[0]

    def _generalisation(self, phenotypes: Phenotypes) -> tuple[torch.Tensor, int]:
        env = self.rollout(phenotypes, generalisation_grid(self.poles), GENERALISATION_STEPS)
        passed = (env.balanced >= GENERALISATION_STEPS).sum(dim=1).to(torch.float32)
        return passed, int(env.forwards.sum())

    def evaluate(self, phenotypes: Phenotypes, seed: int) -> EvalResult:
        starts = self.initial_states(seed)
        damping = self.fitness == "damping"
        env = self.rollout(phenotypes, starts, DAMPING_STEPS if damping else self.max_steps, jiggle=damping)
        balanced = env.balanced.to(torch.float32)                    # [P, E]
        steps = int(env.forwards.sum())
        metrics = {"balanced_steps": balanced.mean(dim=1)}
        if not damping:
            metrics["solved"] = (env.balanced >= self.max_steps).all(dim=1).to(torch.float32)
            return EvalResult(fitness=balanced, metrics=metrics, sample_forwards=steps, env_steps=steps)
        fitness = damping_fitness(env.balanced, env.jiggle_sum()).to(torch.float32)
        solved = torch.zeros(len(phenotypes), dtype=torch.float32, device=balanced.device)
        general = torch.full_like(solved, float("nan"))
        tested = torch.nonzero((env.balanced >= DAMPING_STEPS).all(dim=1)).flatten()
        if len(tested):   # the long run first; the 625 starts only for those that held it (both are needed)
            champions = phenotypes.select(tested)
            long_run = self.rollout(champions, self.standard_state().unsqueeze(0), self.solve_steps)
            steps += int(long_run.forwards.sum())
            held = torch.nonzero(long_run.balanced[:, 0] >= self.solve_steps).flatten()
            if len(held):
                passed, grid_steps = self._generalisation(champions.select(held))
                steps += grid_steps
                general[tested[held]] = passed
                solved[tested[held]] = (passed >= GENERALISATION_PASS).to(torch.float32)
        metrics.update(solved=solved, generalisation=general)
        return EvalResult(fitness=fitness, metrics=metrics, sample_forwards=steps, env_steps=steps)


def damping_fitness(balanced: torch.Tensor, jiggle_sum: torch.Tensor) -> torch.Tensor:
    """Gruau et al.'s fitness ``0.1 t / 1000 + 0.9 f2``, ``f2 = 0.75 / J`` for t >= 100 balanced steps (else 0),
    J the sum of ``|x| + |x_dot| + |theta_1| + |theta_1_dot|`` over the last 100 of them (float64)."""
    t = balanced.to(torch.float64)
    f2 = torch.where(balanced >= JIGGLE_WINDOW, 0.75 / jiggle_sum.clamp_min(1e-300), torch.zeros_like(t))
    return 0.1 * t / DAMPING_STEPS + 0.9 * f2
