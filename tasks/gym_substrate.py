"""HyperNEAT substrates for the gym task, laid out from the body's geometry.

Why: HyperNEAT's CPPN computes a weight from the positions of the two nodes it connects, so it can
only exploit regularities that the layout exposes. For a MuJoCo body whose observation is its joint
positions and velocities (``[qpos[skip:], qvel]``: HalfCheetah, Hopper, Walker2d, Swimmer, the inverted
pendulums), each input node sits at the anchor of its joint in the reference pose, with one extra
coordinate telling positions (-1) from velocities (+1); each output node sits at the anchor of the
joint its actuator drives (extra coordinate 0). So a hip's angle, its velocity and its motor are
neighbours, and the left/right or front/back legs are translated copies of each other. Spatial axes
along which no joint moves (y for a planar body) are dropped; nodes that share an anchor (the root's
slide and hinge joints) are spread along the first axis. Hidden layers are grids over the body's
extent. Any other environment gets a line layout: inputs, hidden nodes and outputs evenly spaced on
[-1, 1].
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from evohyper.api.checks import MAX_LAYERS, Checks
from evohyper.families.hyperneat import Substrate, grid

_network = Checks("network")

SPREAD = 0.1  # distance between nodes that share an anchor (normalised units)
#: keys of ``network: {type: substrate, ...}``
SUBSTRATE_KEYS = ("type", "hidden", "activation", "output_activation", "bias")


def _mujoco_anchors(env: Any, obs_dim: int, act_dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Anchors ``[obs_dim, 3]`` of the observed joints, their kind (-1 position, +1 velocity), and the
    anchors ``[act_dim, 3]`` of the actuated joints; None if the observation is not ``[qpos[skip:], qvel]``
    of one-degree-of-freedom joints."""
    model = getattr(env.unwrapped, "model", None)
    if model is None or not hasattr(model, "jnt_qposadr"):
        return None
    import mujoco

    skip = model.nq + model.nv - obs_dim
    if not 0 <= skip <= model.nq or model.nu != act_dim or model.nq != model.nv:
        return None
    if np.any(model.jnt_type < int(mujoco.mjtJoint.mjJNT_SLIDE)) or np.any(model.actuator_trntype != 0):
        return None  # free/ball joints have several coordinates per joint; only joint actuators
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)  # the reference pose qpos0
    qpos_joint = {int(model.jnt_qposadr[j]): j for j in range(model.njnt)}
    observed = [qpos_joint[a] for a in range(skip, model.nq)] + [int(model.dof_jntid[d]) for d in range(model.nv)]
    kinds = np.array([-1.0] * (model.nq - skip) + [1.0] * model.nv)
    actuated = [int(j) for j in model.actuator_trnid[:, 0]]
    return data.xanchor[observed].copy(), kinds, data.xanchor[actuated].copy()


def _spread(points: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Nodes of one layer at the same place (and of the same kind) moved apart along the first axis."""
    groups: dict[tuple[float, ...], list[int]] = defaultdict(list)
    for i, (p, k) in enumerate(zip(points.round(9).tolist(), kinds.tolist())):
        groups[(*p, k)].append(i)
    out = points.copy()
    for members in groups.values():
        for rank, i in enumerate(members):
            out[i, 0] += SPREAD * (rank - (len(members) - 1) / 2)
    return out


def body_layers(env: Any, obs_dim: int, act_dim: int, hidden: list[list[int]]) -> Substrate:
    """The substrate of the module docstring for ``env`` (a gymnasium environment)."""
    found = _mujoco_anchors(env, obs_dim, act_dim)
    if found is None:
        line = [grid([obs_dim]), *[grid(shape) for shape in hidden], grid([act_dim])]
        return Substrate(line, shapes=[[obs_dim], *[list(s) for s in hidden], [act_dim]])
    inputs, kinds, outputs = found
    both = np.concatenate([inputs, outputs])
    axes = [a for a in range(3) if np.ptp(both[:, a]) > 1e-9] or [0]
    centre = (both[:, axes].max(0) + both[:, axes].min(0)) / 2
    scale = max(float(np.ptp(both[:, axes], axis=0).max()) / 2, 1e-9)
    inputs = (inputs[:, axes] - centre) / scale
    outputs = (outputs[:, axes] - centre) / scale
    inputs = _spread(inputs, kinds)
    outputs = _spread(outputs, np.zeros(len(outputs)))
    layers = [np.column_stack([inputs, kinds]).tolist()]
    for shape in hidden:
        if len(shape) != len(axes):
            _network.fail("hidden", hidden, f"grids over the body's {len(axes)} spatial axes "
                                            f"(a grid of shape {shape} has {len(shape)})")
        # grid() lists the fastest axis first; a layout axis a gets the grid's coordinate a
        layers.append([[*point, 0.0] for point in grid(shape)])
    layers.append(np.column_stack([outputs, np.zeros(len(outputs))]).tolist())
    return Substrate(layers)


def check_substrate_block(network: dict[str, Any]) -> list[list[int]]:
    """The ``hidden`` grids of a ``network: {type: substrate}`` block, after checking its keys."""
    network = _network.keys(network, SUBSTRATE_KEYS)
    hidden = network.get("hidden", [])
    ok = isinstance(hidden, list) and len(hidden) <= MAX_LAYERS and all(
        isinstance(s, list) and s and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in s)
        for s in hidden)
    if not ok:
        _network.fail("hidden", hidden, f"a list of at most {MAX_LAYERS} grid shapes such as [[3, 5]] "
                                         "(one per hidden layer) for type 'substrate'")
    _network.boolean("bias", network.get("bias", False))
    return hidden
