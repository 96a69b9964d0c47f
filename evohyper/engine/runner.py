"""Builds a Search from a validated Config, with its run directory and observers; runs and resumes it."""
from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any

import yaml

from evohyper.config import Components, Config, ConfigError, apply_overrides, load_raw, validate
from evohyper.config.budget import Budget
from evohyper.config.build import build_strategy
from evohyper.config.options import options_of
from evohyper.engine.checkpoint import list_checkpoints, load_latest
from evohyper.engine.observers import (
    BestExporter,
    Checkpointer,
    CsvLogger,
    DecoderExporter,
    ErrorLog,
    ProgressBar,
    TensorBoardLogger,
)
from evohyper.engine.observers.reevaluation import Reevaluator, driver_evaluate, reevaluation_enabled
from evohyper.engine.search import Search, SearchResult

log = logging.getLogger("evohyper.run")
CONFIG_FILE = "config.yaml"


def make_backend(config: Config, components: Components) -> Any:
    """The configured backend; the in-process one evaluates with the components already built here."""
    spec = config.spec().without_strategy()
    if config.backend.name == "local":
        from evohyper.engine.backends.local import LocalBackend
        from evohyper.engine.threads import choose
        return LocalBackend(spec, device=config.backend.evaluation_device(), components=components,
                            threads=choose(config.backend).evaluator)
    from evohyper.engine.backends.ray import RayBackend  # Ray is imported only when asked for
    return RayBackend(spec, config.backend, sys_path=plugin_paths())


def plugin_paths() -> list[str]:
    """Where a driver finds user modules (cwd, PYTHONPATH): actors on this machine look there too."""
    return [os.getcwd(), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]


def build_search(config: Config, run_dir: Path | None, observers: bool = True,
                 components: Components | None = None) -> Search:
    """Everything a search needs; ``run_dir=None`` gives a bare search with no files written."""
    components = components or config.components()
    obs: list[Any] = []
    if run_dir is not None and observers:
        out = config.output
        reeval = _reevaluator(config, components, run_dir)
        obs = [CsvLogger(run_dir / "metrics.csv"), ErrorLog(run_dir / "errors.log"),
               *([reeval] if reeval else []),    # before the checkpointer: its state goes in the same checkpoint
               Checkpointer(run_dir / "checkpoints", every=out.checkpoint_every, keep=out.keep_checkpoints,
                            seconds=out.checkpoint_seconds),
               # a gradient run that trained the decoder itself exports the decoder's weights
               DecoderExporter(run_dir / "best", components, config.backend.evaluation_device())
               if components.trains_decoder else
               BestExporter(run_dir / "best", components, config.backend.evaluation_device(), chooser=reeval)]
        if out.tensorboard:
            obs.append(TensorBoardLogger(run_dir / "tensorboard"))
        if out.progress:
            obs.append(ProgressBar())
    return Search(components.strategy, make_backend(config, components), config.budget, maximize=components.maximize,
                  seed=config.seed, observers=obs, name=config.name)


def _reevaluator(config: Config, components: Components, run_dir: Path) -> Reevaluator | None:
    """The re-evaluation observer when ``evaluation.reevaluate`` is on; it evaluates in this process
    (on the local backend's device, else the CPU)."""
    options = config.evaluation.reevaluate
    if not reevaluation_enabled(options, components):
        return None
    device = config.backend.evaluation_device() if config.backend.name == "local" else "cpu"
    task = components.task
    per = getattr(task, "episodes", 1) if "episodes" in options_of(type(task)) else 1
    return Reevaluator(options, driver_evaluate(config.spec().without_strategy(), components, device),
                       maximize=components.maximize, path=run_dir / "reevaluation.csv",
                       seconds_budget=config.budget.seconds,
                       parallel=config.backend.num_actors if config.backend.name == "ray" else 1,
                       episodes_per_evaluation=per if isinstance(per, int) else 1)


def new_run_dir(config: Config) -> Path:
    base = Path(config.output.runs_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = base / f"{config.name}-{stamp}"
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = base / f"{config.name}-{stamp}-{n}"
    try:
        run_dir.mkdir(parents=True)
        (run_dir / CONFIG_FILE).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    except OSError as exc:   # e.g. a read-only place such as /proc: nothing has started yet
        raise ConfigError("output.runs_dir", f"cannot create the run directory {str(run_dir)!r}: "
                                             f"{exc.strerror or exc}") from None
    return run_dir


def run(config: Config, run_dir: Path | None = None) -> tuple[SearchResult, Path]:
    """Run a search into a new (or the given) run directory. The report is the caller's
    (``evohyper.viz.run_report.write_run_report``; the CLI writes it)."""
    run_dir = run_dir or new_run_dir(config)
    search = build_search(config, run_dir)
    return search.run(), run_dir


#: what ``resume --set`` may change: budget limits and how the run writes (never what it computes)
RESUME_SETTABLE = tuple(f"budget.{f.name}" for f in dataclasses.fields(Budget)) + (
    "output.checkpoint_every", "output.checkpoint_seconds", "output.tensorboard", "output.progress")


def resume_config(run_dir: str | Path, overrides: list[str]) -> Config:
    """The run's config with ``--set`` overrides of budget limits / output cadence applied, validated and
    written back to its config.yaml; any other key is a ConfigError naming it."""
    if not overrides:
        return load_run_config(run_dir)
    for item in overrides:
        key, _, value = item.partition("=")
        if key.strip() not in RESUME_SETTABLE:
            raise ConfigError(key.strip(), f"resume cannot set it to {value.strip()!r}: only budget limits "
                                           "(budget.generations, ...), output.checkpoint_every, "
                                           "output.checkpoint_seconds, output.tensorboard and output.progress "
                                           "may change")
    cfg_path = _config_path(run_dir)
    config = validate(_strip_resolved(apply_overrides(load_raw(cfg_path), overrides)))
    tmp = cfg_path.with_name(CONFIG_FILE + ".tmp")
    tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    os.replace(tmp, cfg_path)
    return config


def resume(run_dir: str | Path, overrides: list[str] | None = None) -> tuple[SearchResult, Path]:
    """Continue a run from its newest valid checkpoint; the result equals an uninterrupted run (with the
    budget it ends with: ``overrides`` may change budget limits and the output cadence, ``resume_config``)."""
    run_dir = Path(run_dir)
    config = resume_config(run_dir, list(overrides or []))
    components = config.components()
    search = build_search(config, run_dir, components=components)
    checkpoints = run_dir / "checkpoints"
    if not list_checkpoints(checkpoints):
        log.warning("%s has no checkpoint (stopped before its first one): restarting it from generation 0", run_dir)
        return search.run(), run_dir

    def restore(state: dict[str, Any]) -> None:
        try:
            search.load_state_dict(state)
        except BaseException:   # a half-loaded strategy cannot take another state: start the next try afresh
            search.strategy = build_strategy(config.spec(), components.info)
            raise

    try:
        state, path = load_latest(checkpoints, accept=restore)
    except BaseException:
        search.backend.close()
        raise
    log.info("resuming %s from %s (generation %d)", run_dir, path.name, state["counters"]["generation"])
    spent = config.budget.stop_reason(search.counters, search.best_fitness, search.maximize)
    if spent is not None:
        log.warning("budget already spent at generation %d (%s): nothing to run, best/ re-exported",
                    search.counters.generation, spent)
    return search.run(), run_dir


def load_run_config(run_dir: str | Path) -> Config:
    """The validated config of a run directory (its resolved ``config.yaml``)."""
    return validate(_strip_resolved(load_raw(_config_path(run_dir))))


def _config_path(run_dir: str | Path) -> Path:
    """A run directory's ``config.yaml``; FileNotFoundError when ``run_dir`` is not a run directory."""
    cfg_path = Path(run_dir) / CONFIG_FILE
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    return cfg_path


def _strip_resolved(raw: dict[str, Any]) -> dict[str, Any]:
    """A resolved config lists every default; None-valued budget entries are simply defaults."""
    raw = dict(raw)
    raw["budget"] = {k: v for k, v in raw.get("budget", {}).items() if v is not None}
    return raw

