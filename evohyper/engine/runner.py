"""Builds a Search from a validated Config, with its run directory, observers and final report."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import yaml

from evohyper.api import registry
from evohyper.config.schema import Config, validate
from evohyper.engine.checkpoint import load_latest
from evohyper.engine.evaluation import ComponentsSpec, Evaluator, build_decoder, build_task
from evohyper.engine.observers import BestExporter, Checkpointer, CsvLogger, ProgressBar, TensorBoardLogger
from evohyper.engine.search import Search, SearchResult

log = logging.getLogger("evohyper.run")
CONFIG_FILE = "config.yaml"


def components(config: Config) -> ComponentsSpec:
    return ComponentsSpec(task=config.task, decoder=config.decoder, network=config.network,
                          on_error=config.evaluation.on_error, plugins=list(config.plugins))


def make_backend(config: Config, spec: ComponentsSpec) -> Any:
    b = config.backend
    if b.name == "local":
        from evohyper.engine.backends.local import LocalBackend
        return LocalBackend(spec, device=b.device)
    from evohyper.engine.backends.ray_backend import RayBackend  # Ray is imported only when asked for
    return RayBackend(spec, num_actors=b.num_actors, num_cpus_per_actor=b.num_cpus_per_actor,
                      num_gpus_per_actor=b.num_gpus_per_actor, address=b.address, num_cpus=b.num_cpus,
                      timeout_s=b.timeout_s, startup_timeout_s=b.startup_timeout_s, max_retries=b.max_retries,
                      sys_path=_plugin_paths(), driver_threads=b.driver_threads)


def _plugin_paths() -> list[str]:
    """Where a driver finds user modules (cwd, PYTHONPATH): actors on this machine look there too."""
    return [os.getcwd(), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]


def build_search(config: Config, run_dir: Path | None, observers: bool = True) -> Search:
    """Everything a search needs; ``run_dir=None`` gives a bare search with no files written."""
    spec = components(config)
    task = build_task(spec)
    decoder = build_decoder(spec, task)
    strategy = registry.strategies.get(config.strategy["name"])(
        decoder.genome_size, config.seed, **{k: v for k, v in config.strategy.items() if k != "name"})
    strategy.bind_decoder(decoder)
    obs: list[Any] = []
    if run_dir is not None and observers:
        out = config.output
        obs = [CsvLogger(run_dir / "metrics.csv"),
               Checkpointer(run_dir / "checkpoints", every=out.checkpoint_every, keep=out.keep_checkpoints),
               BestExporter(run_dir / "best", lambda: Evaluator(spec, config.backend.device))]
        if out.tensorboard:
            obs.append(TensorBoardLogger(run_dir / "tensorboard"))
        if out.progress:
            obs.append(ProgressBar())
    return Search(strategy, make_backend(config, spec), config.budget, maximize=type(task).maximize,
                  seed=config.seed, observers=obs, name=config.name)


def new_run_dir(config: Config) -> Path:
    base = Path(config.output.runs_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = base / f"{config.name}-{stamp}"
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = base / f"{config.name}-{stamp}-{n}"
    run_dir.mkdir(parents=True)
    (run_dir / CONFIG_FILE).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    return run_dir


def run(config: Config, run_dir: Path | None = None) -> tuple[SearchResult, Path]:
    run_dir = run_dir or new_run_dir(config)
    search = build_search(config, run_dir)
    result = search.run()
    _finish(search, result, run_dir)
    return result, run_dir


def resume(run_dir: str | Path) -> tuple[SearchResult, Path]:
    """Continue a run from its newest valid checkpoint; the result equals an uninterrupted run."""
    run_dir = Path(run_dir)
    cfg_path = run_dir / CONFIG_FILE
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    config = validate(_strip_resolved(yaml.safe_load(cfg_path.read_text())))
    state, path = load_latest(run_dir / "checkpoints")
    log.info("resuming %s from %s (generation %d)", run_dir, path.name, state["counters"]["generation"])
    search = build_search(config, run_dir)
    search.load_state_dict(state)
    result = search.run()
    _finish(search, result, run_dir)
    return result, run_dir


def _strip_resolved(raw: dict[str, Any]) -> dict[str, Any]:
    """A resolved config lists every default; None-valued budget entries are simply defaults."""
    raw = dict(raw)
    raw["budget"] = {k: v for k, v in raw.get("budget", {}).items() if v is not None}
    return raw


def _finish(search: Search, result: SearchResult, run_dir: Path) -> None:
    from evohyper.viz.run_report import write_run_report  # matplotlib only at the end
    write_run_report(run_dir)
