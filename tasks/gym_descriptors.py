"""Behaviour descriptors of the ``gym`` task (quality-diversity search; pyribs calls them *measures*).

A descriptor is read in the same rollout as the fitness, with no extra environment step: after every
time step the task hands each chosen extractor the rows of the episodes that just stepped (``update``),
and at the end of the call asks for one row per episode (``finish``). Finished episodes are never stepped
again, so they stop updating exactly as their returns stop counting. Each extractor works on all the live
environments of a step at once (numpy over rows; only reading MuJoCo's contact list is a loop over the
environments, as stepping them is).

Shipped (``DESCRIPTORS``; ``register`` adds one of your own):

- ``impact_x``, ``impact_y_velocity`` (LunarLander): pyribs' lunar-lander tutorial (CMA-ME, Fontaine et al.
  2020), exactly: at the first step after which either leg touches the ground (observation 6 or 7 non-zero),
  the lander's x position (observation 0) and y velocity (observation 3), both the observation's scaled
  values; a lander that never touches down gives the x position of its last step and the lowest (most
  negative) y velocity over its steps. Bounds: the tutorial's archive, [-1, 1] and [-3, 0].
- ``feet_contact`` (Hopper, Walker2d, HalfCheetah, Ant): per foot, the fraction of the episode's steps after
  which the foot touches the floor, the descriptor of QDax's locomotion tasks (``FeetContactWrapper``,
  Chalumeau et al. 2023) and of PGA-MAP-Elites (Nilsson and Cully 2021) on QDGym; feet as QDax names them
  (Hopper ``foot``; Walker2d ``foot``, ``foot_left``; HalfCheetah ``bfoot``, ``ffoot``; Ant its four ankles).
  Contact: a pair in MuJoCo's contact list (``data.contact``, the contacts of the step's last physics
  substep) between a foot geom and the ``floor`` geom whose constraint is active, ``dist < includemargin``
  (the floor pushes on the foot; with no contact gap in the model, as in all four, every listed contact
  is). QDax tests ``dist <= 0`` (brax); MuJoCo's contacts are soft and act from within the pair's margin,
  so that test would score an Ant standing still as never touching (it rests 0.0196 above the floor,
  inside its 0.02 margin). One column per foot, bounds [0, 1].
- ``final_x`` (the same walkers): the torso's x position at the episode's end (``data.qpos[0]``, the root
  joint), read when the call finishes (a finished episode's environment is never stepped again). Default
  bounds depend on how far a walker gets in 1,000 steps: [-5, 30] for Hopper and Walker2d (dt 0.008 s:
  8 s of simulation), [-50, 250] for HalfCheetah and Ant (dt 0.05 s: 50 s); ``descriptor_bounds`` overrides.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np


class Extractor:
    """One named descriptor of one environment: ``columns`` values per episode, each in ``bounds``.

    Lifecycle per ``evaluate`` call: ``start(envs)`` (the call's environments, one per episode row), then
    ``update(rows, obs)`` after every time step (``rows``: indices of the episodes that just stepped,
    ``obs``: every episode's latest observation ``[n, obs_dim]``, float64), then ``finish(lengths)`` ->
    ``[n, columns]`` float64.
    """

    name: ClassVar[str]
    #: environment names (``gymnasium`` spec names, without namespace and version) it applies to
    envs: ClassVar[tuple[str, ...]]
    #: default bounds of every column
    bounds: ClassVar[tuple[float, float]]

    def __init__(self, env: Any, env_name: str) -> None:
        """``env``: one environment of the task, to read its layout from (not kept); ``env_name``: its name."""
        self.column_names: tuple[str, ...] = (self.name,)

    @classmethod
    def default_bounds(cls, env_name: str) -> tuple[float, float]:
        return cls.bounds

    def start(self, envs: Sequence[Any]) -> None:
        raise NotImplementedError

    def update(self, rows: np.ndarray, obs: np.ndarray) -> None:  # noqa: B027 - optional per-step hook
        """Read what the step left (default: nothing; the value is read in ``finish``)."""

    def finish(self, lengths: np.ndarray) -> np.ndarray:
        raise NotImplementedError


# ----------------------------------------------------------------------------- LunarLander
class _Impact(Extractor):
    """The lander at its first touch-down (pyribs' lunar-lander tutorial); both columns share one pass."""

    envs = ("LunarLander",)
    column: ClassVar[int]  # 0: impact_x, 1: impact_y_velocity

    def start(self, envs: Sequence[Any]) -> None:
        n = len(envs)
        self.landed = np.zeros(n, dtype=bool)
        self.at_impact = np.zeros((n, 2))               # x, y velocity at the first touch-down
        self.last_x = np.zeros(n)
        self.min_vy = np.full(n, np.inf)

    def update(self, rows: np.ndarray, obs: np.ndarray) -> None:
        o = obs[rows]
        x, vy = o[:, 0], o[:, 3]
        first = ((o[:, 6] != 0) | (o[:, 7] != 0)) & ~self.landed[rows]
        hit = rows[first]
        self.at_impact[hit, 0], self.at_impact[hit, 1] = x[first], vy[first]
        self.landed[hit] = True
        self.last_x[rows] = x
        self.min_vy[rows] = np.minimum(self.min_vy[rows], vy)

    def finish(self, lengths: np.ndarray) -> np.ndarray:
        never = np.stack([self.last_x, self.min_vy], axis=1)
        return np.where(self.landed[:, None], self.at_impact, never)[:, self.column:self.column + 1]


class ImpactX(_Impact):
    name = "impact_x"
    bounds = (-1.0, 1.0)
    column = 0


class ImpactYVelocity(_Impact):
    name = "impact_y_velocity"
    bounds = (-3.0, 0.0)
    column = 1


# ----------------------------------------------------------------------------- MuJoCo walkers
#: foot geoms of gymnasium's v4/v5 models, in QDax's order (Ant: its four ankles, QDax's "$ Body 4/7/10/13")
FOOT_GEOMS = {
    "Hopper": ("foot_geom",),
    "Walker2d": ("foot_geom", "foot_left_geom"),
    "HalfCheetah": ("bfoot", "ffoot"),
    "Ant": ("left_ankle_geom", "right_ankle_geom", "third_ankle_geom", "fourth_ankle_geom"),
}
FLOOR_GEOM = "floor"
WALKERS = tuple(FOOT_GEOMS)


def _geom_id(model: Any, name: str, env_name: str) -> int:
    import mujoco

    index = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name)
    if index < 0:
        raise ValueError(f"{env_name}'s MuJoCo model has no geom {name!r}")
    return int(index)


class FeetContact(Extractor):
    """Fraction of steps each foot touches the floor (one column per foot)."""

    name = "feet_contact"
    envs = WALKERS
    bounds = (0.0, 1.0)

    def __init__(self, env: Any, env_name: str) -> None:
        model = env.unwrapped.model
        feet = [_geom_id(model, g, env_name) for g in FOOT_GEOMS[env_name]]
        self.floor = _geom_id(model, FLOOR_GEOM, env_name)
        self.foot_column = np.full(model.ngeom, -1, dtype=np.int64)   # geom id -> foot column (-1: not a foot)
        self.foot_column[feet] = np.arange(len(feet))
        # MuJoCo lists a pair only within its margin and includes it (dist < includemargin = margin - gap)
        # unless a gap is set: with no gap every listed contact is active, and reading ``dist`` and
        # ``includemargin`` (two more arrays per environment and step) can be skipped.
        gaps = [model.geom_gap[[*feet, self.floor]], model.pair_gap]
        self.read_margins = bool(any(np.any(g != 0) for g in gaps))
        self.column_names = tuple(f"{self.name}_{i}" for i in range(len(feet)))

    def start(self, envs: Sequence[Any]) -> None:
        self.data = [env.unwrapped.data for env in envs]
        self.counts = np.zeros((len(envs), len(self.column_names)), dtype=np.int64)

    def update(self, rows: np.ndarray, obs: np.ndarray) -> None:
        contacts = [self.data[i].contact for i in rows.tolist()]   # the per-environment work: MuJoCo's lists
        geoms = [c.geom for c in contacts]
        sizes = np.fromiter(map(len, geoms), dtype=np.int64, count=len(geoms))
        if not sizes.any():
            return
        geom = np.concatenate(geoms)                        # [all contacts of the step, 2]
        owner = np.repeat(rows, sizes)
        a, b = geom[:, 0], geom[:, 1]
        foot = np.where(a == self.floor, self.foot_column[b], np.where(b == self.floor, self.foot_column[a], -1))
        hit = foot >= 0
        if self.read_margins:
            hit &= np.concatenate([c.dist for c in contacts]) < np.concatenate([c.includemargin for c in contacts])
        touching = np.zeros_like(self.counts, dtype=bool)
        touching[owner[hit], foot[hit]] = True              # a foot with several contact points counts once
        self.counts[rows] += touching[rows]

    def finish(self, lengths: np.ndarray) -> np.ndarray:
        return self.counts / np.maximum(lengths, 1)[:, None]


class FinalX(Extractor):
    """The torso's x position when the episode ends."""

    name = "final_x"
    envs = WALKERS
    bounds = (-5.0, 30.0)
    long_bounds: ClassVar[tuple[float, float]] = (-50.0, 250.0)   # 50 s walkers (dt 0.05)

    @classmethod
    def default_bounds(cls, env_name: str) -> tuple[float, float]:
        return cls.long_bounds if env_name in ("HalfCheetah", "Ant") else cls.bounds

    def start(self, envs: Sequence[Any]) -> None:
        self.data = [env.unwrapped.data for env in envs]

    def finish(self, lengths: np.ndarray) -> np.ndarray:
        return np.array([[d.qpos[0]] for d in self.data], dtype=np.float64).reshape(-1, 1)


# ----------------------------------------------------------------------------- registry
DESCRIPTORS: dict[str, type[Extractor]] = {}


def register(extractor: type[Extractor]) -> type[Extractor]:
    """Add a descriptor of your own (usable as a class decorator)."""
    DESCRIPTORS[extractor.name] = extractor
    return extractor


for _cls in (ImpactX, ImpactYVelocity, FeetContact, FinalX):
    register(_cls)


def env_name(env: Any) -> str:
    """The environment's name without namespace and version (``LunarLander`` for ``LunarLander-v3``)."""
    return env.spec.name if env.spec is not None else type(env.unwrapped).__name__


def allowed_for(name: str) -> list[str]:
    """The descriptors that apply to environment ``name``."""
    return [d for d, cls in DESCRIPTORS.items() if name in cls.envs]


# ----------------------------------------------------------------------------- the task's options
def choose(env: Any, env_id: str, names: Any, bounds: Any, checks: Any) -> tuple[list[Extractor], list[tuple]]:
    """The extractors the ``descriptors`` option names for ``env`` and their columns
    ``(name, low, high)`` (``descriptor_bounds`` over the declared bounds), refusing with one line
    (``checks``: the task's ``Checks``) an unknown or inapplicable name, a repeat, or bad bounds."""
    kind = env_name(env)
    allowed = allowed_for(kind)
    shown = ", ".join(repr(a) for a in allowed) or "none (no descriptor is declared for this environment)"
    if names is None:
        names = []
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        checks.fail("descriptors", names, f"a list of descriptor names; for {env_id!r}: {shown}")
    for n in names:
        if n not in allowed:
            checks.fail("descriptors", n, f"descriptors of {env_id!r}: {shown}")
    if len(set(names)) != len(names):
        checks.fail("descriptors", list(names), "each descriptor at most once")
    overrides = {} if bounds is None else bounds
    if not isinstance(overrides, dict):
        checks.fail("descriptor_bounds", bounds, "a mapping {descriptor: [low, high]}")
    for key, pair in overrides.items():
        if key not in names:
            checks.fail(f"descriptor_bounds.{key}", pair,
                        f"bounds of a chosen descriptor: {', '.join(map(repr, names)) or 'none chosen'}")
        ok = (isinstance(pair, (list, tuple)) and len(pair) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in pair))
        if not (ok and pair[0] < pair[1]):
            checks.fail(f"descriptor_bounds.{key}", pair, "[low, high], finite numbers with low < high")
    extractors, columns = [], []
    for n in names:
        try:
            extractor = DESCRIPTORS[n](env, kind)
        except ValueError as exc:   # a model without the geoms the descriptor reads
            checks.refuse("descriptors", f"{n!r} cannot be read from {env_id!r}: {exc}")
        low, high = overrides.get(n, extractor.default_bounds(kind))
        extractors.append(extractor)
        columns += [(c, float(low), float(high)) for c in extractor.column_names]
    return extractors, columns
