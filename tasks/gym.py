"""Any gymnasium environment as a fitness task: P policies x E episodes stepped in lockstep.

The task holds P*E environment copies (created once, grown when a call needs more, reset with
seeded episodes every call) and runs the whole population's policies in one batched forward per
time step; finished episodes are masked: never stepped again, never counted. Episode seeds come from
the ``evaluate`` seed and are the same for every individual (common random numbers), so a fitness
never depends on which other individuals share the call (1 or N Ray actors give the same result).

Why the environments are stepped one by one rather than through ``gymnasium.vector.SyncVectorEnv``:
a vector env steps every copy on every call (its autoreset modes either reset finished copies or
assert on them), while masking needs to skip them; raw stepping speed is the same (see
``benchmarks/bench_gym.py``).

Why the forward runs once per episode index with one row per network (``[P, 1, obs_dim]``), not
once on ``[P, E, obs_dim]``: a batched GEMM may round a row differently depending on how many rows
share it (M=1 takes a GEMV path), and one flipped bit in an action changes a MuJoCo trajectory. With
one row per network, a policy's action for an observation is bit-identical whether it is scored
here, alone, or replayed on a single environment (tests/tasks/test_task_gym.py checks this).
The exception is a stateful (recurrent) policy: it keeps one state per episode, so its E episodes run
in one call per step, and an episode's actions then match the same episode run with another E only
to rounding (the sparse product's kernel differs between one and several columns). Its fitness is
still exact on 1 or N actors, which split individuals, not episodes.
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from evohyper.api.checks import MAX_EPISODES, MAX_STEPS, Checks
from evohyper.api.network_block import NETWORK_KEYS, mlp_target
from evohyper.api.phenotypes import MLPPhenotypes, TargetSpec
from evohyper.api.task import Descriptor, EvalResult, Objective, Replay, Task
from evohyper.families.hyperneat import SubstrateSpec
from evohyper_tasks import _mujoco_log, gym_descriptors, gym_objectives
from evohyper_tasks.gym_observation_stats import check_observation_stats, normalizer
from evohyper_tasks.gym_substrate import SUBSTRATE_KEYS, body_layers, check_substrate_block

_checks = Checks("task")

TASK = "gym"
ACTION_MAPPINGS = ("clip", "tanh")
DEFAULT_MAX_STEPS = 1000  # for environments registered without a step limit


def _gymnasium() -> Any:
    """gymnasium, imported on first use: ``evohyper list`` works without it installed."""
    try:
        import gymnasium
    except ImportError:
        raise ValueError(f"task {TASK!r} needs gymnasium: pip install 'gymnasium[mujoco]>=1.0'") from None
    return gymnasium


# ----------------------------------------------------------------------------- the task
class GymTask(Task):
    """Any gymnasium environment (Box observations; Discrete or Box actions); fitness = episode return.

    Options:
      env: a registered gymnasium id (``Pendulum-v1``, ``CartPole-v1``, ``HalfCheetah-v5``, ...); an environment
        of your own: ``my_envs:MyEnv-v0`` (gymnasium imports the module ``my_envs``, which calls
        ``gymnasium.register``), or ``MyEnv-v0`` with ``plugins: [my_envs]``; the module is found in the
        current directory or on PYTHONPATH, by the driver and by every Ray actor.
      episodes: episodes per individual (default 1); fitness is ``[P, episodes]``.
      max_steps: episode length limit (default: the environment's registered limit, else 1000).
      env_kwargs: keyword arguments for ``gymnasium.make``.
      action_mapping: Box actions only: ``clip`` the outputs to the bounds (default) or ``tanh``
        squash them into the bounds. Discrete actions are the argmax of ``n`` outputs.
      decrease_rewards_by: subtracted from every step's reward (removes alive bonuses, as EvoTorch's
        GymNE does).
      observation_normalization: normalise observations with the mean and variance of every
        observation seen in the run before this generation (Salimans et al. 2017). The task returns
        each individual's observation sums as ``EvalResult.state``; the engine adds them up exactly
        over all actors and loads the total before the next generation (``load_evaluation_state``).
      env_seed: every episode of every evaluation (and replay) starts from ``env.reset(seed=env_seed)``
        (pyribs' lunar-lander tutorial: 52); the task is then deterministic (``stochastic`` false) for an
        environment whose randomness all comes from that seed. Default null: episode seeds drawn from
        the evaluate seed.
      descriptors: behaviour descriptors returned with the fitness for quality-diversity search, read in the
        same rollout (``gym_descriptors``): ``impact_x``, ``impact_y_velocity`` (LunarLander);
        ``feet_contact`` (one column per foot), ``final_x`` (Hopper, Walker2d, HalfCheetah, Ant).
      descriptor_bounds: ``{descriptor: [low, high]}`` over a chosen descriptor's declared bounds.
      objectives: ``[return, action_cost]`` for multi-objective search (``gym_objectives``): the return
        (maximised) and the mean absolute action per step (minimised, Box actions only); fitness is then
        ``[P, episodes, 2]``. Default null: one objective, the return.
      reference_point: the hypervolume reference point, one value per objective in its own direction, over
        the declared one (the worst return and the largest action cost, see ``gym_objectives``).

    Network: an MLP (``network: {hidden: [64, 64]}``), or ``network: {type: substrate, hidden: [[3, 5]]}``
    for the ``hyperneat`` decoder: a substrate laid out from the body (``gym_substrate``).

    Metrics: ``episode_length`` (mean over the episodes) and ``env_steps`` (all of an individual's
    steps). ``sample_forwards`` and ``env_steps`` count live environment steps (one policy forward each).
    """

    maximize: ClassVar[bool] = True
    stochastic = True  # episodes drawn from the evaluate seed
    #: the MLP keys and ``recurrent``, ``type`` and the substrate block's keys
    network_keys: ClassVar[tuple[str, ...]] = tuple(dict.fromkeys(("type", *NETWORK_KEYS, *SUBSTRATE_KEYS)))
    default_hidden: ClassVar[tuple[int, ...]] = (16,)

    def __init__(self, env: str = "Pendulum-v1", episodes: int = 1, max_steps: int | None = None,
                 env_kwargs: dict[str, Any] | None = None, action_mapping: Literal["clip", "tanh"] = "clip",
                 decrease_rewards_by: float = 0.0, observation_normalization: bool = False,
                 env_seed: int | None = None, descriptors: list[str] | None = None,
                 descriptor_bounds: dict[str, list[float]] | None = None, objectives: list[str] | None = None,
                 reference_point: list[float] | None = None) -> None:
        self.episodes = _checks.integer("episodes", episodes, 1, MAX_EPISODES)
        self.action_mapping = _checks.one_of("action_mapping", action_mapping, ACTION_MAPPINGS)
        self.decrease_rewards_by = _checks.magnitude("decrease_rewards_by", decrease_rewards_by)
        self.observation_normalization = _checks.boolean("observation_normalization", observation_normalization)
        self.env_seed = _checks.integer("env_seed", env_seed, 0, 2**32 - 1, optional=True)
        self.stochastic = self.env_seed is None   # one fixed start: deterministic (for a deterministic env)
        if env_kwargs is not None and (not isinstance(env_kwargs, dict)
                                       or not all(isinstance(k, str) for k in env_kwargs)):
            _checks.fail("env_kwargs", env_kwargs, "a mapping of keyword arguments for gymnasium.make")
        self.env_kwargs = dict(env_kwargs or {})
        if not isinstance(env, str) or not env:
            _checks.fail("env", env, "a registered gymnasium environment id such as 'Pendulum-v1'")
        self.env_id = env
        probe = self._make(limit=None)  # validates the id, the kwargs and the spaces, then goes
        try:
            self._read_spaces(probe)
            registered = probe.spec.max_episode_steps if probe.spec is not None else None
            self._extractors, columns = gym_descriptors.choose(probe, env, descriptors, descriptor_bounds, _checks)
        finally:
            probe.close()
        if max_steps is None:
            max_steps = registered if registered else DEFAULT_MAX_STEPS
        self.max_steps = _checks.integer("max_steps", max_steps, 1, MAX_STEPS)
        self.device = torch.device("cpu")
        self._envs: list[Any] = []
        self._norm: tuple[torch.Tensor, torch.Tensor] | None = None  # from the loaded evaluation state
        self._descriptors = tuple(Descriptor(*column) for column in columns)
        self._objectives, self._reference = gym_objectives.choose(
            objectives, reference_point, _checks, env_id=env, discrete=self.discrete,
            low=getattr(self, "low", None), high=getattr(self, "high", None), max_steps=self.max_steps,
            decrease=self.decrease_rewards_by)

    def descriptor_space(self) -> tuple[Descriptor, ...]:
        """One ``Descriptor`` per column of the chosen ``descriptors`` (``feet_contact_0``, ...)."""
        return self._descriptors

    def objective_space(self) -> tuple[Objective, ...]:
        """The chosen ``objectives`` (none by default: fitness is the return alone)."""
        return self._objectives

    def reference_point(self) -> tuple[float, ...] | None:
        """The ``reference_point`` option, else the worst value of each objective where it is known."""
        return self._reference

    # ------------------------------------------------------------------ environments
    def _make(self, limit: int | None = -1, **kwargs: Any) -> Any:
        """One environment; ``limit=-1``: no TimeLimit wrapper (this task counts steps itself)."""
        gymnasium = _gymnasium()
        try:
            _mujoco_log.install(gymnasium, self.env_id)   # its compiler warnings once, not once per env
            return gymnasium.make(self.env_id, max_episode_steps=limit, disable_env_checker=True,
                                  **self.env_kwargs, **kwargs)
        except gymnasium.error.Error as exc:
            hint = ""
            if isinstance(exc, (gymnasium.error.NameNotFound, gymnasium.error.NamespaceNotFound,
                                gymnasium.error.VersionNotFound)) and ":" not in self.env_id:
                hint = (f"; an environment of your own must be registered in every process that builds the task "
                        f"(each Ray actor too): call gymnasium.register in a module and name it under `plugins:` "
                        f"(plugins: [my_envs]) or in the id (env: 'my_envs:{self.env_id}'), the module in the "
                        f"current directory or on PYTHONPATH")
            _checks.refuse("env", f"{self.env_id!r} cannot be made: "
                                  f"{type(exc).__name__}: {str(exc).rstrip('.') if hint else exc}{hint}")
        except ImportError as exc:   # env: "module:Id-v0" whose module does not import
            _checks.refuse("env", f"{self.env_id!r}: cannot import module {self.env_id.partition(':')[0]!r} "
                                  f"({str(exc).split('. ')[0]}); put it in the current directory or on PYTHONPATH")
        except TypeError as exc:
            _checks.refuse("env_kwargs", f"{self.env_kwargs!r} does not fit {self.env_id!r}: {exc}")

    def _read_spaces(self, env: Any) -> None:
        spaces = _gymnasium().spaces
        obs, act = env.observation_space, env.action_space
        allowed = "an environment with a Box observation space and a Discrete or Box action space"
        if not isinstance(obs, spaces.Box) or not isinstance(act, (spaces.Discrete, spaces.Box)) or obs.shape == ():
            _checks.refuse("env", f"{self.env_id!r} has observation space {obs} and action space {act}; "
                                  f"allowed: {allowed}")
        self.obs_shape = tuple(obs.shape)
        self.obs_dim = int(np.prod(self.obs_shape))
        self.discrete = isinstance(act, spaces.Discrete)
        if self.discrete:
            self.act_dim, self.act_start = int(act.n), int(act.start)
            return
        self.act_shape, self.act_dtype = tuple(act.shape), act.dtype
        self.act_dim = int(np.prod(self.act_shape))
        self.low, self.high = act.low.astype(np.float64), act.high.astype(np.float64)
        if self.action_mapping == "tanh" and not (np.isfinite(self.low).all() and np.isfinite(self.high).all()):
            _checks.fail("action_mapping", "tanh", f"'clip' ('tanh' needs finite action bounds; {self.env_id!r} "
                                                   f"has {act})")

    def environments(self, n: int) -> list[Any]:
        """At least ``n`` cached environments (made once: MuJoCo models are slow to build)."""
        while len(self._envs) < n:
            self._envs.append(self._make())
        return self._envs[:n]

    def close(self) -> None:
        for env in self._envs:
            env.close()
        self._envs = []

    def episode_seeds(self, seed: int, n: int | None = None) -> list[int]:
        """The first ``n`` (default: ``episodes``) episode seeds of ``seed``; a longer list starts with
        the shorter one (one seed per episode index, from ``SeedSequence([seed, index])``; the global
        RNG is never drawn). With ``env_seed``: that seed for every episode, whatever ``seed``."""
        count = self.episodes if n is None else int(n)
        if self.env_seed is not None:
            return [self.env_seed] * count
        return [int(np.random.SeedSequence([int(seed), e]).generate_state(1)[0] >> 1) for e in range(count)]

    # ------------------------------------------------------------------ policy
    def target(self, network: dict[str, Any]) -> TargetSpec:
        """An MLP ``obs -> hidden -> actions`` (tanh hidden units), or with ``type: substrate`` a HyperNEAT
        substrate laid out from the body (see ``gym_substrate``)."""
        network = dict(network or {})
        kind = network.get("type", "mlp")
        if kind not in ("mlp", "substrate"):
            Checks("network").fail("type", kind, "one of 'mlp', 'substrate'")
        if kind == "mlp":
            network.pop("type", None)
            return mlp_target(network, self.obs_dim, self.act_dim, hidden=self.default_hidden,
                              activation="tanh", output_activation="identity")
        hidden = check_substrate_block(network)
        probe = self._make()
        try:
            substrate = body_layers(probe, self.obs_dim, self.act_dim, hidden)
        finally:
            probe.close()
        return SubstrateSpec(substrate, activation=network.get("activation", "tanh"),
                             output_activation=network.get("output_activation", "identity"),
                             bias=network.get("bias", False))

    def actions(self, outputs: torch.Tensor) -> Any:
        """Environment actions for network outputs ``[n, act_dim]``: a list of ints (Discrete) or
        an array ``[n, *action_shape]`` of the action space's dtype (Box)."""
        if self.discrete:
            return (outputs.argmax(dim=-1) + self.act_start).tolist()
        out = outputs.detach().cpu().numpy().astype(np.float64).reshape(-1, *self.act_shape)
        if self.action_mapping == "tanh":
            out = self.low + (np.tanh(out) + 1.0) * 0.5 * (self.high - self.low)
        return np.clip(out, self.low, self.high).astype(self.act_dtype)  # tanh may round past a bound

    def policy_outputs(self, phenotypes: MLPPhenotypes, obs: np.ndarray,
                       norm: tuple[torch.Tensor, torch.Tensor] | None, episodes: int | None = None) -> torch.Tensor:
        """Outputs ``[P * E, act_dim]`` for observations ``[P * E, obs_dim]`` (float64, row
        ``p * E + e`` = episode e of individual p; E = ``episodes``, default the task's): one batched
        forward per episode index, each network seeing one row (see the module docstring: a policy's
        action never depends on how many rows share its GEMM)."""
        P, E = len(phenotypes), self.episodes if episodes is None else episodes
        x = torch.from_numpy(obs)
        if norm is not None:
            x = (x - norm[0]) / norm[1]
        x = x.to(device=phenotypes.device, dtype=phenotypes.dtype).view(P, E, -1)
        if E == 1 or phenotypes.stateful:  # a recurrent policy keeps one state per episode: one call per step
            return phenotypes.forward(x).reshape(P * E, -1)
        return torch.cat([phenotypes.forward(x[:, e:e + 1]) for e in range(E)], dim=1).view(P * E, -1)

    # ------------------------------------------------------------------ observation normalisation
    def load_evaluation_state(self, state: dict[str, torch.Tensor] | None) -> None:
        """Normalise with ``state`` (observation statistics summed over the run; None: none yet)."""
        if state is None:
            self._norm = None
            return
        if not self.observation_normalization:
            raise ValueError(f"task {TASK!r} keeps observation statistics only with observation_normalization: "
                             f"true; got an evaluation state with keys {sorted(state)}")
        self._norm = normalizer(check_observation_stats(state, self.obs_dim))

    def current_normalizer(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(mean, std)`` observations are normalised with (None: identity)."""
        return self._norm if self.observation_normalization else None

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, phenotypes: MLPPhenotypes, seed: int) -> EvalResult:
        P, E = len(phenotypes), self.episodes
        n = P * E
        norm = self.current_normalizer()
        envs = self.environments(n)
        steps = [env.step for env in envs]
        seeds = self.episode_seeds(seed)
        obs = np.empty((n, self.obs_dim), dtype=np.float64)
        view = obs.reshape(n, *self.obs_shape)
        for i, env in enumerate(envs):
            view[i] = env.reset(seed=seeds[i % E])[0]
        phenotypes.reset_state()
        returns = np.zeros(n, dtype=np.float64)
        lengths = np.zeros(n, dtype=np.int64)
        reward = np.zeros(n, dtype=np.float64)
        live = list(range(n))
        obs_sum, obs_sumsq = np.zeros((n, self.obs_dim)), np.zeros((n, self.obs_dim))  # per episode
        for extractor in self._extractors:
            extractor.start(envs)
        cost = np.zeros(n, dtype=np.float64) if "action_cost" in self._names() else None
        for _ in range(self.max_steps):  # a loop over time steps; every live episode steps at once
            if self.observation_normalization:
                seen = obs[live]
                obs_sum[live] += seen
                obs_sumsq[live] += seen * seen
            act = self.actions(self.policy_outputs(phenotypes, obs, norm))
            if cost is not None:
                cost[live] += gym_objectives.step_magnitude(act, n)[live]
            still = []
            for i in live:
                o, r, terminated, truncated, _ = steps[i](act[i])
                view[i] = o
                reward[i] = r
                if not (terminated or truncated):
                    still.append(i)
            lengths[live] += 1
            returns[live] += reward[live] - self.decrease_rewards_by
            if self._extractors:
                rows = np.asarray(live)
                for extractor in self._extractors:
                    extractor.update(rows, obs)
            live = still
            if not live:
                break
        ep_len = torch.from_numpy(lengths).view(P, E)
        state = {}
        if self.observation_normalization:  # each individual's own sums (episodes added in order)
            sums = [torch.from_numpy(a.reshape(P, E, -1)) for a in (obs_sum, obs_sumsq)]
            state = {"obs_count": ep_len.sum(dim=1).to(torch.float64),
                     "obs_sum": _sum_episodes(sums[0]), "obs_sumsq": _sum_episodes(sums[1])}
        descriptors = None
        if self._extractors:   # [P, E, d]: the engine averages the episodes
            columns = np.concatenate([extractor.finish(lengths) for extractor in self._extractors], axis=1)
            descriptors = torch.from_numpy(columns).view(P, E, -1)
        fitness = torch.from_numpy(returns).view(P, E)
        if self._objectives:   # [P, E, m]: the engine averages the episodes
            per_objective = {"return": returns, "action_cost": None if cost is None else cost / lengths}
            fitness = torch.from_numpy(np.stack([per_objective[name] for name in self._names()], 1)).view(P, E, -1)
        return EvalResult(fitness=fitness, descriptors=descriptors,
                          metrics={"episode_length": ep_len.to(torch.float64).mean(dim=1),
                                   "env_steps": ep_len.sum(dim=1).to(torch.float64)},
                          sample_forwards=int(lengths.sum()), env_steps=int(lengths.sum()), state=state)

    def _names(self) -> list[str]:
        return [o.name for o in self._objectives]

    # ------------------------------------------------------------------ replay
    def replay(self, phenotypes: MLPPhenotypes, seed: int, episodes: int, render: bool = False) -> Replay:
        """The first policy's episodes, one at a time, in a freshly made environment with gymnasium's
        own TimeLimit at ``max_steps`` (and ``render_mode="rgb_array"`` when rendering): the first
        ``self.episodes`` of them are the episodes ``evaluate(phenotypes, seed)`` scored. ``render``: the
        frames of the first episode."""
        policy = phenotypes.select([0])
        norm = self.current_normalizer()
        seeds = self.episode_seeds(seed, episodes)
        env = self._make(limit=self.max_steps, **({"render_mode": "rgb_array"} if render else {}))
        returns, lengths, frames = [], [], []
        try:
            for index, episode_seed in enumerate(seeds):
                obs, _ = env.reset(seed=episode_seed)
                policy.reset_state()                      # every episode starts at rest, as in evaluate
                total, steps, done = 0.0, 0, False
                while not done:
                    if render and index == 0:
                        frames.append(env.render())
                    x = np.asarray(obs, dtype=np.float64).reshape(1, -1)
                    action = self.actions(self.policy_outputs(policy, x, norm, episodes=1))[0]
                    obs, reward, terminated, truncated, _ = env.step(action)
                    total += float(reward) - self.decrease_rewards_by
                    steps += 1
                    done = terminated or truncated
                if render and index == 0:
                    frames.append(env.render())  # the final state
                returns.append(total)
                lengths.append(steps)
            fps = float(env.metadata.get("render_fps") or 30)
        finally:
            env.close()
        return Replay(returns=returns, lengths=lengths, seeds=seeds, frames=frames, fps=fps)


def _sum_episodes(rows: torch.Tensor) -> torch.Tensor:
    """``[P, E, d] -> [P, d]``, adding episode 0, 1, ... in order: an individual's sum is the same in
    any population (a reduction kernel might group the terms differently for different shapes)."""
    total = rows[:, 0].clone()
    for e in range(1, rows.shape[1]):
        total += rows[:, e]
    return total
