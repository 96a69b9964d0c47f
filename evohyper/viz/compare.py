"""`evohyper compare`: several search configs x several seeds -> reports/compare_<name>.md + PNG.

Why one module: evolution and gradient runs are compared in the same units (best-so-far fitness
against sample-forward passes and against wall-clock seconds), from the same engine, so the report
only needs each run's metrics.csv and its decoder's parameter counts. Runs go in parallel as one Ray
task per (config, seed), each with the local backend inside; without Ray they run one after another.

A compare spec (YAML):

    name: digits                      # -> reports/compare_digits.md
    title: ...
    seeds: [0, 1, 2, 3, 4]
    set: [output.checkpoint_every=50] # overrides for every run ("{seed}" is replaced by the seed)
    runs:
      - label: gradient, static hypernetwork
        config: search_spaces/digits_hyper_gradient.yaml
        set: [decoder.init_seed={seed}]
    criterion: {candidate: <label>, baseline: <label>, metric: test_accuracy, max_gap: 0.01, min_ratio: 3}
    metric: best_so_far               # the metrics.csv column plotted (qd_score, hypervolume: a strategy's)

Every run is kept, as a normal run directory (``evohyper show``/``export``/``resume`` work on it), under
``<runs_dir>/compare-<name>-<time>/<label>-seed<k>/``; ``runs_dir`` is each config's own
``output.runs_dir`` (default ``runs/``, git-ignored, not the committed ``reports/``) unless ``--runs-dir``
gives one for all. The report links each run.
"""
from __future__ import annotations

import logging
import os
import re
import shlex
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evohyper.config import ConfigError, apply_overrides, load_raw, validate
from evohyper.viz.compare_report import write_report
from evohyper.viz.compare_spec import CompareRun, CompareSpec

RUN_DEFAULTS = ["backend.name=local", "output.tensorboard=false", "output.progress=false"]
log = logging.getLogger("evohyper.compare")


def load_spec(path: str | Path) -> CompareSpec:
    """Read and check a compare spec; every referenced config is validated before anything runs."""
    raw = load_raw(path)
    allowed = ("name", "title", "seeds", "set", "runs", "criterion", "description", "metric")
    for key in raw:
        if key not in allowed:
            raise ConfigError(str(key), f"unknown key; allowed keys: {', '.join(allowed)}")
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise ConfigError("name", "missing or not a non-empty string")
    runs = raw.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ConfigError("runs", "expected a non-empty list of {label, config, set}")
    seeds = raw.get("seeds", [0, 1, 2, 3, 4])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ConfigError("seeds", f"got {seeds!r}, expected a non-empty list of non-negative ints")
    metric = raw.get("metric", "best_so_far")
    if not isinstance(metric, str) or not metric:
        raise ConfigError("metric", f"got {metric!r}, expected a metrics.csv column name (best_so_far, qd_score, "
                                    "hypervolume, ...)")
    spec = CompareSpec(name=raw["name"], runs=[], seeds=seeds, title=raw.get("title", ""),
                       overrides=list(raw.get("set", []) or []), criterion=dict(raw.get("criterion", {}) or {}),
                       path=_relative(Path(path)), metric=metric)
    for i, r in enumerate(runs):
        if not isinstance(r, dict) or "label" not in r or "config" not in r:
            raise ConfigError(f"runs[{i}]", "expected a mapping with 'label' and 'config'")
        config = Path(str(r["config"]))
        if not config.is_file() and (Path(path).parent / config.name).is_file():
            config = Path(path).parent / config.name   # a config next to the spec
        spec.runs.append(CompareRun(str(r["label"]), _relative(config), list(r.get("set", []) or [])))
    for i, r in enumerate(spec.runs):  # validate now: a typo fails before minutes of running
        try:
            _config(spec, r, spec.seeds[0], Path(tempfile.gettempdir()))   # nothing is created here
        except ConfigError as exc:
            raise ConfigError(f"runs[{i}] ({r.label})", str(exc)) from None
    return spec


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-").lower() or "run"


def _config(spec: CompareSpec, run: CompareRun, seed: int, runs_dir: Path | None, batch: str = "") -> Any:
    """The validated config of one (run, seed); it runs in ``<runs_dir>/<batch>/<label>-seed<k>/`` (one run per
    directory, so parallel runs never race for a name), ``runs_dir`` = the config's own when None."""
    sets = [s.replace("{seed}", str(seed)) for s in [*RUN_DEFAULTS, *spec.overrides, *run.overrides]]
    raw = apply_overrides(load_raw(run.config), [*sets, f"seed={seed}"])
    base = Path(runs_dir) if runs_dir is not None else Path(str((raw.get("output") or {}).get("runs_dir", "runs")))
    where = Path(os.path.abspath(base / batch / f"{_slug(run.label)}-seed{seed}"))  # Ray workers: another cwd
    return validate(apply_overrides(raw, [f"output.runs_dir={where}"]))


def budget_note(jobs: list[tuple[str, Any]]) -> str | None:
    """One line when the compared methods do not stop at the same budget (their figures are then not
    like for like), else None."""
    budgets: dict[str, str] = {}
    for label, config in jobs:
        text = ", ".join(f"{k} {v}" for k, v in asdict(config.budget).items() if v is not None)
        budgets.setdefault(label, text)
    if len(set(budgets.values())) <= 1:
        return None
    return "the compared methods have different budgets: " + "; ".join(f"{k}: {v}" for k, v in budgets.items())


def run_one(config: Any, label: str) -> dict[str, Any]:
    """One search with the local backend; returns its metrics rows, summary and decoder description."""
    from evohyper.engine.run_dir import RunDir
    from evohyper.engine.runner import run
    from evohyper.viz.run_report import read_metrics, summarize

    # threads: the engine's policy, as in `evohyper run` (evohyper/engine/threads.py; inside a Ray task
    # its cores are the task's one reserved CPU, through the OMP_NUM_THREADS that Ray sets)
    _, run_dir = run(config)
    decoder = (RunDir(run_dir).best_summary() or {}).get("decoder", {})
    return {"label": label, "seed": config.seed, "rows": read_metrics(run_dir), "summary": summarize(run_dir),
            "decoder": decoder}


def _run_in_worker(config: Any, label: str, sys_path: list[str]) -> dict[str, Any]:
    """``run_one`` in a Ray worker: the config arrives built, so its ``plugins:`` (a user's tasks or gymnasium
    environments) were imported in the driver only; import them here first, from the driver's paths."""
    from evohyper.config.build import import_plugins

    for path in reversed(sys_path):
        if path not in sys.path:
            sys.path.insert(0, path)
    import_plugins(list(config.plugins))
    return run_one(config, label)


def jobs_of(spec: CompareSpec, runs_dir: Path | None, batch: str) -> list[tuple[str, Any]]:
    """``(label, validated config)`` of every (run, seed)."""
    return [(r.label, _config(spec, r, s, runs_dir, batch)) for r in spec.runs for s in spec.seeds]


def run_all(jobs: list[tuple[str, Any]], parallel: str = "auto", num_cpus: int | None = None
            ) -> list[dict[str, Any]]:
    """Every (run, seed); on Ray (one task each, one CPU each) unless ``parallel='none'`` or Ray is absent."""
    use_ray = parallel == "ray"
    if parallel == "auto":
        try:
            import ray  # noqa: F401
            use_ray = True
        except ImportError:
            use_ray = False
    if not use_ray:
        return [run_one(cfg, label) for label, cfg in jobs]
    import ray

    from evohyper.engine.backends.ray import runtime as ray_runtime

    owns = ray_runtime.connect(None, num_cpus=num_cpus or os.cpu_count() or 1)
    try:
        from evohyper.engine.runner import plugin_paths

        remote = ray.remote(num_cpus=1)(_run_in_worker)
        return ray.get([remote.remote(cfg, label, plugin_paths()) for label, cfg in jobs])
    finally:
        if owns:
            ray_runtime.disconnect()


def compare(
    spec_path: str | Path,
    out_dir: str | Path = "reports",
    parallel: str = "auto",
    seeds: list[int] | None = None,
    command: str | None = None,
    num_cpus: int | None = None,
    runs_dir: str | Path | None = None,
) -> Path:
    """Run every (config, seed) of a compare spec, keep the runs, write the report; returns its path.
    ``runs_dir``: where the runs go (default: each config's own ``output.runs_dir``)."""
    spec = load_spec(spec_path)
    if seeds:
        spec.seeds = list(seeds)
    start = time.perf_counter()
    jobs = jobs_of(spec, Path(runs_dir) if runs_dir is not None else None,
                   f"compare-{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    note = budget_note(jobs)
    if note:
        log.warning("%s (the report says so too)", note)
    results = run_all(jobs, parallel=parallel, num_cpus=num_cpus)
    cmd = command or "evohyper compare " + shlex.quote(str(spec_path))
    return write_report(spec, results, Path(out_dir), cmd, time.perf_counter() - start, budget=note)
