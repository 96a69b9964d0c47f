"""`evohyper tune`: build a Ray Tune ``Tuner`` over evohyper searches, run or restore it, write the report.

Everything meta is Ray Tune's own: the search space, ASHA/PBT, ``FailureConfig`` retries, checkpoint
persistence, ``Tuner.restore``. The experiment directory also holds ``evohyper_tune.yaml`` (the config
as given, tune block included), from which ``--resume`` rebuilds the very same trainable and space.
Note that Tune's own experiment state (``Tuner.restore``) is pickled by Ray: resume only directories
you wrote yourself. The trials' search checkpoints are ours (JSON + tensors, no pickle).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evohyper.config import Config, validate
from evohyper.config.tune_schema import TuneSpec, apply_params, validate_tune
from evohyper.engine.backends.ray import runtime as ray_runtime
from evohyper.engine.runner import plugin_paths
from evohyper.tune import space
from evohyper.tune.trial import make_trainable

log = logging.getLogger("evohyper.tune")
CONFIG_FILE = "evohyper_tune.yaml"


@dataclass
class TuneOutcome:
    experiment_dir: Path
    results: Any            # ray.tune.ResultGrid
    raw: dict[str, Any]     # the config as given, tune block included
    spec: TuneSpec
    mode: str


def _base(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k != "tune"}


def _tuner_parts(raw: dict[str, Any]) -> tuple[TuneSpec, Config, Any, dict[str, Any], str]:
    """The validated spec, the base config, the resourced trainable, the param space and the mode."""
    from ray import tune

    config = validate(raw)
    spec = validate_tune(raw)
    base = _base(raw)
    driver_cpus = spec.driver_cpus

    def resources(params: dict[str, Any]) -> Any:
        return space.placement_group_factory(validate(apply_params(base, params)), driver_cpus)

    trainable = tune.with_resources(make_trainable(base, spec.checkpoint_every, plugin_paths()), resources)
    return spec, config, trainable, space.param_space(spec), space.mode_of(spec, config)


def _keep(spec: TuneSpec) -> int | None:
    """PBT hands a donor's checkpoint to another trial a little later: keep them all (they are small),
    or the donor may have pruned it by then."""
    return None if spec.scheduler.name == "pbt" else spec.keep_checkpoints


def _connect(spec: TuneSpec, num_cpus: float | None) -> bool:
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")   # trials see the user's cwd (relative paths)
    # We checkpoint small files every generation on purpose (PBT, exact resume): no "too often" warning.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    return ray_runtime.connect(spec.address, num_cpus=num_cpus if num_cpus is not None else spec.num_cpus)


def run_tune(raw: dict[str, Any], *, num_cpus: float | None = None, name: str | None = None,
             verbose: int = 1) -> TuneOutcome:
    """Run the meta-search described by ``raw`` (a search config with a ``tune:`` block). The report is
    the caller's (``evohyper.viz.tune_report.write_tune_report``; the CLI writes it)."""
    from ray import tune
    from ray.tune.search import BasicVariantGenerator

    if "tune" not in raw or raw["tune"] is None:
        from evohyper.config.options import ConfigError
        raise ConfigError("tune", "missing: `evohyper tune` needs a tune: block (see search_spaces/*tune*.yaml)")
    spec, config, trainable, params, mode = _tuner_parts(raw)
    storage = Path(spec.storage_path).resolve()
    exp_name = name or f"{config.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    exp_dir = storage / exp_name
    exp_dir.mkdir(parents=True, exist_ok=True)
    (exp_dir / CONFIG_FILE).write_text(yaml.safe_dump(raw, sort_keys=False))
    sched = space.scheduler(spec.scheduler, spec.metric, mode, config.budget.generations)
    fifo = spec.scheduler.name == "fifo"
    owns = _connect(spec, num_cpus)
    try:
        tuner = tune.Tuner(
            trainable, param_space=params,
            tune_config=tune.TuneConfig(
                num_samples=spec.num_samples, scheduler=sched, max_concurrent_trials=spec.max_concurrent_trials,
                reuse_actors=spec.reuse_actors, metric=spec.metric if fifo else None, mode=mode if fifo else None,
                search_alg=BasicVariantGenerator(random_state=spec.seed) if spec.seed is not None else None),
            run_config=tune.RunConfig(
                name=exp_name, storage_path=str(storage), verbose=verbose,
                failure_config=tune.FailureConfig(max_failures=spec.max_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=_keep(spec))))
        results = tuner.fit()
    finally:
        if owns:
            ray_runtime.disconnect()
    return TuneOutcome(exp_dir, results, raw, spec, mode)


def resume_tune(experiment_dir: str | Path, *, num_cpus: float | None = None, verbose: int = 1) -> TuneOutcome:
    """``Tuner.restore`` an interrupted meta-search: unfinished trials continue from their checkpoints,
    errored ones are resumed from theirs; finished ones are kept."""
    from ray import tune

    exp_dir = Path(experiment_dir).resolve()
    cfg = exp_dir / CONFIG_FILE
    if not cfg.is_file():
        raise FileNotFoundError(f"{exp_dir} is not an evohyper tune experiment (no {CONFIG_FILE})")
    raw = yaml.safe_load(cfg.read_text())
    spec, _, trainable, params, mode = _tuner_parts(raw)
    owns = _connect(spec, num_cpus)
    try:
        if not tune.Tuner.can_restore(str(exp_dir)):
            raise FileNotFoundError(f"{exp_dir} holds no Tune experiment state to restore (did it start?)")
        tuner = tune.Tuner.restore(str(exp_dir), trainable, param_space=params, resume_unfinished=True,
                                   resume_errored=True)
        results = tuner.fit()
    finally:
        if owns:
            ray_runtime.disconnect()
    return TuneOutcome(exp_dir, results, raw, spec, mode)
