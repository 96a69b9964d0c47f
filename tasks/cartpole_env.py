"""A batched cart-pole environment in torch with gymnasium ``CartPole-v1`` dynamics.

Every environment in a tensor of states ``[..., 4]`` (``(x, x_dot, theta, theta_dot)``) steps at
once — typically ``[P, E, 4]``: P policies x E episodes. The dynamics are computed in float64 with
the same constants and the same order of operations as gymnasium's ``CartPoleEnv`` (Euler
integrator), so trajectories match gymnasium step for step; observations are the float32 cast of
the state, as in gymnasium. No gymnasium import here: it is only used by the tests that prove this.
"""
from __future__ import annotations

import math

import torch


class BatchedCartPole:
    """Cart-pole for a batch of environments: ``reset(initial_states)``, ``step(actions)``.

    Reward is 1 for every step an environment was alive at, including the one that terminates it.
    An environment is ``done`` once terminated (cart beyond +-2.4 or pole beyond +-12 degrees) or
    after ``max_steps`` steps (truncation, as the ``TimeLimit`` of CartPole-v1); a done environment
    is frozen: its state no longer changes and its reward is 0.
    """

    gravity = 9.8
    masscart = 1.0
    masspole = 0.1
    total_mass = masspole + masscart
    length = 0.5  # half the pole's length
    polemass_length = masspole * length
    force_mag = 10.0
    tau = 0.02
    theta_threshold_radians = 12 * 2 * math.pi / 360
    x_threshold = 2.4

    def __init__(self, max_steps: int = 500):
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        self.max_steps = int(max_steps)
        self.state: torch.Tensor | None = None

    def reset(self, initial_states: torch.Tensor) -> torch.Tensor:
        """Start every environment from ``initial_states [..., 4]``; returns float32 observations."""
        s = torch.as_tensor(initial_states)
        if s.shape[-1:] != (4,):
            raise ValueError(f"initial states must have shape [..., 4], got {tuple(s.shape)}")
        self.state = s.to(torch.float64).clone()
        batch = s.shape[:-1]
        self.terminated = torch.zeros(batch, dtype=torch.bool, device=s.device)
        self.done = torch.zeros(batch, dtype=torch.bool, device=s.device)
        #: steps each environment was alive for (= its return, = policy forwards it needed)
        self.lengths = torch.zeros(batch, dtype=torch.int64, device=s.device)
        self.steps = 0
        return self.observation()

    def observation(self) -> torch.Tensor:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        return self.state.to(torch.float32)

    @property
    def truncated(self) -> torch.Tensor:
        return self.done & ~self.terminated

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Apply ``actions [...]`` (1 / True = push right, 0 / False = push left) to every live
        environment. Returns ``(obs float32 [..., 4], reward float64 [...], terminated bool [...])``
        where ``terminated`` marks the environments that terminated at this step."""
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        actions = torch.as_tensor(actions, device=self.state.device)
        if actions.shape != self.done.shape:
            raise ValueError(f"actions must have shape {tuple(self.done.shape)}, got {tuple(actions.shape)}")
        alive = ~self.done
        x, x_dot, theta, theta_dot = self.state.unbind(-1)
        force = torch.where(actions.bool(), self.force_mag, -self.force_mag).to(torch.float64)
        costheta = torch.cos(theta)
        sintheta = torch.sin(theta)
        # Same expressions, same evaluation order as gymnasium's CartPoleEnv.step.
        temp = (force + self.polemass_length * (theta_dot * theta_dot) * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * (costheta * costheta) / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        new_state = torch.stack((x, x_dot, theta, theta_dot), dim=-1)
        self.state = torch.where(alive.unsqueeze(-1), new_state, self.state)

        out = ((x < -self.x_threshold) | (x > self.x_threshold)
               | (theta < -self.theta_threshold_radians) | (theta > self.theta_threshold_radians))
        terminated = alive & out
        reward = alive.to(torch.float64)
        self.lengths += alive
        self.steps += 1
        self.terminated |= terminated
        self.done = self.terminated | (self.lengths >= self.max_steps)
        return self.observation(), reward, terminated
