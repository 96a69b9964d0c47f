"""``build(spec) -> Components``: the one place a task, a decoder and a strategy are made from config blocks.

Validation *is* this build (``evohyper.config.validate`` calls it), so every option error surfaces
before a run starts, located by its config key. The driver keeps the facts it needs (``info``,
``maximize``, ``trains_decoder``); every evaluator (in-process or a Ray actor) builds the task and the
decoder once more in its own process, on its own device, from the same plain-data ``ComponentsSpec``.
"""
from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Literal

from evohyper.api import registry
from evohyper.api.checks import OptionError
from evohyper.api.decoder import Decoder, DecoderInfo
from evohyper.api.registry import UnknownComponentError, component_name, did_you_mean
from evohyper.api.self_trained import SelfTrainedDecoder
from evohyper.api.strategy import Strategy, TrainingStrategy
from evohyper.api.task import Task, TaskInfo
from evohyper.config import memory
from evohyper.config.options import ConfigError, check_block


@dataclass
class ComponentsSpec:
    """Plain-data recipe of a search's components: what travels to evaluator actors (no objects)."""

    task: dict[str, Any]
    decoder: dict[str, Any]
    network: dict[str, Any] = field(default_factory=dict)
    strategy: dict[str, Any] | None = None   # None: an evaluator's build (task + decoder only)
    seed: int = 0
    on_error: Literal["strict", "lenient"] = "strict"
    plugins: list[str] = field(default_factory=list)  # modules imported first (they may register components)

    def without_strategy(self) -> ComponentsSpec:
        return ComponentsSpec(self.task, self.decoder, dict(self.network), None, self.seed, self.on_error,
                              list(self.plugins))


@dataclass
class Components:
    """A built task + decoder (+ strategy), and the facts about them the driver needs."""

    task: Task
    decoder: Decoder
    strategy: Strategy | None
    info: DecoderInfo        # what the decoder declares (the only facts a strategy reads from it)
    maximize: bool           # the task's direction
    trains_decoder: bool     # gradient training changes the decoder's own parameters (HyperGAN, GHN)


def _kwargs(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k != "name"}

#: per component kind: its registry and the constructor arguments the build supplies (not config options)
COMPONENTS: dict[str, tuple[registry.Registry, tuple[str, ...]]] = {
    "task": (registry.tasks, ()),
    "decoder": (registry.decoders, ("target",)),
    "strategy": (registry.strategies, ("genome_size", "seed")),
}


def _component(path: str, block: Any, reg: registry.Registry, skip: tuple[str, ...]) -> type:
    if not isinstance(block, dict) or "name" not in block:
        raise ConfigError(path, f"expected a mapping with a 'name' key; {reg.plural}: {', '.join(reg.names())}")
    if not isinstance(block["name"], str):
        raise ConfigError(f"{path}.name",
                          f"got {block['name']!r:.80}, expected a name, one of {', '.join(reg.names())}")
    try:
        cls = reg.get(block["name"])
    except UnknownComponentError as exc:
        raise ConfigError(f"{path}.name", str(exc)) from None
    check_block(path, block, cls, skip=skip, extra=("name",))
    return cls


def _option_path(path: str, text: str, options: dict[str, Any]) -> str:
    """``path.option`` when the component's message names exactly one of the options it was given
    (``option radius_init=...``, ``option 'episodes' must ...``), so the error points at the key; else ``path``.
    For components that raise a plain ValueError (a third party's); the built-ins raise ``OptionError``."""
    named = [k for k in options if re.search(rf"\boption '?{re.escape(k)}'?[= ]", text)]
    return f"{path}.{named[0]}" if len(named) == 1 else path


def construct(path: str, factory: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a constructor; its ValueError/TypeError becomes a ConfigError at ``path``, and so does a file it
    could not read (an option naming a bad path) or an allocation it could not make (an option asking for
    more memory than the machine has)."""
    try:
        return factory(*args, **kwargs)
    except OptionError as exc:   # the toolkit's refusals carry their key path
        raise ConfigError(exc.path, exc.detail) from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(_option_path(path, str(exc), kwargs), str(exc)) from None
    except OSError as exc:
        where = f" {str(exc.filename)[:120]!r}" if exc.filename else ""
        raise ConfigError(path, f"cannot read{where}: {exc.strerror or exc}") from None
    except (MemoryError, RuntimeError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if not isinstance(exc, MemoryError) and "allocate" not in text:
            raise
        raise ConfigError(path, f"its options ask for more memory than this machine has ({text[:200]})") from None


def _self_trained(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, SelfTrainedDecoder)


def _check_pair(strategy_cls: type, decoder_cls: type, spec: ComponentsSpec) -> None:
    """A strategy and a decoder whose genotypes do not match are refused here, naming the decoders that fit."""
    kind = getattr(decoder_cls, "genotype_kind", "vector")
    if strategy_cls.accepts(kind, _self_trained(decoder_cls)):
        return
    fits = [name for name in registry.decoders.names()
            if strategy_cls.accepts(getattr(registry.decoders.get(name), "genotype_kind", "vector"),
                                    _self_trained(registry.decoders.get(name)))]
    raise ConfigError("decoder.name", f"decoder {spec.decoder['name']!r} decodes {kind!r} genotypes, which strategy "
                                      f"{spec.strategy['name']!r} cannot search; decoders it can drive: "
                                      f"{', '.join(fits) or '(none registered)'}")


def _check_network(task_cls: type, network: dict[str, Any]) -> None:
    """Every ``network:`` key must be one the task reads (``Task.network_keys``)."""
    allowed = getattr(task_cls, "network_keys", None)
    if allowed is None:
        return
    for key in network:
        if key not in allowed:
            raise ConfigError(f"network.{key}", f"unknown key; {did_you_mean(key, allowed)}allowed keys: "
                                                f"{', '.join(sorted(allowed)) or '(none)'} (what task "
                                                f"{component_name(task_cls)!r} reads)")


#: what a strategy may ``consume``: the task's declaration it needs, and where the task declares it
_CONSUMED = {"descriptors": ("behaviour descriptors", "Task.descriptor_space"),
             "objectives": ("several objectives", "Task.objective_space")}


def check_task_info(spec: ComponentsSpec, info: TaskInfo) -> None:
    """A task's declarations must agree with its direction, and give the strategy what it ``consumes``."""
    task = spec.task["name"]
    if info.objectives:
        names = [o.name for o in info.objectives]
        if len(set(names)) != len(names):
            raise ConfigError("task.name", f"task {task!r} declares objectives {names}: names must be unique")
        if info.objectives[0].maximize != info.maximize:
            raise ConfigError("task.name", f"task {task!r} has maximize={info.maximize}, but its first objective "
                                           f"{names[0]!r} has maximize={info.objectives[0].maximize}: the fitness "
                                           "of a multi-objective task is its first objective")
        if info.reference_point is not None and len(info.reference_point) != len(names):
            raise ConfigError("task.name", f"task {task!r} declares a reference point of "
                                           f"{len(info.reference_point)} values for {len(names)} objectives")
    if spec.strategy is None:
        return
    cls = registry.strategies.get(spec.strategy["name"])
    for what in getattr(cls, "consumes", ()):
        needs, where = _CONSUMED.get(what, (what, "Task.info"))
        if not getattr(info, what, ()):
            raise ConfigError("strategy.name", f"strategy {spec.strategy['name']!r} needs {needs}; task {task!r} "
                                               f"declares none ({where})")


def build_strategy(spec: ComponentsSpec, info: DecoderInfo, cls: type | None = None,
                   task_info: TaskInfo | None = None) -> Strategy:
    """A fresh strategy of ``spec``, bound to ``info`` and to what the task declares (``task_info``;
    None: a task declaring nothing beyond one maximised objective), before any ask or checkpoint load
    (also: a new one after a failed checkpoint load)."""
    cls = cls or registry.strategies.get(spec.strategy["name"])
    strategy = construct("strategy", cls, info.genome_size, spec.seed, **_kwargs(spec.strategy))
    construct("strategy", strategy.bind, info)
    construct("strategy", strategy.bind_task, task_info if task_info is not None else TaskInfo())
    return strategy


def import_plugins(modules: list[str]) -> None:
    """Import user modules named in a config's ``plugins:`` (they may register components by decorator).
    Here, not in the core's registry: a module that imports names it gets from data is read by the import rule
    as importing every module it names, and the registry names entry-point groups that look like ours."""
    for module in modules:
        importlib.import_module(module)


def _cwd_importable() -> None:
    """User modules (``plugins:``, a gym ``env: "module:Id-v0"``) are found in the current directory, as under
    ``python -m`` and in Ray actors (``engine.runner.plugin_paths``); the ``evohyper`` console script
    does not put it on ``sys.path``. Appended, so it never shadows an installed module."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)


def build(spec: ComponentsSpec, evaluators: int | None = None) -> Components:
    """Construct the components of ``spec`` (the strategy too when ``spec.strategy`` is given) and bind
    the strategy to what the decoder declares. Every problem is a ConfigError naming its key.

    ``evaluators``: when given (validation), the memory the search needs with that many evaluators
    is estimated before the decoder and the strategy allocate anything (``config.memory``)."""
    _cwd_importable()
    for module in spec.plugins:
        try:
            import_plugins([module])
        except ImportError as exc:
            raise ConfigError("plugins", f"cannot import {module!r}: {exc}") from None
    task_cls = _component("task", spec.task, *COMPONENTS["task"])
    _check_network(task_cls, spec.network)
    decoder_cls = _component("decoder", spec.decoder, *COMPONENTS["decoder"])
    strategy_cls = None
    if spec.strategy is not None:
        strategy_cls = _component("strategy", spec.strategy, *COMPONENTS["strategy"])
        _check_pair(strategy_cls, decoder_cls, spec)
        if strategy_cls.needs_loss and not task_cls.differentiable():
            raise ConfigError("strategy.name",
                              f"strategy {spec.strategy['name']!r} trains by gradient, but task "
                              f"{spec.task['name']!r} defines no differentiable loss() and train_batches() "
                              "(NotDifferentiableError); use an evolution strategy for this task")
    task = construct("task", task_cls, **_kwargs(spec.task))
    target = construct("network", task.target, dict(spec.network))
    if evaluators is not None:
        memory.check_phenotype(target.num_params)
    task_info = task.info()
    check_task_info(spec, task_info)
    decoder = construct("decoder", decoder_cls, target, **_kwargs(spec.decoder))
    info = decoder.info()
    strategy = None
    if strategy_cls is not None:
        if evaluators is not None:   # before the strategy allocates anything
            genome = info.trained_size if strategy_cls.needs_loss and info.trained_size else info.genome_size
            memory.check_search(target.num_params, genome, strategy_cls, spec.strategy, evaluators)
        strategy = build_strategy(spec, info, strategy_cls, task_info)
    return Components(task=task, decoder=decoder, strategy=strategy, info=info, maximize=bool(type(task).maximize),
                      trains_decoder=isinstance(strategy, TrainingStrategy) and info.trained_size is not None)
