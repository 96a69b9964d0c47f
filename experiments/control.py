"""reports/control.md: the gymnasium / MuJoCo configs of search_spaces/ over 3 seeds each, on 2 cores.

Every (config, seed) runs as the shipped config with the in-process backend, one torch thread, and an
env-step budget (so curves are comparable whatever the machine's load), two runs at a time. Then the
best individual of each run (``best/``: its weights and the observation statistics it was scored
with) is replayed on 20 fresh episodes (seeds never used for fitness) with the environment's own
reward (alive bonus included). Last, ``halfcheetah_pgpe.yaml`` runs exactly as shipped (2 Ray actors,
10 minutes): the curve the issue asks for. A run whose directory under ``runs/control-report/`` finished
with the same resolved config is reused (``finished_run``), so an interrupted report resumes.
"""
from __future__ import annotations

import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SEEDS = [0, 1, 2]
FRESH_EPISODES = 20
FRESH_SEED = 1_000_003  # replay seed: no generation seed of a run equals it (they come from SeedSequence)
PARALLEL = 2


@dataclass
class Study:
    slug: str           # search_spaces/<slug>.yaml
    env: str
    title: str
    env_steps: int      # budget per run
    reference: str      # published numbers / thresholds and how the setup differs


STUDIES = [
    Study("pendulum_pgpe", "Pendulum-v1", "Pendulum-v1, PGPE + ClipUp, 3-16-1 MLP", 1_000_000,
          "gymnasium registers no reward threshold for Pendulum-v1."),
    Study("lunarlander_pgpe", "LunarLander-v3", "LunarLander-v3 (discrete), PGPE + ClipUp, 8-16-4 MLP", 1_500_000,
          "Solved = 200 (gymnasium's registered `reward_threshold`). Toklu et al. (2020, ClipUp) ran PGPE + ClipUp "
          "on the *continuous* LunarLander with a linear policy, popsize 200, 50 generations "
          "(EvoTorch's `examples/scripts/rl_clipup.py` reproduces that setup); our task is the discrete one."),
    Study("halfcheetah_pgpe", "HalfCheetah-v5", "HalfCheetah-v5, PGPE + ClipUp, linear policy", 1_920_000,
          "gymnasium's registered `reward_threshold` is 4800. Published ES results on HalfCheetah (Salimans et al. "
          "2017; Mania et al. 2018, ARS) use MuJoCo v1 environments and budgets of millions to tens of millions of "
          "steps on tens to hundreds of CPUs; we found no published PGPE + ClipUp figure for HalfCheetah at a "
          "2M-step budget to put next to ours."),
    Study("halfcheetah_cmaes", "HalfCheetah-v5", "HalfCheetah-v5, diagonal CMA-ES, linear policy", 1_600_000,
          "Threshold 4800 as above; no published diagonal CMA-ES figure on HalfCheetah-v5 at this budget found."),
    Study("hopper_snes", "Hopper-v5", "Hopper-v5, SNES, linear policy (alive bonus removed for fitness)", 1_000_000,
          "gymnasium's registered `reward_threshold` is 3800 (alive bonus included, as in our 20-episode column). "
          "No published SNES figure on Hopper at this budget found."),
    Study("halfcheetah_hyperneat", "HalfCheetah-v5", "HalfCheetah-v5, HyperNEAT (NEAT CPPNs), body-geometry substrate 17-15-6",
          960_000,
          "No published HyperNEAT figure on HalfCheetah-v5 found; HyperNEAT locomotion results in the literature "
          "use other bodies and simulators."),
]


def finished_run(config: Any) -> tuple[Path, dict[str, Any], str] | None:
    """The newest run directory of exactly this config whose search ended, with its last checkpoint and
    why it stopped, or None. Ended: ``config.yaml`` equals the resolved config, ``best/phenotype.json``
    exists (the exporter writes it last, at the end of the run) and the last checkpoint's counters have
    spent the budget. A directory cut off mid-run (or run with other settings) never counts, so an
    interrupted report resumes by rerunning only what did not finish."""
    import yaml

    from evohyper.config.budget import Counters
    from evohyper.engine.checkpoint import CheckpointError, load_latest
    from evohyper.engine.runner import CONFIG_FILE

    want = yaml.safe_load(yaml.safe_dump(config.to_dict(), sort_keys=False))
    for run_dir in sorted(Path(config.output.runs_dir).glob(f"{config.name}-*"), reverse=True):
        if not (run_dir / "best" / "phenotype.json").is_file():
            continue
        try:
            if yaml.safe_load((run_dir / CONFIG_FILE).read_text()) != want:
                continue
            state, _ = load_latest(run_dir / "checkpoints")
        except (OSError, CheckpointError, yaml.YAMLError):
            continue
        stop = config.budget.stop_reason(Counters(**state["counters"]), state["best_fitness"], state["maximize"])
        if stop is not None:
            return run_dir, state, stop
    return None


def study_config(slug: str, overrides: list[str]) -> Any:
    """``search_spaces/<slug>.yaml`` with ``overrides``, validated."""
    from evohyper.config import apply_overrides, load_raw, validate

    return validate(apply_overrides(load_raw(Path("search_spaces") / f"{slug}.yaml"), overrides))


def run_or_reuse(config: Any) -> dict[str, Any]:
    """A finished run directory of the same config is reused (``finished_run``), otherwise the search
    runs. Its curve, search-loop seconds, best fitness and stop reason."""
    from evohyper.engine.runner import run
    from evohyper.viz.run_report import read_metrics

    done = finished_run(config)
    if done is not None:
        run_dir, state, stop = done
        best, seconds = state["best_fitness"], state["counters"]["seconds"]
    else:
        result, run_dir = run(config)
        best, seconds, stop = result.best_fitness, result.counters.seconds, result.stop_reason
    return {"rows": read_metrics(run_dir), "wall": seconds, "run_dir": str(run_dir), "best_fitness": best,
            "stop": stop, "reused": done is not None}


def _one(job: tuple[str, int, int, str]) -> dict[str, Any]:
    """One (config, seed) run in a worker process (or its finished directory), then its best policy on
    fresh episodes."""
    slug, seed, env_steps, runs_dir = job
    import torch

    torch.set_num_threads(1)
    from evohyper.engine.replay import load_best

    overrides = [f"seed={seed}", "backend.name=local", "budget.seconds=null", f"budget.env_steps={env_steps}",
                 f"output.runs_dir={runs_dir}", "output.progress=false", "output.tensorboard=false",
                 f"name={slug}-s{seed}"]
    out = run_or_reuse(study_config(slug, overrides))
    best = load_best(out["run_dir"])
    best.task.decrease_rewards_by = 0.0  # the environment's own reward (alive bonus included)
    fresh = best.replay(FRESH_EPISODES, seed=FRESH_SEED + seed)
    return {**out, "slug": slug, "seed": seed, "fresh": fresh.returns, "fresh_lengths": fresh.lengths}


def _shipped_halfcheetah(runs_dir: Path) -> dict[str, Any]:
    """``evohyper run search_spaces/halfcheetah_pgpe.yaml`` as shipped (2 Ray actors, 600 s)."""
    return run_or_reuse(study_config("halfcheetah_pgpe", [f"output.runs_dir={runs_dir}", "output.progress=false",
                                                          "output.tensorboard=false"]))


def run_all(runs_dir: Path) -> dict[str, Any]:
    jobs = [(s.slug, seed, s.env_steps, str(runs_dir)) for s in STUDIES for seed in SEEDS]
    started = time.perf_counter()
    load0 = os.getloadavg()
    import multiprocessing

    with ProcessPoolExecutor(max_workers=PARALLEL, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_one, jobs))
    seeds_wall = time.perf_counter() - started
    shipped = _shipped_halfcheetah(runs_dir)
    return {"results": results, "shipped": shipped, "seeds_wall": seeds_wall, "total": time.perf_counter() - started,
            "load": (load0, os.getloadavg())}


# ----------------------------------------------------------------------------- the report
def _band(runs: list[dict[str, Any]], x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = [np.array([r[x_key] for r in run["rows"]]) for run in runs]
    ys = [np.array([r[y_key] for r in run["rows"]]) for run in runs]
    grid = np.linspace(max(x[0] for x in xs), min(x[-1] for x in xs), 100)
    curves = np.stack([np.interp(grid, x, y) for x, y in zip(xs, ys)])
    return grid, curves.mean(0), curves.std(0)


def plot(res: dict[str, Any], path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(STUDIES) + 1, 2, figsize=(11, 3.0 * (len(STUDIES) + 1)), dpi=90)
    for row, study in enumerate(STUDIES):
        runs = [r for r in res["results"] if r["slug"] == study.slug]
        for col, (key, label) in enumerate((("env_steps", "env steps"), ("seconds", "wall-clock s (1 core)"))):
            ax = axes[row, col]
            for y_key, style in (("mean", "-"), ("best_so_far", "--")):
                grid, mean, std = _band(runs, key, y_key)
                name = "population mean" if y_key == "mean" else "best so far"
                ax.plot(grid, mean, style, lw=1.8, label=f"{name} (mean of {len(runs)} seeds)")
                ax.fill_between(grid, mean - std, mean + std, alpha=0.2)
            ax.set_xlabel(label)
            ax.set_ylabel("return")
            ax.set_title(study.title, fontsize=9)
            ax.grid(alpha=0.3)
        axes[row, 0].legend(fontsize=7)
    rows = res["shipped"]["rows"]
    for col, key in enumerate(("env_steps", "seconds")):
        ax = axes[-1, col]
        ax.plot([r[key] for r in rows], [r["mean"] for r in rows], label="population mean")
        ax.plot([r[key] for r in rows], [r["best_so_far"] for r in rows], "--", label="best so far")
        ax.set_xlabel("env steps" if key == "env_steps" else "wall-clock s (2 Ray actors)")
        ax.set_title("halfcheetah_pgpe.yaml as shipped (2 actors, 600 s, seed 0)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[-1, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _ms(values: list[float], fmt: str = ".1f") -> str:
    a = np.asarray(values, dtype=float)
    return f"{a.mean():{fmt}} ± {a.std():{fmt}}"


def _reused(res: dict[str, Any]) -> str:
    """Which runs an earlier, interrupted invocation had finished (their load is not the one above)."""
    runs = [*res["results"], res["shipped"]]
    n = sum(r["reused"] for r in runs)
    if not n:
        return ""
    return (f"{n} of the {len(runs)} runs were finished by an earlier, interrupted invocation of this script "
            "and reused as they were (`finished_run`: same resolved config, budget spent, `best/` written); "
            "their wall-clock figures were measured then, under that invocation's load. ")


def write(res: dict[str, Any], out_dir: Path, command: str) -> Path:
    import gymnasium
    import torch

    png = plot(res, out_dir / "control.png")
    lines = ["# Control tasks: gymnasium and MuJoCo", "",
             f"Generated by `{command}` (`experiments/control.py`). Every config of `search_spaces/` below ran "
             f"for seeds {SEEDS} with the in-process backend, one torch thread, an env-step budget and two runs at "
             f"a time on this 2-core machine (shared with other work: load average "
             f"{'/'.join(f'{x:.1f}' for x in res['load'][0])} at the start, "
             f"{'/'.join(f'{x:.1f}' for x in res['load'][1])} after the seeded runs, so wall-clock figures are "
             f"inflated and noisy; env-step curves are not). The seeded runs' search loops took "
             f"{sum(r['wall'] for r in res['results']) / 60:.1f} min in all (two at a time). "
             f"{_reused(res)}This invocation took {res['seeds_wall'] / 60:.1f} min for the seeded runs and "
             f"replays, {res['total'] / 60:.1f} min in all. Python {platform.python_version()}, torch "
             f"{torch.__version__}, gymnasium {gymnasium.__version__}.", "",
             "**Columns.** *Population mean* and *best so far* are the last generation's mean return and the "
             "best single evaluation seen (one or a few episodes, so optimistic); *best policy, 20 fresh episodes*: "
             f"the exported best individual (`best/`, with the observation statistics it was scored with) replayed "
             f"by `evohyper show RUN_DIR --episodes {FRESH_EPISODES} --seed {FRESH_SEED}+seed` on episodes never "
             "used for fitness, with the environment's own reward (alive bonus included); mean ± std over the "
             f"{len(SEEDS)} seeds of each seed's {FRESH_EPISODES}-episode mean.", "",
             "| config | task | env steps used | generations | search loop per run | population mean | "
             "best so far | best policy, 20 fresh episodes | registered threshold |",
             "|---|---|---|---|---|---|---|---|---|"]
    for study in STUDIES:
        runs = [r for r in res["results"] if r["slug"] == study.slug]
        threshold = gymnasium.spec(study.env).reward_threshold
        lines.append(
            f"| `{study.slug}.yaml` | {study.title} | {runs[0]['rows'][-1]['env_steps']:,.0f} | "
            f"{_ms([r['rows'][-1]['generation'] for r in runs], '.0f')} | {_ms([r['wall'] for r in runs], '.0f')} s | "
            f"{_ms([r['rows'][-1]['mean'] for r in runs])} | {_ms([r['rows'][-1]['best_so_far'] for r in runs])} | "
            f"{_ms([float(np.mean(r['fresh'])) for r in runs])} | {threshold if threshold is not None else '—'} |")
    lines += ["", f"![learning curves]({png.name})", "", "## Per seed", "",
              "| config | seed | final population mean | best so far | 20 fresh episodes: mean ± std (min, max) | "
              "mean episode length | run seconds |", "|---|---|---|---|---|---|---|"]
    for r in res["results"]:
        f = np.asarray(r["fresh"])
        lines.append(f"| `{r['slug']}` | {r['seed']} | {r['rows'][-1]['mean']:.1f} | {r['rows'][-1]['best_so_far']:.1f} | "
                     f"{f.mean():.1f} ± {f.std():.1f} ({f.min():.1f}, {f.max():.1f}) | "
                     f"{np.mean(r['fresh_lengths']):.0f} | {r['wall']:.0f} |")
    rows = res["shipped"]["rows"]
    marks = [next((r for r in rows if r["seconds"] >= t), rows[-1]) for t in (60, 120, 240, 360, 480, 600)]
    lines += ["", "## `halfcheetah_pgpe.yaml` as shipped: 10 minutes on 2 cores", "",
              f"`evohyper run search_spaces/halfcheetah_pgpe.yaml` (seed 0, 2 Ray actors, budget 600 s; stopped: "
              f"{res['shipped']['stop']}). Population mean return as the run went (last plot row):", "",
              "| after (s) | generation | env steps | population mean | best so far |", "|---|---|---|---|---|"]
    lines += [f"| {r['seconds']:.0f} | {r['generation']:.0f} | {r['env_steps']:,.0f} | {r['mean']:.1f} | "
              f"{r['best_so_far']:.1f} |" for r in marks]
    lines += ["", "## References and how the setups differ", ""]
    lines += [f"- `{s.slug}`: {s.reference}" for s in STUDIES]
    lines += ["", "Reproduce: `python -m experiments.make_reports control` (all of the above), or one run: "
              "`evohyper run search_spaces/<config>.yaml --set seed=S --set backend.name=local --set "
              "budget.seconds=null --set budget.env_steps=N`, then `evohyper show RUN_DIR --episodes 20 --seed S'`.",
              ""]
    out = out_dir / "control.md"
    out.write_text("\n".join(lines))
    return out


def control_report(out_dir: Path, command: str) -> Path:
    """Run everything (run directories under runs/control-report/, not committed), write the report and
    ``control.json`` (each run's curve and fresh-episode returns: what the markdown is made from)."""
    import json

    res = run_all(Path("runs") / "control-report")
    keep = ("generation", "env_steps", "seconds", "mean", "best", "best_so_far")
    slim = {**res, "results": [{**r, "rows": [{k: row[k] for k in keep} for row in r["rows"]]} for r in res["results"]],
            "shipped": {**res["shipped"], "rows": [{k: row[k] for k in keep} for row in res["shipped"]["rows"]]}}
    (out_dir / "control.json").write_text(json.dumps(slim, indent=1))
    return write(res, out_dir, command)
