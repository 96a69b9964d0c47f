"""The gym task's objectives (issue 23): ``objectives: [return, action_cost]`` makes it a two-objective task.

``return`` is the episode return (maximised, the task's fitness); ``action_cost`` is the mean absolute action
per step of the episode (minimised): each step's ``|a|`` averaged over the action's dimensions (the action the
environment received, after clipping or tanh squashing into its bounds), averaged over the episode's steps.
Only continuous (Box) actions have a magnitude; a discrete action space is refused.

The reference point (``reference_point``): the worst value each objective can take, so that every policy
counts and the hypervolume is the part of that box the front dominates:
- ``action_cost``: the largest action magnitude every step, ``mean_d max(|low_d|, |high_d|)`` (actions never
  leave the bounds); none for unbounded actions.
- ``return``: ``max_steps x`` the environment's lowest reward per step (minus ``decrease_rewards_by``), for the
  environments whose lowest reward is known from their source (``WORST_STEP_REWARD``: Pendulum-v1 is
  ``-(pi^2 + 0.1 x 8^2 + 0.001 x 2^2)``, the largest angle, speed and torque); none for the others.
Where one value is unknown the task declares no reference point, and a config must give one
(``task.reference_point`` or ``strategy.reference_point``, in each objective's own direction).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from evohyper.api.checks import MAX_MAGNITUDE, Checks
from evohyper.api.task import Objective

OBJECTIVES = {"return": Objective("return", maximize=True), "action_cost": Objective("action_cost", maximize=False)}

#: the lowest reward of one step, read from each environment's source (gymnasium 1.x)
WORST_STEP_REWARD = {
    "Pendulum-v1": -(math.pi ** 2 + 0.1 * 8.0 ** 2 + 0.001 * 2.0 ** 2),   # angle in [-pi, pi], speed <= 8, torque <= 2
    "MountainCarContinuous-v0": -0.1,   # -0.1 a^2 with |a| <= 1; +100 at the goal
    "InvertedPendulum-v4": 0.0,         # 1 per step alive, 0 on the terminating step
    "InvertedPendulum-v5": 0.0,
}


def choose(names: Any, reference: Any, checks: Checks, *, env_id: str, discrete: bool, low: np.ndarray | None,
           high: np.ndarray | None, max_steps: int, decrease: float) -> tuple[tuple[Objective, ...],
                                                                             tuple[float, ...] | None]:
    """The declared objectives and reference point for the ``objectives`` and ``reference_point`` options."""
    if names is None:
        if reference is not None:
            checks.fail("reference_point", reference, "null without objectives (a single-objective task has none)")
        return (), None
    allowed = f"a list of distinct names from {list(OBJECTIVES)} starting with 'return' (the fitness), or null"
    if not (isinstance(names, (list, tuple)) and names and names[0] == "return" and len(set(names)) == len(names)
            and all(n in OBJECTIVES for n in names)):
        checks.fail("objectives", names, allowed)
    if "action_cost" in names and discrete:
        checks.refuse("objectives", f"{list(names)!r}: 'action_cost' needs continuous (Box) actions; "
                                    f"{env_id!r} has discrete actions")
    objectives = tuple(OBJECTIVES[n] for n in names)
    if reference is not None:
        if not (isinstance(reference, (list, tuple)) and len(reference) == len(names) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= MAX_MAGNITUDE * 1e3
                for v in reference)):
            checks.fail("reference_point", reference, f"{len(names)} finite numbers, one per objective {list(names)}")
        return objectives, tuple(float(v) for v in reference)
    values = []
    for name in names:
        if name == "return":
            worst = WORST_STEP_REWARD.get(env_id)
            values.append(None if worst is None else min(0.0, worst - decrease) * max_steps)
        else:
            bound = np.maximum(np.abs(low), np.abs(high))
            values.append(float(bound.mean()) if np.isfinite(bound).all() else None)
    return objectives, None if any(v is None for v in values) else tuple(values)


def step_magnitude(actions: Any, n: int) -> np.ndarray:
    """``[n]`` float64: each row's mean absolute action (over the action's dimensions)."""
    return np.abs(np.asarray(actions, dtype=np.float64).reshape(n, -1)).mean(axis=1)
