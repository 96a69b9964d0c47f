"""One Tune trial = one evohyper search: report every generation, checkpoint through Tune, restore exactly.

The trial's checkpoint is a directory holding our safe checkpoint file (``search.pt``: JSON + tensors,
no pickle) with the search state, the trial's resolved config and its *segments*: the strategy options
in force from each generation on (a record of PBT's exploits). An exploit copies another trial's
checkpoint: the donor's explicit strategy state is loaded, then this trial's options are set; a later
restore (after a failure) loads this trial's own state, so it continues exactly.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evohyper.config import Config, validate
from evohyper.config.tune_schema import apply_params, mutable_options
from evohyper.engine.checkpoint import load_state, save_state
from evohyper.engine.search import GenerationRecord, Search

CHECKPOINT_FILE = "search.pt"
TRIAL_STATE_VERSION = 1


# ----------------------------------------------------------------------------- re-tuning a strategy
def retune(strategy: Any, options: dict[str, Any]) -> None:
    """Set the strategy's mutable options (``Strategy.set_options``; PBT's exploit changes them)."""
    strategy.set_options(**options)


def _mutable(name: str, options: dict[str, Any]) -> dict[str, Any]:
    return {k: options.get(k) for k in mutable_options(name)}


def _without_mutable(config: dict[str, Any]) -> dict[str, Any]:
    mutable = mutable_options(config["strategy"]["name"])
    strategy = {k: v for k, v in config["strategy"].items() if k not in mutable}
    return {**{k: v for k, v in config.items() if k not in ("strategy", "tune", "output")}, "strategy": strategy}


def restore(search: Search, config: Config, saved: dict[str, Any]) -> list[list[Any]]:
    """Load a trial checkpoint into a fresh ``search`` built from ``config``; return the segments.

    The same config (a restart after a failure) loads the search as ``Search.load_state_dict`` does;
    a config that differs only in PBT-mutable strategy options (an exploit) loads the donor's explicit
    state (its distribution, optimizer and generators, with the options in force there), then switches
    to this trial's options."""
    state, segments = saved["search"], [list(s) for s in saved["segments"]]
    if _without_mutable(saved["config"]) != _without_mutable(config.to_dict()):
        raise ValueError("the checkpoint belongs to a search with another config (only the PBT-mutable "
                         f"strategy options {mutable_options(config.strategy['name'])} may differ)")
    name = config.strategy["name"]
    strategy = search.strategy
    search.load_state_dict(state)
    current = _mutable(name, config.strategy)
    if current != segments[-1][1]:
        segments.append([search.counters.generation, current])
    retune(strategy, current)
    return segments


# ----------------------------------------------------------------------------- the reporter
class TuneReporter:
    """Observer: ``tune.report`` of every generation's metrics, with a checkpoint every k generations."""

    def __init__(self, config: Config, segments: list[list[Any]], every: int = 1,
                 extra: Callable[[], dict[str, Any]] | None = None):
        self.config, self.segments, self.every, self.extra = config, segments, int(every), extra
        self.started = time.time()

    def on_start(self, search: Search) -> None:
        pass

    def _metrics(self, search: Search, record: GenerationRecord) -> dict[str, Any]:
        metrics = {k: v for k, v in record.row().items()}
        metrics["trial_seconds"] = time.time() - self.started
        if self.extra is not None:
            metrics.update(self.extra())
        return metrics

    def on_generation(self, search: Search, record: GenerationRecord) -> None:
        from ray import tune

        done = search.budget.stop_reason(search.counters, search.best_fitness, search.maximize) is not None
        if record.generation % self.every and not done:
            tune.report(self._metrics(search, record))
            return
        tmp = Path(tempfile.mkdtemp(prefix="evohyper-ckpt-"))
        try:
            save_state({"version": TRIAL_STATE_VERSION, "search": search.state_dict(),
                        "config": self.config.to_dict(), "segments": self.segments}, tmp / CHECKPOINT_FILE)
            tune.report(self._metrics(search, record), checkpoint=tune.Checkpoint.from_directory(str(tmp)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def on_end(self, search: Search, result: Any) -> None:
        pass


# ----------------------------------------------------------------------------- the trainable
def load_trial_checkpoint(directory: str | Path) -> dict[str, Any]:
    saved = load_state(Path(directory) / CHECKPOINT_FILE)
    if saved.get("version") != TRIAL_STATE_VERSION:
        raise ValueError(f"trial checkpoint version {saved.get('version')} is not {TRIAL_STATE_VERSION}")
    return saved


def make_trainable(base: dict[str, Any], checkpoint_every: int, paths: list[str]) -> Callable[[dict], None]:
    """The Tune function trainable for a base config (no tune block) and the driver's import paths."""

    def evohyper_trial(params: dict[str, Any]) -> None:
        from ray import tune

        for p in reversed(paths):          # plug-in modules import as on the driver
            if p not in sys.path:
                sys.path.insert(0, p)
        os.environ["PYTHONPATH"] = os.pathsep.join(paths)   # handed on to the evaluator actors
        from evohyper.engine.runner import build_search  # runner imports the report code lazily

        config = validate(apply_params(base, params))
        search = build_search(config, None, observers=False)
        segments = [[0, _mutable(config.strategy["name"], config.strategy)]]
        retune(search.strategy, segments[0][1])
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as d:
                segments = restore(search, config, load_trial_checkpoint(d))
        info = {"restored_from_generation": search.counters.generation if checkpoint is not None else -1,
                **_actor_info(search.backend)}
        search.observers.append(TuneReporter(config, segments, checkpoint_every, lambda: info))
        search.run()

    return evohyper_trial


def _actor_info(backend: Any) -> dict[str, Any]:
    """Where the trial's evaluator actors run (pids, placement group), for the resource checks."""
    if not hasattr(backend, "actor_info"):
        return {"actor_pids": "", "placement_group": "", "actor_bundles": ""}
    pids = ",".join(str(a["pid"]) for a in backend.actor_info())
    pg, bundles = backend.placement()
    return {"actor_pids": pids, "placement_group": pg or "", "actor_bundles": ",".join(map(str, bundles))}
