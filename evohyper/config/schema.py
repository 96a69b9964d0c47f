"""The search config: one YAML file per search, validated completely before anything starts."""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from evohyper.api import registry
from evohyper.config.options import ConfigError, check_block
from evohyper.config.budget import Budget
from evohyper.api.registry import UnknownComponentError, import_plugins


@dataclass
class BackendConfig:
    """Where evaluation runs. ``ray`` starts a local Ray on 127.0.0.1 unless ``address`` is given."""

    name: Literal["local", "ray"] = "local"
    device: str = "cpu"
    num_actors: int = 2
    num_cpus_per_actor: float = 1.0
    num_gpus_per_actor: float = 0.0
    address: str | None = None
    timeout_s: float = 300.0
    startup_timeout_s: float = 300.0
    max_retries: int = 3
    num_cpus: float | None = None   # size of a local Ray started by evohyper (default: all cores)
    driver_threads: int | None = 1  # torch threads of the driver while Ray evaluates (None: unchanged)

    def __post_init__(self) -> None:
        if self.num_actors < 1:
            raise ValueError(f"num_actors must be >= 1, got {self.num_actors}")
        if self.num_gpus_per_actor < 0 or self.num_cpus_per_actor <= 0:
            raise ValueError("num_cpus_per_actor must be > 0 and num_gpus_per_actor >= 0")
        if self.timeout_s <= 0 or self.max_retries < 0:
            raise ValueError("timeout_s must be > 0 and max_retries >= 0")
        if self.driver_threads is not None and self.driver_threads < 1:
            raise ValueError(f"driver_threads must be >= 1 or null, got {self.driver_threads}")


@dataclass
class EvaluationConfig:
    """What a task failure means: ``strict`` stops the run, ``lenient`` scores the individual worst."""

    on_error: Literal["strict", "lenient"] = "strict"


@dataclass
class OutputConfig:
    runs_dir: str = "runs"
    checkpoint_every: int = 1
    keep_checkpoints: int = 3
    tensorboard: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        if self.checkpoint_every < 1 or self.keep_checkpoints < 1:
            raise ValueError("checkpoint_every and keep_checkpoints must be >= 1")


SECTIONS = {"budget": Budget, "backend": BackendConfig, "evaluation": EvaluationConfig, "output": OutputConfig}
TOP_KEYS = ("name", "seed", "description", "plugins", "task", "network", "decoder", "strategy", *SECTIONS, "tune")


@dataclass
class Config:
    name: str
    seed: int
    task: dict[str, Any]
    strategy: dict[str, Any]
    budget: Budget
    decoder: dict[str, Any] = field(default_factory=lambda: {"name": "direct"})
    network: dict[str, Any] = field(default_factory=dict)
    backend: BackendConfig = field(default_factory=BackendConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    description: str = ""
    plugins: list[str] = field(default_factory=list)
    tune: dict[str, Any] | None = None   # the validated `tune:` block (meta-search), as written

    def to_dict(self) -> dict[str, Any]:
        """The resolved config (every default filled in), as written to a run directory."""
        out = asdict(self)
        if out["tune"] is None:
            del out["tune"]
        return out


def _component(path: str, block: Any, reg: registry.Registry, skip: tuple[str, ...]) -> type:
    if not isinstance(block, dict) or "name" not in block:
        raise ConfigError(path, f"expected a mapping with a 'name' key; {reg.kind}s: {', '.join(reg.names())}")
    try:
        cls = reg.get(block["name"])
    except UnknownComponentError as exc:
        raise ConfigError(f"{path}.name", str(exc)) from None
    check_block(path, block, cls, skip=skip, extra=("name",))
    return cls


def _kwargs(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k != "name"}


def _construct(path: str, factory: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return factory(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(path, str(exc)) from None


def validate(raw: Any) -> Config:
    """Check every key and value; dry-build task, decoder and strategy so range errors surface now."""
    if not isinstance(raw, dict):
        raise ConfigError("", f"a search config must be a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in TOP_KEYS:
            raise ConfigError(str(key), f"unknown key; allowed keys: {', '.join(TOP_KEYS)}")
    for key in ("name", "task", "strategy", "budget"):
        if key not in raw:
            raise ConfigError(key, "missing required key")
    if not isinstance(raw["name"], str) or not raw["name"]:
        raise ConfigError("name", f"got {raw['name']!r}, expected a non-empty string")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("seed", f"got {seed!r}, expected a non-negative int")
    plugins = raw.get("plugins", []) or []
    if not isinstance(plugins, list) or not all(isinstance(m, str) for m in plugins):
        raise ConfigError("plugins", f"got {plugins!r}, expected a list of module names")
    for module in plugins:
        try:
            import_plugins([module])
        except ImportError as exc:
            raise ConfigError("plugins", f"cannot import {module!r}: {exc}") from None
    network = raw.get("network", {}) or {}
    if not isinstance(network, dict):
        raise ConfigError("network", f"expected a mapping, got {network!r}")
    decoder_block = raw.get("decoder", {"name": "direct"})

    task_cls = _component("task", raw["task"], registry.tasks, ())
    dec_cls = _component("decoder", decoder_block, registry.decoders, ("target",))
    strat_cls = _component("strategy", raw["strategy"], registry.strategies, ("genome_size", "seed"))
    sections = {}
    for key, cls in SECTIONS.items():
        block = raw.get(key, {}) or {}
        check_block(key, block, cls)
        sections[key] = _construct(key, cls, **block)

    task = _construct("task", task_cls, **_kwargs(raw["task"]))
    target = _construct("network", task.target, dict(network))
    decoder = _construct("decoder", dec_cls, target, **_kwargs(decoder_block))
    strategy = _construct("strategy", strat_cls, decoder.genome_size, seed, **_kwargs(raw["strategy"]))
    _construct("strategy", strategy.bind_decoder, decoder)
    if getattr(strat_cls, "needs_loss", False) and not task_cls.differentiable():
        raise ConfigError("strategy.name",
                          f"strategy {raw['strategy']['name']!r} trains by gradient, but task "
                          f"{raw['task']['name']!r} defines no differentiable loss() and train_batches() "
                          "(NotDifferentiableError); use an evolution strategy for this task")
    if raw.get("tune") is not None:
        from evohyper.config.tune_schema import validate_tune
        validate_tune(raw)
    return Config(name=raw["name"], seed=seed, task=dict(raw["task"]), strategy=dict(raw["strategy"]),
                  decoder=dict(decoder_block), network=dict(network), description=raw.get("description", ""),
                  plugins=list(plugins), tune=copy.deepcopy(raw.get("tune")),
                  **sections)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``--set strategy.popsize=32`` style overrides; values are parsed as YAML scalars."""
    out = copy.deepcopy(raw)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(item, "an override must look like key.path=value")
        key, text = item.split("=", 1)
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(key, f"cannot set a key inside a non-mapping value at {p!r}")
        node[parts[-1]] = yaml.safe_load(text)
    return out


def load_raw(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError("", f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError("", f"{path} is not valid YAML: {exc}") from None
    return raw if raw is not None else {}


def load_config(path: str | Path, overrides: list[str] = ()) -> Config:
    return validate(apply_overrides(load_raw(path), list(overrides)))
