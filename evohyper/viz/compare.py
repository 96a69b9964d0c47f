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
"""
from __future__ import annotations

import os
import platform
import shlex
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from evohyper.config import ConfigError, apply_overrides, load_raw, validate

RUN_DEFAULTS = ["backend.name=local", "output.tensorboard=false", "output.progress=false"]


@dataclass
class CompareRun:
    label: str
    config: str
    overrides: list[str] = field(default_factory=list)


@dataclass
class CompareSpec:
    name: str
    runs: list[CompareRun]
    seeds: list[int]
    title: str = ""
    overrides: list[str] = field(default_factory=list)
    criterion: dict[str, Any] = field(default_factory=dict)
    path: str = ""


def load_spec(path: str | Path) -> CompareSpec:
    """Read and check a compare spec; every referenced config is validated before anything runs."""
    raw = load_raw(path)
    allowed = ("name", "title", "seeds", "set", "runs", "criterion", "description")
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
    spec = CompareSpec(name=raw["name"], runs=[], seeds=seeds, title=raw.get("title", ""),
                       overrides=list(raw.get("set", []) or []), criterion=dict(raw.get("criterion", {}) or {}),
                       path=_relative(Path(path)))
    for i, r in enumerate(runs):
        if not isinstance(r, dict) or "label" not in r or "config" not in r:
            raise ConfigError(f"runs[{i}]", "expected a mapping with 'label' and 'config'")
        config = Path(str(r["config"]))
        if not config.is_file() and (Path(path).parent / config.name).is_file():
            config = Path(path).parent / config.name   # a config next to the spec
        spec.runs.append(CompareRun(str(r["label"]), _relative(config), list(r.get("set", []) or [])))
    for i, r in enumerate(spec.runs):  # validate now: a typo fails before minutes of running
        try:
            _config(spec, r, spec.seeds[0], Path(tempfile.gettempdir()))
        except ConfigError as exc:
            raise ConfigError(f"runs[{i}] ({r.label})", str(exc)) from None
    return spec


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _config(spec: CompareSpec, run: CompareRun, seed: int, runs_dir: Path) -> Any:
    sets = [s.replace("{seed}", str(seed)) for s in [*RUN_DEFAULTS, *spec.overrides, *run.overrides]]
    return validate(apply_overrides(load_raw(run.config), [*sets, f"seed={seed}", f"output.runs_dir={runs_dir}"]))


def run_one(config: Any, label: str) -> dict[str, Any]:
    """One search with the local backend; returns its metrics rows, summary and decoder description."""
    import json

    from evohyper.engine.runner import run
    from evohyper.viz.run_report import read_metrics, summarize

    # threads: the engine's policy, as in `evohyper run` (evohyper/engine/threads.py; inside a Ray task
    # its cores are the task's one reserved CPU, through the OMP_NUM_THREADS that Ray sets)
    _, run_dir = run(config)
    best = run_dir / "best" / "phenotype.json"
    decoder = json.loads(best.read_text()).get("decoder", {}) if best.is_file() else {}
    return {"label": label, "seed": config.seed, "rows": read_metrics(run_dir), "summary": summarize(run_dir),
            "decoder": decoder}


def run_all(spec: CompareSpec, runs_dir: Path, parallel: str = "auto", num_cpus: int | None = None
            ) -> list[dict[str, Any]]:
    """Every (run, seed); on Ray (one task each, one CPU each) unless ``parallel='none'`` or Ray is absent."""
    jobs = [(r.label, _config(spec, r, s, runs_dir)) for r in spec.runs for s in spec.seeds]
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
        remote = ray.remote(num_cpus=1)(run_one)
        return ray.get([remote.remote(cfg, label) for label, cfg in jobs])
    finally:
        if owns:
            ray_runtime.disconnect()


# ----------------------------------------------------------------------------- the report
def _band(results: list[dict[str, Any]], x_key: str, log: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = [np.array([r[x_key] for r in res["rows"]]) for res in results]
    ys = [np.array([r["best_so_far"] for r in res["rows"]]) for res in results]
    lo, hi = min(x[0] for x in xs), max(x[-1] for x in xs)
    grid = np.geomspace(max(lo, 1e-9), hi, 200) if log else np.linspace(lo, hi, 200)
    curves = np.stack([np.interp(grid, x, y, left=np.nan) for x, y in zip(xs, ys)])
    return grid, np.nanmean(curves, 0), np.nanstd(curves, 0)


def plot(groups: dict[str, list[dict[str, Any]]], path: Path, title: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), dpi=110)
    for ax, key, label in ((axes[0], "sample_forwards", "sample-forward passes (log)"),
                           (axes[1], "seconds", "wall-clock seconds (log)")):
        for i, (name, results) in enumerate(groups.items()):
            grid, mean, std = _band(results, key, log=True)
            color = f"C{i}"
            ax.plot(grid, mean, lw=2, color=color, label=f"{name} (n={len(results)})")
            ax.fill_between(grid, mean - std, mean + std, alpha=0.2, color=color)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("best fitness so far (mean ± std over seeds)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _ms(values: list[float], fmt: str = ".4g") -> str:
    v = np.array([x for x in values if x is not None], dtype=float)
    return "-" if not len(v) else f"{v.mean():{fmt}} ± {v.std():{fmt}}"


def _params(decoder: dict[str, Any]) -> tuple[str, str, str]:
    """(searched/trained numbers, decoder parameters, generated-layer sizes target -> hypernetwork)."""
    layers = decoder.get("generated_layers")
    gen = "-"
    if isinstance(layers, dict) and layers:
        def ratio(t: int, h: int) -> str:
            return f"{t / h:.1f}x fewer" if t >= h else f"{h / t:.1f}x more"
        gen = ", ".join(f"{k}: {v['target']} → {v['hypernetwork']} ({ratio(v['target'], v['hypernetwork'])})"
                        for k, v in layers.items())
    return str(decoder.get("genome_size", "-")), str(decoder.get("trainable_params", "-")), gen


def criterion_lines(crit: dict[str, Any], groups: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The Done-when check, stated with the measured numbers whichever way it comes out."""
    cand, base = groups.get(crit.get("candidate", "")), groups.get(crit.get("baseline", ""))
    if not crit or cand is None or base is None:
        return []
    metric = crit.get("metric", "test_accuracy")
    mean = lambda rs: float(np.mean([r["summary"]["test_metrics"].get(metric, np.nan) for r in rs]))  # noqa: E731
    gap = mean(base) - mean(cand)
    layers = cand[0]["decoder"].get("generated_layers", {})
    target = sum(v["target"] for v in layers.values()) if isinstance(layers, dict) else 0
    hyper = sum(v["hypernetwork"] for v in layers.values()) if isinstance(layers, dict) else 0
    ratio = target / hyper if hyper else float("nan")
    ok_gap, ok_ratio = gap <= crit.get("max_gap", 0.01), ratio >= crit.get("min_ratio", 3)
    return ["## Criterion", "",
            f"`{crit['candidate']}` vs `{crit['baseline']}` on mean {metric}: measured gap "
            f"**{100 * gap:.2f} percentage points** ({100 * mean(cand):.2f} % vs {100 * mean(base):.2f} %; "
            f"allowed ≤ {100 * crit.get('max_gap', 0.01):.1f}) — {'met' if ok_gap else 'NOT met'}. "
            f"Trainable parameters in the generated layers: {hyper} vs {target} "
            f"(**{ratio:.2f}x fewer**; required ≥ {crit.get('min_ratio', 3)}x) — "
            f"{'met' if ok_ratio else 'NOT met'}.", ""]


def write_report(spec: CompareSpec, results: list[dict[str, Any]], out_dir: Path, command: str, seconds: float) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[dict[str, Any]]] = {r.label: [] for r in spec.runs}
    for res in results:
        groups[res["label"]].append(res)
    png = plot(groups, out_dir / f"compare_{spec.name}.png", spec.title or spec.name)
    test_keys = sorted({k for res in results for k in res["summary"]["test_metrics"]})
    lines = [
        f"# Compare: {spec.title or spec.name}",
        "",
        f"Spec `{spec.path}`, seeds {spec.seeds}; every run on the local backend with one torch thread "
        f"(runs of different seeds/configs execute concurrently, so wall-clock figures include sharing "
        f"the machine's cores). Fitness is in the task's own direction; test metrics are of each run's "
        f"best individual on the held-out split.",
        "",
        "| run | config | budget | generations | evaluations | sample forwards | seconds | best fitness |"
        + "".join(f" {k} |" for k in test_keys),
        "|---|---|---|---|---|---|---|---|" + "---|" * len(test_keys),
    ]
    for run in spec.runs:
        rs = groups[run.label]
        s = [r["summary"] for r in rs]
        cfg = yaml.safe_load(Path(s[0]["run_dir"], "config.yaml").read_text()) if s else {}
        budget = ", ".join(f"{k} {v}" for k, v in (cfg.get("budget") or {}).items() if v is not None)
        lines.append(
            f"| {run.label} | `{run.config}` | {budget} | {_ms([x['generations'] for x in s], '.0f')} | "
            f"{_ms([x['evaluations'] for x in s], '.0f')} | {_ms([x['sample_forwards'] for x in s], '.3g')} | "
            f"{_ms([x['seconds'] for x in s], '.3g')} | {_ms([x['best_fitness'] for x in s])} |"
            + "".join(f" {_ms([x['test_metrics'].get(k) for x in s])} |" for k in test_keys)
        )
    lines += [
        "",
        "Parameters (from the decoder's own description): *searched* = numbers the strategy adjusts "
        "(genome size), *decoder* = parameters the decoder owns, *generated layers* = target layer size → "
        "hypernetwork parameters that produce it.",
        "",
        "| run | strategy | decoder | searched | decoder params | phenotype params | generated layers |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in spec.runs:
        rs = groups[run.label]
        if not rs:
            continue
        d, s = rs[0]["decoder"], rs[0]["summary"]
        searched, owned, gen = _params(d)
        lines.append(
            f"| {run.label} | `{s['strategy']}` | `{s['decoder']}` | {searched} | {owned} | "
            f"{d.get('target_params', '-')} | {gen} |"
        )
    lines += [
        "",
        *criterion_lines(spec.criterion, groups),
        f"![best-so-far vs sample-forward passes and wall-clock]({png.name})",
        "",
        f"Generated by `{command}` in {seconds:.0f} s with Python {platform.python_version()} on "
        f"{platform.machine()} ({os.cpu_count()} CPUs).",
        "",
    ]
    out = out_dir / f"compare_{spec.name}.md"
    out.write_text("\n".join(lines))
    return out


def compare(
    spec_path: str | Path,
    out_dir: str | Path = "reports",
    parallel: str = "auto",
    seeds: list[int] | None = None,
    command: str | None = None,
    num_cpus: int | None = None,
) -> Path:
    spec = load_spec(spec_path)
    if seeds:
        spec.seeds = list(seeds)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="evohyper-compare-") as tmp:
        results = run_all(spec, Path(tmp), parallel=parallel, num_cpus=num_cpus)
        cmd = command or "evohyper compare " + shlex.quote(str(spec_path))
        return write_report(spec, results, Path(out_dir), cmd, time.perf_counter() - start)
