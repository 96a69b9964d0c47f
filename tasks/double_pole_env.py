"""A batched cart with one or two poles (Wieland 1991), the neuroevolution benchmark's dynamics, in torch.

Every environment of a batch ``[...]`` (typically ``[P, E]``: P policies x E episodes) steps at once, in
float64. The state is ``(x, x_dot, theta_1, theta_1_dot[, theta_2, theta_2_dot])`` (metres, m/s, radians,
rad/s; angles from the vertical, positive to the right).

Equations of motion: Wieland's (1991) for N independent poles hinged on one cart, with hinge friction
``mu_p`` and cart-track friction ``mu_c``, each pole ``i`` of mass ``m_i`` and half-length ``l_i``::

    F~_i = m_i l_i theta_i_dot^2 sin(theta_i) + 3/4 m_i cos(theta_i) (mu_p theta_i_dot / (m_i l_i) + g sin(theta_i))
    m~_i = m_i (1 - 3/4 cos^2(theta_i))
    x_acc = (F - mu_c sgn(x_dot) + sum_i F~_i) / (M + sum_i m~_i)
    theta_i_acc = -3/(4 l_i) (x_acc cos(theta_i) + g sin(theta_i) + mu_p theta_i_dot / (m_i l_i))

with g = -9.8 (the sign convention of the sources). Integration: classical 4th-order Runge-Kutta with
h = 0.01 s, two steps per action (one action holds its force for 0.02 s), as Gomez's code does (NEAT's
``pole2`` experiment and Shark's ``DoublePole``, both derived from it). Sources and choices: the module
docstring of ``evohyper_tasks.double_pole``.

Two implementations of the same step, chosen by device: on the CPU one compiled numba kernel advances every
live environment of the batch (a loop over environments inside machine code; torch's eager ops cost a
few microseconds each, and one action is ~300 of them: 100,000 steps would take minutes); on other
devices (or without numba) the same equations as batched torch ops. Tests hold both to an independent
reference implementation.
"""
from __future__ import annotations

import math

import numpy as np
import torch

try:  # the CPU kernel; without numba every device uses the torch path
    import numba
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None

GRAVITY = -9.8                 # m/s^2, the sources' sign convention
CART_MASS = 1.0                # kg
POLE_MASSES = (0.1, 0.01)      # kg: long pole, short pole
HALF_LENGTHS = (0.5, 0.05)     # m: half of each pole's length
HINGE_FRICTION = 0.000002      # mu_p
CART_FRICTION = 0.0005         # mu_c
FORCE_MAG = 10.0               # N at action +-1
TAU = 0.01                     # s per Runge-Kutta step
SUBSTEPS = 2                   # Runge-Kutta steps per action (0.02 s)
TRACK_LIMIT = 2.4              # m
FAILURE_ANGLES = {1: math.radians(12.0), 2: math.radians(36.0)}  # radians, by number of poles
JIGGLE_WINDOW = 100            # steps in Gruau's damping sum


class BatchedPoles:
    """``poles`` (1 or 2) poles on a cart for a batch of environments: ``reset(states)``, ``step(actions)``.

    An environment fails when ``|x| > 2.4`` or any ``|theta_i| >`` the failure angle after an action (a
    non-finite state fails too); it is ``done`` once failed or after ``max_steps`` balanced steps, and a
    done environment is frozen (its state no longer changes). ``balanced`` counts the steps after which an
    environment was still within bounds (the failing step is not counted); ``forwards`` counts the actions
    it took (the failing one included). ``jiggle=True`` keeps, per environment, the last
    ``JIGGLE_WINDOW`` values of ``|x| + |x_dot| + |theta_1| + |theta_1_dot|`` after balanced steps (Gruau's
    damping term; ``jiggle_sum()``).
    """

    def __init__(self, poles: int = 2, max_steps: int = 100_000, failure_angle: float | None = None,
                 jiggle: bool = False, backend: str = "auto", observe: tuple[int, ...] | None = None,
                 obs_scale: tuple[float, ...] | None = None, obs_dtype: torch.dtype = torch.float32):
        if poles not in (1, 2):
            raise ValueError(f"poles must be 1 or 2, got {poles}")
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        if backend not in ("auto", "torch", "numba"):
            raise ValueError(f"backend must be 'auto', 'torch' or 'numba', got {backend!r}")
        if backend == "numba" and numba is None:
            raise ValueError("backend 'numba' needs the numba package")
        self.poles, self.max_steps, self.backend = int(poles), int(max_steps), backend
        self.state_dim = 2 + 2 * self.poles
        self.failure_angle = FAILURE_ANGLES[self.poles] if failure_angle is None else float(failure_angle)
        self.keep_jiggle = bool(jiggle)
        self.obs_index = tuple(range(self.state_dim)) if observe is None else tuple(int(i) for i in observe)
        self.obs_scale = (1.0,) * len(self.obs_index) if obs_scale is None else tuple(float(v) for v in obs_scale)
        if len(self.obs_scale) != len(self.obs_index) or not all(0 <= i < self.state_dim for i in self.obs_index):
            raise ValueError(f"observe {observe!r} / obs_scale {obs_scale!r}: one scale per state index "
                             f"in [0, {self.state_dim})")
        self.obs_dtype = obs_dtype
        self._np_obs = (np.array(self.obs_index, dtype=np.int64), np.array(self.obs_scale, dtype=np.float64))
        self._masses = np.array(POLE_MASSES[:self.poles], dtype=np.float64)
        self._lengths = np.array(HALF_LENGTHS[:self.poles], dtype=np.float64)
        self._set_constants(torch.device("cpu"))
        self.state: torch.Tensor | None = None

    # ------------------------------------------------------------------ dynamics (torch)
    def _set_constants(self, device: torch.device) -> None:
        m = torch.tensor(self._masses, dtype=torch.float64, device=device)
        l_ = torch.tensor(self._lengths, dtype=torch.float64, device=device)
        self._m, self._ml, self._mup_ml = m, m * l_, HINGE_FRICTION / (m * l_)
        self._m075, self._l075 = 0.75 * m, -0.75 / l_

    def derivatives(self, y: torch.Tensor, force: torch.Tensor) -> torch.Tensor:
        """``dy/dt [..., D]`` of states ``y [..., D]`` under ``force [...]`` (newtons), Wieland's equations."""
        x_dot = y[..., 1]
        theta, theta_dot = y[..., 2::2], y[..., 3::2]                  # [..., N]
        sin, cos = torch.sin(theta), torch.cos(theta)
        g_sin = GRAVITY * sin
        friction = self._mup_ml * theta_dot
        eff_force = self._ml * theta_dot * theta_dot * sin + self._m075 * cos * (friction + g_sin)
        eff_mass = self._m - self._m075 * cos * cos
        x_acc = (force - CART_FRICTION * torch.sign(x_dot) + eff_force.sum(-1)) / (CART_MASS + eff_mass.sum(-1))
        theta_acc = self._l075 * (x_acc.unsqueeze(-1) * cos + g_sin + friction)
        poles = torch.stack((theta_dot, theta_acc), dim=-1).flatten(-2)  # [..., 2N]: (theta_dot, theta_acc)_i
        return torch.cat((x_dot.unsqueeze(-1), x_acc.unsqueeze(-1), poles), dim=-1)

    def integrate(self, y: torch.Tensor, force: torch.Tensor) -> torch.Tensor:
        """The state one action (``SUBSTEPS`` Runge-Kutta steps of ``TAU``) after ``y`` under a constant force."""
        h, half = TAU, TAU / 2
        for _ in range(SUBSTEPS):
            k1 = self.derivatives(y, force)
            k2 = self.derivatives(torch.add(y, k1, alpha=half), force)
            k3 = self.derivatives(torch.add(y, k2, alpha=half), force)
            k4 = self.derivatives(torch.add(y, k3, alpha=h), force)
            y = y + (h / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)
        return y

    def out_of_bounds(self, y: torch.Tensor) -> torch.Tensor:
        """``[...]`` True where the cart left the track or a pole passed the failure angle (or not finite)."""
        inside = (y[..., 0].abs() <= TRACK_LIMIT) & (y[..., 2::2].abs() <= self.failure_angle).all(-1)
        return ~inside

    # ------------------------------------------------------------------ episodes
    def reset(self, initial_states: torch.Tensor) -> torch.Tensor:
        """Start every environment from ``initial_states [..., D]``; returns the float64 states."""
        s = torch.as_tensor(initial_states)
        if s.shape[-1:] != (self.state_dim,):
            raise ValueError(f"initial states of {self.poles} pole(s) must have shape [..., {self.state_dim}], "
                             f"got {tuple(s.shape)}")
        self.state = s.to(torch.float64).clone(memory_format=torch.contiguous_format)
        device = self.state.device
        if self._m.device != device:
            self._set_constants(device)
        batch = s.shape[:-1]
        self.failed = torch.zeros(batch, dtype=torch.bool, device=device)
        self.done = torch.zeros(batch, dtype=torch.bool, device=device)
        self.balanced = torch.zeros(batch, dtype=torch.int64, device=device)
        self.forwards = torch.zeros(batch, dtype=torch.int64, device=device)
        self.jiggle = torch.zeros((*batch, JIGGLE_WINDOW if self.keep_jiggle else 0), dtype=torch.float64,
                                  device=device)
        self._index = torch.tensor(self.obs_index, dtype=torch.int64, device=device)
        self._scale = torch.tensor(self.obs_scale, dtype=torch.float64, device=device)
        self.obs = self.observation(self.state).contiguous()
        self.live = int(self.done.numel())
        self.steps = 0
        self._use_numba = numba is not None and device.type == "cpu" and self.backend != "torch"
        if self._use_numba:
            flat = self.done.numel()
            self._np = (self.done.view(flat).numpy(), self.failed.view(flat).numpy(),
                        self.balanced.view(flat).numpy(), self.forwards.view(flat).numpy(),
                        self.jiggle.view(flat, self.jiggle.shape[-1]).numpy(),
                        self.obs.view(flat, len(self.obs_index)).numpy(), *self._np_obs)
            self._np_state = self.state.view(flat, self.state_dim).numpy()
        return self.state

    @property
    def uses_kernel(self) -> bool:
        """True when ``step`` runs the compiled CPU kernel (set by ``reset``: a CPU batch with numba)."""
        return bool(getattr(self, "_use_numba", False))

    def kernel_arrays(self) -> tuple:
        """The numpy views a compiled rollout steps in place (``double_pole_fused``): states ``[B, D]``, done,
        failed, balanced, forwards ``[B]``, jiggle ``[B, W]``, observations ``[B, obs]``, observed indices and
        scales, then the poles' masses and half-lengths, the failure angle and ``max_steps``."""
        if not self.uses_kernel:
            raise RuntimeError("kernel_arrays(): reset() a CPU batch with numba first")
        return (self._np_state, *self._np, self._masses, self._lengths, self.failure_angle, self.max_steps)

    def observation(self, state: torch.Tensor) -> torch.Tensor:
        """``state[..., observe] / obs_scale`` in ``obs_dtype``: what the policy sees."""
        return (state.index_select(-1, self._index) / self._scale).to(self.obs_dtype)

    def step(self, actions: torch.Tensor) -> torch.Tensor:
        """Apply ``actions [...]`` (clamped to [-1, 1]; force = 10 N x action) to every live environment;
        returns the float64 states ``[..., D]``. ``live`` is then the number of environments not done and
        ``obs`` the observations of the new states."""
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        actions = torch.as_tensor(actions, device=self.state.device)
        if actions.shape != self.done.shape:
            raise ValueError(f"actions must have shape {tuple(self.done.shape)}, got {tuple(actions.shape)}")
        if self._use_numba:
            a = actions.detach().reshape(-1).to(torch.float64)
            self.live = int(_advance(self._np_state, a.contiguous().numpy(), *self._np, self._masses,
                                     self._lengths, self.failure_angle, self.max_steps))
        else:
            self._step_torch(actions)
        self.steps += 1
        return self.state

    def _step_torch(self, actions: torch.Tensor) -> None:
        alive = ~self.done
        force = FORCE_MAG * actions.to(torch.float64).clamp(-1.0, 1.0)
        new = self.integrate(self.state, force)
        self.state.copy_(torch.where(alive.unsqueeze(-1), new, self.state))
        ok = alive & ~self.out_of_bounds(new)
        if self.keep_jiggle:
            slot = (self.balanced % JIGGLE_WINDOW).unsqueeze(-1)
            value = new[..., 0].abs() + new[..., 1].abs() + new[..., 2].abs() + new[..., 3].abs()
            old = self.jiggle.gather(-1, slot).squeeze(-1)
            self.jiggle.scatter_(-1, slot, torch.where(ok, value, old).unsqueeze(-1))
        self.forwards += alive
        self.balanced += ok
        self.failed |= alive & ~ok
        self.done.copy_(self.failed | (self.balanced >= self.max_steps))
        self.obs.copy_(self.observation(self.state))
        self.live = int((~self.done).sum())

    def jiggle_sum(self) -> torch.Tensor:
        """``[...]``: the sum of ``|x| + |x_dot| + |theta_1| + |theta_1_dot|`` over the last ``JIGGLE_WINDOW``
        balanced steps (over all balanced steps when fewer)."""
        if not self.keep_jiggle:
            raise RuntimeError("jiggle=True was not set")
        return self.jiggle.sum(-1)


# ---------------------------------------------------------------------- the CPU kernel
# The CPU kernel: the same equations and the same Runge-Kutta as the torch path, one environment at a time
# inside machine code (``numba.njit``, compiled at the first call and cached on disk in __pycache__). It also
# writes each environment's observation (``state[obs_index] / obs_scale``) for the next policy forward.
def _derivatives(y, force, masses, lengths, sin, cos, out):
    n = masses.shape[0]
    num = force - CART_FRICTION * np.sign(y[1])
    den = CART_MASS
    for i in range(n):
        thd, m, l_ = y[3 + 2 * i], masses[i], lengths[i]
        s, c = np.sin(y[2 + 2 * i]), np.cos(y[2 + 2 * i])
        sin[i], cos[i] = s, c
        num += (m * l_) * thd * thd * s + (0.75 * m) * c * ((HINGE_FRICTION / (m * l_)) * thd + GRAVITY * s)
        den += m - (0.75 * m) * c * c
    x_acc = num / den
    out[0] = y[1]
    out[1] = x_acc
    for i in range(n):
        thd, m, l_ = y[3 + 2 * i], masses[i], lengths[i]
        out[2 + 2 * i] = thd
        out[3 + 2 * i] = (-0.75 / l_) * (x_acc * cos[i] + GRAVITY * sin[i] + (HINGE_FRICTION / (m * l_)) * thd)

def advance_env(b, a, state, done, failed, balanced, forwards, jiggle, obs, obs_index, obs_scale, masses, lengths,
                 failure_angle, max_steps, y, yt, k1, k2, k3, k4, sin, cos):
    """Environment ``b`` one action ``a`` further (clamped to [-1, 1]); True while it is still live. Shared by
    ``_advance`` (a batch after a policy forward) and the fused rollout (``double_pole_fused``)."""
    dim = state.shape[1]
    window = jiggle.shape[1]
    if a > 1.0:
        a = 1.0
    elif a < -1.0:
        a = -1.0
    force = FORCE_MAG * a
    for j in range(dim):
        y[j] = state[b, j]
    for _ in range(SUBSTEPS):
        _derivatives(y, force, masses, lengths, sin, cos, k1)
        for j in range(dim):
            yt[j] = y[j] + (TAU / 2) * k1[j]
        _derivatives(yt, force, masses, lengths, sin, cos, k2)
        for j in range(dim):
            yt[j] = y[j] + (TAU / 2) * k2[j]
        _derivatives(yt, force, masses, lengths, sin, cos, k3)
        for j in range(dim):
            yt[j] = y[j] + TAU * k3[j]
        _derivatives(yt, force, masses, lengths, sin, cos, k4)
        for j in range(dim):
            y[j] = y[j] + (TAU / 6.0) * (k1[j] + 2.0 * (k2[j] + k3[j]) + k4[j])
    for j in range(dim):
        state[b, j] = y[j]
    for j in range(obs_index.shape[0]):
        obs[b, j] = y[obs_index[j]] / obs_scale[j]
    forwards[b] += 1
    inside = abs(y[0]) <= TRACK_LIMIT
    for i in range((dim - 2) // 2):
        inside = inside and abs(y[2 + 2 * i]) <= failure_angle
    if not inside:
        failed[b] = True
        done[b] = True
        return False
    if window > 0:
        jiggle[b, balanced[b] % window] = abs(y[0]) + abs(y[1]) + abs(y[2]) + abs(y[3])
    balanced[b] += 1
    if balanced[b] >= max_steps:
        done[b] = True
        return False
    return True


def _advance_py(state, actions, done, failed, balanced, forwards, jiggle, obs, obs_index, obs_scale, masses,
                lengths, failure_angle, max_steps):
    dim = state.shape[1]
    y, yt = np.empty(dim), np.empty(dim)
    k1, k2, k3, k4 = np.empty(dim), np.empty(dim), np.empty(dim), np.empty(dim)
    sin, cos = np.empty(masses.shape[0]), np.empty(masses.shape[0])
    live = 0
    for b in range(state.shape[0]):
        if done[b]:
            continue
        if advance_env(b, np.float64(actions[b]), state, done, failed, balanced, forwards, jiggle, obs, obs_index,
                        obs_scale, masses, lengths, failure_angle, max_steps, y, yt, k1, k2, k3, k4, sin, cos):
            live += 1
    return live


if numba is not None:
    _derivatives = numba.njit(cache=True)(_derivatives)
    advance_env = numba.njit(cache=True)(advance_env)
    _advance = numba.njit(cache=True)(_advance_py)
else:  # pragma: no cover - numba is a dependency
    _advance = None
