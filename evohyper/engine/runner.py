"""Builds a Search from a validated Config, with its run directory and observers; runs and resumes it.

The run directory's layout (file names, readers) is ``engine/run_dir.py``'s; ``CONFIG_FILE``, ``new_run_dir``
and ``load_run_config`` are re-exported here, where callers have always found them."""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

from evohyper.api.strategy import Strategy
from evohyper.config import Components, Config, ConfigError
from evohyper.config.budget import Budget
from evohyper.config.build import build_strategy
from evohyper.config.options import options_of
from evohyper.engine.observers import (
    ArchiveExporter,
    BestExporter,
    Checkpointer,
    CsvLogger,
    DecoderExporter,
    ErrorLog,
    ProgressBar,
    TensorBoardLogger,
)
from evohyper.engine.observers.reevaluation import Reevaluator, driver_evaluate, reevaluation_enabled
from evohyper.engine.run_dir import CONFIG_FILE, RunDir, load_run_config, new_run_dir
from evohyper.engine.search import Search, SearchResult

__all__ = ["CONFIG_FILE", "RESUME_SETTABLE", "build_search", "load_run_config", "make_backend", "new_run_dir",
           "plugin_paths", "resume", "resume_config", "run"]

log = logging.getLogger("evohyper.run")


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
        out, layout = config.output, RunDir(Path(run_dir))
        reeval = _reevaluator(config, components, layout)
        obs = [CsvLogger(layout.metrics), ErrorLog(layout.errors),
               *([reeval] if reeval else []),    # before the checkpointer: its state goes in the same checkpoint
               Checkpointer(layout.checkpoints, every=out.checkpoint_every, keep=out.keep_checkpoints,
                            seconds=out.checkpoint_seconds),
               # before best/: with re-evaluation on, the archive's member best on fresh episodes is best/
               ArchiveExporter(layout.archive, reevaluator=reeval, info=components.task.info()),
               # a gradient run that trained the decoder itself exports the decoder's weights
               DecoderExporter(layout.best, components, config.backend.evaluation_device())
               if components.trains_decoder else
               BestExporter(layout.best, components, config.backend.evaluation_device(), chooser=reeval)]
        if out.tensorboard:
            obs.append(TensorBoardLogger(layout.tensorboard))
        if out.progress:
            obs.append(ProgressBar())
    return Search(components.strategy, make_backend(config, components), config.budget, maximize=components.maximize,
                  seed=config.seed, observers=obs, name=config.name, task_info=components.task.info())


def _reevaluator(config: Config, components: Components, layout: RunDir) -> Reevaluator | None:
    """The re-evaluation observer when ``evaluation.reevaluate`` is on; it evaluates in this process
    (on the local backend's device, else the CPU)."""
    options = config.evaluation.reevaluate
    if not reevaluation_enabled(options, components):
        return None
    device = config.backend.evaluation_device() if config.backend.name == "local" else "cpu"
    task = components.task
    per = getattr(task, "episodes", 1) if "episodes" in options_of(type(task)) else 1
    reeval = Reevaluator(options, driver_evaluate(config.spec().without_strategy(), components, device),
                         maximize=components.maximize, path=layout.reevaluation,
                         budget=config.budget,
                         parallel=config.backend.num_actors if config.backend.name == "ray" else 1,
                         episodes_per_evaluation=per if isinstance(per, int) else 1)
    # a strategy that keeps an archive or front: at the end its members are re-evaluated (ArchiveExporter)
    reeval.archive_end = type(components.strategy).write_archive is not Strategy.write_archive
    return reeval


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
    layout = RunDir.open(run_dir)
    if not overrides:
        return layout.config()
    for item in overrides:
        key, _, value = item.partition("=")
        if key.strip() not in RESUME_SETTABLE:
            raise ConfigError(key.strip(), f"resume cannot set it to {value.strip()!r}: only budget limits "
                                           "(budget.generations, ...), output.checkpoint_every, "
                                           "output.checkpoint_seconds, output.tensorboard and output.progress "
                                           "may change")
    config = layout.config(overrides)
    layout.write_config(config)
    return config


def resume(run_dir: str | Path, overrides: list[str] | None = None) -> tuple[SearchResult, Path]:
    """Continue a run from its newest valid checkpoint; the result equals an uninterrupted run (with the
    budget it ends with: ``overrides`` may change budget limits and the output cadence, ``resume_config``)."""
    run_dir = Path(run_dir)
    config = resume_config(run_dir, list(overrides or []))
    components = config.components()
    search = build_search(config, run_dir, components=components)
    layout = RunDir(run_dir)
    if not layout.checkpoint_files():
        log.warning("%s has no checkpoint (stopped before its first one): restarting it from generation 0", run_dir)
        return search.run(), run_dir

    def restore(state: dict[str, Any]) -> None:
        try:
            search.load_state_dict(state)
        except BaseException:   # a half-loaded strategy cannot take another state: start the next try afresh
            search.strategy = build_strategy(config.spec(), components.info, task_info=components.task.info())
            raise

    try:
        state, path = layout.latest_checkpoint(accept=restore)
    except BaseException:
        search.backend.close()
        raise
    log.info("resuming %s from %s (generation %d)", run_dir, path.name, state["counters"]["generation"])
    spent = config.budget.stop_reason(search.counters, search.best_fitness, search.maximize)
    if spent is not None:
        log.warning("budget already spent at generation %d (%s): nothing to run, best/ re-exported",
                    search.counters.generation, spent)
    return search.run(), run_dir
