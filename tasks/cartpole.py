"""Cart-pole balancing: P policies x E episodes simulated at once in a batched torch environment.

Dynamics: gymnasium ``CartPole-v1`` reproduced exactly (see ``cartpole_env.BatchedCartPole``).
Policy: an MLP ``obs(4) -> hidden -> 1``; the action is *push right* when the output is above
``action_threshold`` (0: a sign; 0.5 for a sigmoid output, as neat-python's cart-pole example), else
*push left* (one output, rather than two outputs and an argmax: fewer parameters, the same policies).
Fitness: the return of each episode, ``[P, E]`` (the engine averages over the E episodes, so the
search maximises the mean return; 500 is perfect with the default ``max_steps``).

``hide_velocities: true`` makes it partially observable: the policy sees only ``(x, theta)``, so it must
remember (``network: {recurrent: true}`` for an Elman network, or a recurrent NEAT genome). Every
rollout starts with ``phenotypes.reset_state()`` and calls ``forward`` once per time step.
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
from typing import Any, ClassVar

import torch

from evohyper.api.checks import MAX_EPISODES, MAX_STEPS, Checks
from evohyper.api.network_block import NETWORK_KEYS, mlp_target
from evohyper.api.phenotypes import MLPPhenotypes, MLPSpec
from evohyper.api.task import EvalResult, Task
from evohyper_tasks.cartpole_env import BatchedCartPole

_checks = Checks("task")

INIT_LOW, INIT_HIGH = -0.05, 0.05  # gymnasium's reset bounds


class CartPoleTask(Task):
    """Balance a pole on a cart (gymnasium CartPole-v1 dynamics, batched); fitness = mean episode return.

    Options:
      episodes: episodes per individual (default 5). Their initial states are drawn uniformly from
        [-0.05, 0.05]^4 with a generator seeded by the ``evaluate`` seed, and are the same for every
        individual (common random numbers), so a score never depends on who else is in the batch.
      max_steps: episode length limit (default 500, as CartPole-v1).
      action_threshold: push right when the policy's output is above it (default 0).
      hide_velocities: observe only the cart position and the pole angle (default false).

    Metrics: ``return_min`` (the worst of the E episodes). ``sample_forwards`` counts the policy
    forward passes actually needed (one per live environment step). Stepping stops once every
    episode of every individual is done.
    """

    maximize: ClassVar[bool] = True
    stochastic = True  # episodes drawn from the evaluate seed
    network_keys: ClassVar[tuple[str, ...]] = NETWORK_KEYS   # the MLP keys and ``recurrent``
    default_hidden: ClassVar[tuple[int, ...]] = (8,)

    def __init__(self, episodes: int = 5, max_steps: int = 500, action_threshold: float = 0.0,
                 hide_velocities: bool = False) -> None:
        self.episodes = _checks.integer("episodes", episodes, 1, MAX_EPISODES)
        self.max_steps = _checks.integer("max_steps", max_steps, 1, MAX_STEPS)
        self.action_threshold = _checks.magnitude("action_threshold", action_threshold)
        self.hide_velocities = _checks.boolean("hide_velocities", hide_velocities)
        self.device = torch.device("cpu")

    @property
    def obs_dim(self) -> int:
        return 2 if self.hide_velocities else 4

    def target(self, network: dict[str, Any]) -> MLPSpec:
        return mlp_target(network, self.obs_dim, 1, hidden=self.default_hidden,
                          activation="tanh", output_activation="identity")

    def initial_states(self, seed: int) -> torch.Tensor:
        """The ``[episodes, 4]`` float64 start states for ``seed`` (generated on the CPU, so identical
        on every device and independent of the global RNG)."""
        gen = torch.Generator().manual_seed(int(seed))
        u = torch.rand(self.episodes, 4, dtype=torch.float64, generator=gen)
        return INIT_LOW + (INIT_HIGH - INIT_LOW) * u

    def act(self, phenotypes: MLPPhenotypes, obs: torch.Tensor) -> torch.Tensor:
        """Actions ``[P, E]`` (True = push right) for states ``[P, E, 4]``: one batched forward."""
        if self.hide_velocities:
            obs = obs[..., ::2]                                    # (x, theta)
        out = phenotypes.forward(obs.to(phenotypes.dtype))
        return out[..., 0] > self.action_threshold

    def rollout(self, phenotypes: MLPPhenotypes, seed: int) -> BatchedCartPole:
        """Run all episodes of all individuals to the end; returns the finished environment."""
        P, device = len(phenotypes), phenotypes.device
        env = BatchedCartPole(self.max_steps)
        obs = env.reset(self.initial_states(seed).to(device).expand(P, self.episodes, 4))
        phenotypes.reset_state()                                   # recurrent policies start at rest
        for _ in range(self.max_steps):  # a loop over time steps; every individual steps at once
            if bool(env.done.all()):
                break
            obs, _, _ = env.step(self.act(phenotypes, obs))
        return env

    def evaluate(self, phenotypes: MLPPhenotypes, seed: int) -> EvalResult:
        env = self.rollout(phenotypes, seed)
        returns = env.lengths.to(torch.float32)  # reward 1 per live step, terminating step included
        return EvalResult(fitness=returns, metrics={"return_min": returns.min(dim=1).values},
                          sample_forwards=int(env.lengths.sum()))
