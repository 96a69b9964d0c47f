"""The `tune:` block of a search YAML: a meta-search over the search's own config keys.

Validated like the rest of the config, before Ray starts: every parameter path is checked by
substituting its candidate values (bounds, choices, grid values) into the base config and validating
that, so a typo in a dotted path or an out-of-range bound is reported as ``tune.params.<path>``.
No Ray here: the Ray Tune objects are built from this data in ``evohyper.tune``.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

from evohyper.api import registry
from evohyper.config.options import ConfigError
from evohyper.config.schema import validate_search

DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice", "grid")
SCHEDULERS = ("fifo", "asha", "pbt")
MODES = ("max", "min")
_SCHED_KEYS = {"fifo": ("name",),
               "asha": ("name", "grace_period", "reduction_factor", "brackets"),
               "pbt": ("name", "perturbation_interval", "hyperparam_mutations", "quantile_fraction",
                       "resample_probability", "synch")}
#: the metrics.csv columns in the task's own direction: ``tune.mode`` defaults to it for these only
FITNESS_COLUMNS = ("best_so_far", "best", "mean", "median", "worst")
_TUNE_KEYS = ("params", "num_samples", "metric", "mode", "scheduler", "max_concurrent_trials", "storage_path",
              "max_failures", "checkpoint_every", "keep_checkpoints", "driver_cpus", "num_cpus", "address",
              "seed", "reuse_actors")


@dataclass
class ParamSpec:
    """One searched key: ``{"uniform": [lo, hi]}``, ``{"loguniform": [lo, hi]}``, ``{"randint": [lo, hi)}``,
    ``{"choice": [a, b, ...]}`` or ``{"grid": [a, b, ...]}`` (every value, times num_samples)."""

    kind: str
    values: list[Any]

    def candidates(self) -> list[Any]:
        """Values that must all give a valid config (bounds of ranges, every listed value)."""
        if self.kind == "randint":
            return [self.values[0], self.values[1] - 1]
        return list(self.values)


@dataclass
class SchedulerSpec:
    name: str = "fifo"
    grace_period: int = 1
    reduction_factor: float = 2.0
    brackets: int = 1
    perturbation_interval: int = 2
    hyperparam_mutations: dict[str, ParamSpec] = field(default_factory=dict)
    quantile_fraction: float = 0.25
    resample_probability: float = 0.25
    synch: bool = False


@dataclass
class TuneSpec:
    params: dict[str, ParamSpec]
    num_samples: int = 1
    metric: str = "best_so_far"      # any column of metrics.csv; best_so_far = best fitness
    mode: str | None = None          # None: from the task's direction
    scheduler: SchedulerSpec = field(default_factory=SchedulerSpec)
    max_concurrent_trials: int | None = None
    storage_path: str = "tune_runs"
    max_failures: int = 2
    checkpoint_every: int = 1
    keep_checkpoints: int = 2
    driver_cpus: float = 1.0         # CPU bundle of the trial driver (runs the search loop)
    num_cpus: float | None = None    # size of the local Ray started by `evohyper tune`
    address: str | None = None       # join a cluster instead
    seed: int | None = None          # seeds Tune's random sampling of the space
    reuse_actors: bool = True        # Tune reuses a finished trial's driver process (saves a start-up)


NO_MUTABLE = "(none: use a strategy with mutable options, e.g. snes or xnes)"


def mutable_options(strategy: Any) -> tuple[str, ...]:
    """The options a running search of this strategy may change (``Strategy.mutable_options``): what
    PBT may mutate. An unknown strategy name has none (its own error comes from the search config)."""
    try:
        return tuple(registry.strategies.get(strategy).mutable_options) if isinstance(strategy, str) else ()
    except registry.UnknownComponentError:
        return ()


def _number(path: str, value: Any, *, integer: bool = False, low: float | None = None,
            low_open: bool = False, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    ok = ok and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if not ok:
        kind = "an int" if integer else "a number"
        bound = "" if low is None else f" {'>' if low_open else '>='} {low:g}"
        raise ConfigError(path, f"got {value!r}, expected {kind}{bound}" + (" or null" if optional else ""))
    return value


def _param(path: str, block: Any) -> ParamSpec:
    if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in DISTRIBUTIONS:
        raise ConfigError(path, f"got {block!r}, expected a mapping with one key, one of "
                                f"{', '.join(DISTRIBUTIONS)} (e.g. {{loguniform: [0.01, 1.0]}})")
    kind, values = next(iter(block.items()))
    where = f"{path}.{kind}"
    if not isinstance(values, list) or not values:
        raise ConfigError(where, f"got {values!r}, expected a non-empty list")
    if kind in ("uniform", "loguniform", "randint"):
        integer = kind == "randint"
        if len(values) != 2:
            raise ConfigError(where, f"got {values!r}, expected [low, high]")
        lo, hi = (_number(where, v, integer=integer) for v in values)
        if not lo < hi or (kind == "loguniform" and lo <= 0):
            need = "0 < low < high" if kind == "loguniform" else "low < high"
            raise ConfigError(where, f"got {values!r}, expected {need}" +
                              (" (randint's high is exclusive)" if integer else ""))
    return ParamSpec(kind, list(values))


def _set(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    node = out
    parts = dotted.split(".")
    for p in parts[:-1]:
        nxt = node.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ConfigError(dotted, f"cannot set a key inside the non-mapping value at {p!r}")
        node = nxt
    node[parts[-1]] = value
    return out


def apply_params(base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The base config (no tune block) with each dotted key set to its sampled value."""
    out = {k: v for k, v in base.items() if k != "tune"}
    for key in sorted(values):   # parents before children ("decoder" before "decoder.x")
        out = _set(out, key, values[key])
    return out


def _check_candidates(path: str, base: dict[str, Any], key: str, spec: ParamSpec) -> None:
    for value in spec.candidates():
        try:
            validate_search(apply_params(base, {key: value}))
        except ConfigError as exc:
            raise ConfigError(path, f"value {value!r} gives an invalid config: {exc}; allowed: a value "
                                    f"valid at config key {key!r}") from None


def _scheduler(raw: Any, base: dict[str, Any], params: dict[str, ParamSpec]) -> SchedulerSpec:
    path = "tune.scheduler"
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        raise ConfigError(path, f"got {raw!r}, expected a scheduler name or mapping")
    name = raw.get("name", "fifo")
    if name not in SCHEDULERS:
        raise ConfigError(f"{path}.name", f"got {name!r}, expected one of {', '.join(SCHEDULERS)}")
    for key in raw:
        if key not in _SCHED_KEYS[name]:
            raise ConfigError(f"{path}.{key}", f"unknown key for the {name} scheduler; "
                                               f"{registry.did_you_mean(key, _SCHED_KEYS[name])}allowed keys: "
                                               f"{', '.join(_SCHED_KEYS[name])}")
    s = SchedulerSpec(name=name)
    for key in ("grace_period", "brackets", "perturbation_interval"):
        if key in raw:
            setattr(s, key, _number(f"{path}.{key}", raw[key], integer=True, low=1))
    if "reduction_factor" in raw:
        s.reduction_factor = _number(f"{path}.reduction_factor", raw["reduction_factor"], low=1, low_open=True)
    for key in ("quantile_fraction", "resample_probability"):
        if key in raw:
            v = _number(f"{path}.{key}", raw[key], low=0)
            if v > (0.5 if key == "quantile_fraction" else 1):
                raise ConfigError(f"{path}.{key}", f"got {v!r}, expected a number in [0, "
                                                   f"{'0.5' if key == 'quantile_fraction' else '1'}]")
            setattr(s, key, v)
    if "synch" in raw:
        if not isinstance(raw["synch"], bool):
            raise ConfigError(f"{path}.synch", f"got {raw['synch']!r}, expected true or false")
        s.synch = raw["synch"]
    if name == "pbt":
        muts = raw.get("hyperparam_mutations")
        if not isinstance(muts, dict) or not muts:
            raise ConfigError(f"{path}.hyperparam_mutations", f"got {muts!r}, expected a non-empty mapping "
                                                              "of dotted config keys to distributions")
        strategy = base.get("strategy", {}).get("name") if isinstance(base.get("strategy"), dict) else None
        mutable = mutable_options(strategy)
        allowed = [f"strategy.{k}" for k in mutable]
        for key, block in muts.items():
            where = f"{path}.hyperparam_mutations.{key}"
            if key not in allowed:
                raise ConfigError(where, f"PBT cannot change {key!r} of a running {strategy!r} search; allowed "
                                         f"keys: {', '.join(allowed) or NO_MUTABLE}")
            spec = _param(where, block)
            if spec.kind == "grid":
                raise ConfigError(f"{where}.grid", "PBT mutations take uniform, loguniform, randint or choice")
            _check_candidates(where, base, key, spec)
            s.hyperparam_mutations[key] = spec
            if key not in params:  # PBT samples initial values from the same distribution
                params[key] = spec
    return s


def validate_tune(raw: dict[str, Any]) -> TuneSpec:
    """Validate ``raw["tune"]`` against the rest of ``raw`` (the base search config)."""
    block = raw["tune"]
    if not isinstance(block, dict):
        raise ConfigError("tune", f"got {block!r}, expected a mapping")
    for key in block:
        if key not in _TUNE_KEYS:
            raise ConfigError(f"tune.{key}", f"unknown key; {registry.did_you_mean(key, _TUNE_KEYS)}allowed keys: "
                                             f"{', '.join(_TUNE_KEYS)}")
    base = {k: v for k, v in raw.items() if k != "tune"}
    params_raw = block.get("params", {}) or {}
    if not isinstance(params_raw, dict):
        raise ConfigError(
            "tune.params",
            f"got {params_raw!r}, expected a mapping of dotted config keys (e.g. strategy.popsize) to distributions",
        )
    params: dict[str, ParamSpec] = {}
    for key, spec_raw in params_raw.items():
        path = f"tune.params.{key}"
        if not isinstance(key, str) or key.split(".")[0] in ("name", "tune"):
            raise ConfigError(path, "this key cannot be searched; allowed: any other config key by dotted path")
        spec = _param(path, spec_raw)
        _check_candidates(path, base, key, spec)
        params[key] = spec
    spec = TuneSpec(params=params)
    spec.scheduler = _scheduler(block.get("scheduler", "fifo"), base, params)
    if not params:
        raise ConfigError("tune.params", "expected at least one searched key (or scheduler hyperparam_mutations)")
    spec.num_samples = _number("tune.num_samples", block.get("num_samples", 1), integer=True, low=1)
    metric = block.get("metric", spec.metric)
    if not isinstance(metric, str) or not metric:
        raise ConfigError("tune.metric", f"got {metric!r}, expected a metric name such as best_so_far, best, mean")
    spec.metric = metric
    mode = block.get("mode")
    if mode is not None and mode not in MODES:
        raise ConfigError("tune.mode", f"got {mode!r}, expected one of max, min (or null: the task's direction)")
    if mode is None and metric not in FITNESS_COLUMNS:
        # a strategy's column (qd_score, coverage, hypervolume) or a task metric has no "task direction":
        # defaulting to it would minimise a QD score on a minimised task
        raise ConfigError("tune.mode", f"metric {metric!r} is not a fitness column ({', '.join(FITNESS_COLUMNS)}), "
                                       "so it has no task direction: give tune.mode: max or min (max for a "
                                       "quality-diversity qd_score or a hypervolume)")
    spec.mode = mode
    spec.max_concurrent_trials = _number(
        "tune.max_concurrent_trials", block.get("max_concurrent_trials"), integer=True, low=1, optional=True
    )
    storage = block.get("storage_path", spec.storage_path)
    if not isinstance(storage, str) or not storage:
        raise ConfigError("tune.storage_path", f"got {storage!r}, expected a directory path")
    spec.storage_path = storage
    spec.max_failures = _number("tune.max_failures", block.get("max_failures", 2), integer=True, low=-1)
    spec.checkpoint_every = _number("tune.checkpoint_every", block.get("checkpoint_every", 1), integer=True, low=1)
    spec.keep_checkpoints = _number("tune.keep_checkpoints", block.get("keep_checkpoints", 2), integer=True, low=1)
    spec.driver_cpus = _number("tune.driver_cpus", block.get("driver_cpus", 1.0), low=0, low_open=True)
    spec.num_cpus = _number("tune.num_cpus", block.get("num_cpus"), low=0, low_open=True, optional=True)
    spec.seed = _number("tune.seed", block.get("seed"), integer=True, low=0, optional=True)
    reuse = block.get("reuse_actors", True)
    if not isinstance(reuse, bool):
        raise ConfigError("tune.reuse_actors", f"got {reuse!r}, expected true or false")
    spec.reuse_actors = reuse
    address = block.get("address")
    if address is not None and not isinstance(address, str):
        raise ConfigError("tune.address", f"got {address!r}, expected 'auto', host:port or null")
    spec.address = address
    if spec.scheduler.name == "pbt" and spec.checkpoint_every > spec.scheduler.perturbation_interval:
        raise ConfigError(
            "tune.checkpoint_every",
            f"got {spec.checkpoint_every}, expected <= the PBT "
            f"perturbation_interval ({spec.scheduler.perturbation_interval})",
        )
    return spec
