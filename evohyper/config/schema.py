"""The search config: one YAML file per search, validated completely before anything starts.

``validate_search`` checks every section and builds the components (``config.build``): the build is
the validation. The ``tune:`` block is checked by ``tune_schema`` on top of it (``config.validate``).
"""
from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from evohyper.api.registry import did_you_mean
from evohyper.config import memory
from evohyper.config.budget import Budget
from evohyper.config.build import COMPONENTS, Components, ComponentsSpec, build, construct
from evohyper.config.loading import data_children, parse, walk
from evohyper.config.options import ConfigError, check_block, options_of
from evohyper.config.sections import BackendConfig, EvaluationConfig, OutputConfig

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
    #: the components validation built; the first search of this config takes them (see ``components``)
    built: Components | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config (every default filled in, the components' too), as written to a run directory."""
        out = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self) if f.name != "built"}
        for key in SECTIONS:
            out[key] = asdict(out[key])
        for key, reg, skip in _COMPONENTS:
            out[key] = _resolved(out[key], reg, skip)
        if out["tune"] is None:
            del out["tune"]
        return out

    def spec(self) -> ComponentsSpec:
        """The plain-data recipe of this search's components (what evaluator actors build from)."""
        return ComponentsSpec(task=dict(self.task), decoder=dict(self.decoder), network=dict(self.network),
                              strategy=dict(self.strategy), seed=self.seed, on_error=self.evaluation.on_error,
                              plugins=list(self.plugins))

    def components(self) -> Components:
        """The built components of one search. Validation built them, and the first call hands those over;
        a later call (a second search from the same config object) builds its own, since a strategy has
        state. Task and decoder are read-only for a search, so the expensive parts (data, weight files)
        are still loaded once per process."""
        built, self.built = self.built, None
        return built if built is not None else build(self.spec())


_COMPONENTS = tuple((kind, *COMPONENTS[kind]) for kind in ("task", "decoder", "strategy"))


def _plain(value: Any) -> Any:
    """A default as YAML data (tuples as lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _resolved(block: dict[str, Any], reg: Any, skip: tuple[str, ...]) -> dict[str, Any]:
    """A component block with every constructor option, defaults filled in, in signature order."""
    options = options_of(reg.get(block["name"]), skip)
    return {"name": block["name"], **{k: _plain(block.get(k, default)) for k, (_, default) in options.items()},
            **{k: v for k, v in block.items() if k not in options and k != "name"}}


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
NAME_MAX = 100


def _check_name(name: Any) -> None:
    """The name becomes a directory name (``runs_dir/<name>-<time>``): no separators, no traversal."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or len(name) > NAME_MAX:
        what = f"a string of {len(name)} characters" if isinstance(name, str) and len(name) > NAME_MAX else repr(name)
        raise ConfigError("name", f"got {what[:120]}, expected at most {NAME_MAX} letters, digits, '.', '_' or '-', "
                                  "starting with a letter or digit (it names the run directory)")


def validate_search(raw: Any) -> Config:
    """Check every key and value of a search config (its ``tune:`` block aside) and build its components."""
    if not isinstance(raw, dict):
        raise ConfigError("", f"a search config must be a mapping, got {type(raw).__name__}")
    walk(raw, data_children)
    for key in raw:
        if key not in TOP_KEYS:
            raise ConfigError(str(key), f"unknown key; {did_you_mean(key, TOP_KEYS)}allowed keys: "
                                        f"{', '.join(TOP_KEYS)}")
    for key in ("name", "task", "strategy", "budget"):
        if key not in raw:
            raise ConfigError(key, "missing required key")
    _check_name(raw["name"])
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ConfigError("seed", f"got {seed!r}, expected a non-negative int below 2**63 (a signed 64-bit integer)")
    if not isinstance(raw.get("description", ""), str):
        raise ConfigError("description", f"got a {type(raw['description']).__name__}, expected a string")
    plugins = raw.get("plugins", []) or []
    if not isinstance(plugins, list) or not all(isinstance(m, str) for m in plugins):
        raise ConfigError("plugins", f"got {plugins!r}, expected a list of module names")
    network = raw.get("network", {}) or {}
    if not isinstance(network, dict):
        raise ConfigError("network", f"expected a mapping, got {network!r}")
    decoder_block = raw.get("decoder", {"name": "direct"})
    if decoder_block is None:
        decoder_block = {"name": "direct"}
    sections = {}
    for key, cls in SECTIONS.items():
        block = raw.get(key, {}) or {}
        check_block(key, block, cls)
        sections[key] = construct(key, cls, **block)
    for key, block in (("task", raw["task"]), ("strategy", raw["strategy"]), ("decoder", decoder_block)):
        if not isinstance(block, dict):
            raise ConfigError(key, f"expected a mapping with a 'name' key, got {block!r:.80}")
    config = Config(name=raw["name"], seed=seed, task=dict(raw["task"]), strategy=dict(raw["strategy"]),
                    decoder=dict(decoder_block),
                    network=dict(network), description=raw.get("description", ""), plugins=list(plugins),
                    tune=copy.deepcopy(raw.get("tune")), **sections)
    with memory.build_cap():
        config.built = build(config.spec(), evaluators=config.backend.num_actors if config.backend.name == "ray" else 1)
    return config


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``--set strategy.popsize=32`` style overrides; values are parsed as YAML scalars."""
    if overrides and not isinstance(raw, dict):
        raise ConfigError("", f"a search config must be a mapping, got {type(raw).__name__}")
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
        node[parts[-1]] = parse(text, f"the value of --set {key}") if text.strip() else None
    return out


