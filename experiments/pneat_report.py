"""HyperNEAT vs P-NEAT on visual discrimination (Stanley, D'Ambrosio & Gauci 2009, fig. 10a), with
generalisation to held-out box placements; a section of ``reports/hyperneat_visual.md``.

P-NEAT is direct NEAT (decoder ``neat``) evolving the substrate's 121 x 121 connections
(``search_spaces/pneat_visual.yaml``); HyperNEAT is ``search_spaces/hyperneat_visual.yaml``. Both score
150 held-out placements every generation (task option ``heldout``), so the curves show the generation
champion's held-out mean distance and hit rate as well as the training fitness.

A P-NEAT generation costs minutes on a small CPU: neat-python's crossover, mutation and speciation loop
over all 14,641 connection genes of each of the 150 genomes. The runs are therefore resumable: each seed
is a run directory under ``--runs-dir``, a finished one (``best/phenotype.json``) is reused. Usage::

    python -m experiments.pneat_report [--seeds 0-9] [--pneat-seeds 0-3] [--pneat-generations 150]
                                       [--runs-dir runs/pneat]
"""
from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from experiments.neat_engine_label import engine_label, engine_of

ROOT = Path.cwd()
CONFIGS = {"HyperNEAT": ROOT / "search_spaces" / "hyperneat_visual.yaml",
           "P-NEAT": ROOT / "search_spaces" / "pneat_visual.yaml"}
COMMON = ["backend.name=local", "output.progress=false", "output.tensorboard=false", "task.heldout=150",
          "output.checkpoint_every=1000"]
START, END = "<!-- pneat-comparison:start -->", "<!-- pneat-comparison:end -->"


def run_seed(method: str, seed: int, generations: int, runs_dir: Path, engine: str | None = None) -> Path:
    """The run directory of one (method, seed), run now unless a finished one exists; ``engine`` sets
    ``strategy.engine`` (null: the config's)."""
    from evohyper.config import apply_overrides, load_raw, validate
    from evohyper.engine.runner import run

    made_by, dtype = engine_of(CONFIGS[method], [f"strategy.engine={engine}"] if engine else [])
    tag = made_by if made_by == "neat-python" else f"batched-{dtype}"   # a cached run keeps its engine and dtype
    base = runs_dir / f"{method.lower()}-seed{seed}-g{generations}-{tag}"
    done = [d for d in sorted(runs_dir.glob(f"{base.name}/*")) if (d / "best" / "phenotype.json").is_file()]
    if done:
        return done[-1]
    over = [*COMMON, f"seed={seed}", f"budget.generations={generations}", f"output.runs_dir={base}",
            *([f"strategy.engine={engine}"] if engine else [])]
    started = time.perf_counter()
    _, run_dir = run(validate(apply_overrides(load_raw(CONFIGS[method]), over)))
    print(f"[pneat] {method} seed {seed}: {time.perf_counter() - started:.0f} s -> {run_dir}", flush=True)
    return run_dir


def curves(run_dirs: list[Path], key: str, generations: int) -> np.ndarray:
    """``[seeds, generations]`` of a metrics.csv column (a run that stopped at the target holds its last row)."""
    from evohyper.viz.run_report import read_metrics

    out = []
    for d in run_dirs:
        values = [r[key] for r in read_metrics(d)]
        out.append(values + [values[-1]] * (generations - len(values)))
    return np.array(out, dtype=float)


def _plot(data: dict[str, dict[str, np.ndarray]], runs: dict[str, list[Path]], path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evohyper.viz.run_report import read_metrics

    panels = [("best_so_far", "best fitness so far (training trials)"),
              ("heldout_mean_distance_of_best", "champion's held-out mean distance (cells)"),
              ("heldout_hit_rate_of_best", "champion's held-out hit rate")]
    fig, axes = plt.subplots(1, 4, figsize=(18, 3.9), dpi=110)
    colours = dict(zip(data, ("#1f77b4", "#d62728")))
    for ax, (key, label) in zip(axes, panels):
        for method, d in data.items():
            y = d[key]
            x = np.arange(1, y.shape[1] + 1)
            ax.plot(x, y.mean(0), color=colours[method], lw=2, label=f"{method} (mean of {y.shape[0]})")
            ax.fill_between(x, y.mean(0) - y.std(0), y.mean(0) + y.std(0), color=colours[method], alpha=0.2)
        ax.set_xlabel("generation")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for method, method_runs in runs.items():   # one line per seed: wall-clock is what a run costs
        for i, r in enumerate(method_runs):
            rows = read_metrics(r)
            axes[3].plot([row["seconds"] for row in rows], [row["best_so_far"] for row in rows], color=colours[method],
                         lw=1, alpha=0.7, label=method if i == 0 else None)
    axes[3].set_xscale("log")
    axes[3].set_xlabel("wall-clock seconds (shared, loaded 2-core machine)")
    axes[3].set_ylabel("best fitness so far (one line per seed)")
    axes[3].grid(alpha=0.3)
    axes[3].legend()
    axes[0].legend()
    fig.suptitle("HyperNEAT vs P-NEAT, visual discrimination 11x11 (bands: ± std over seeds)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _seconds_per_generation(runs: list[Path]) -> float:
    """Median over seeds of a run's wall-clock seconds per generation."""
    from evohyper.viz.run_report import read_metrics

    return float(np.median([(r := read_metrics(d)[-1])["seconds"] / r["generation"] for d in runs]))


def _row(method: str, runs: list[Path], d: dict[str, np.ndarray]) -> str:
    from evohyper.viz.run_report import read_metrics

    final = d["best_so_far"][:, -1]
    last = [read_metrics(r)[-1] for r in runs]
    h_dist = np.array([r["heldout_mean_distance_of_best"] for r in last])
    h_hit = np.array([r["heldout_hit_rate_of_best"] for r in last])
    solved = int((final >= 100.0 - 1e-9).sum())
    return (f"| {method} | {len(runs)} | {d['best_so_far'].shape[1]} | {final.mean():.2f} ± {final.std():.2f} | "
            f"{solved} of {len(runs)} | {h_dist.mean():.2f} ± {h_dist.std():.2f} | {h_hit.mean():.2f} ± {h_hit.std():.2f} "
            f"| {_seconds_per_generation(runs):.1f} |")


KEYS = ("best_so_far", "heldout_mean_distance_of_best", "heldout_hit_rate_of_best")


def _at(runs: list[Path], generation: int | None = None, seconds: float | None = None) -> str:
    """Mean ± std over seeds of KEYS at a generation, or at the last generation finished within ``seconds``
    (a run that stopped early, at the target, counts with its last row)."""
    from evohyper.viz.run_report import read_metrics

    picked = []
    for r in runs:
        rows = read_metrics(r)
        if generation is not None:
            picked.append(rows[min(generation, len(rows)) - 1])
        else:
            within = [row for row in rows if row["seconds"] <= seconds]
            picked.append(within[-1] if within else rows[0])
    gens = np.array([row["generation"] for row in picked])
    cells = [f"{np.mean(v):.2f} ± {np.std(v):.2f}" for v in ([row[k] for row in picked] for k in KEYS)]
    return " | ".join([f"{np.median(gens):.0f}", *cells])


def section(results: dict[str, tuple[list[Path], int]], seeds: dict[str, list[int]], out_dir: Path, command: str,
            seconds: float, engine: str | None = None) -> str:
    """The report section; ``results`` maps a method to (its run directories, its generation budget)."""
    from evohyper.viz.run_report import read_metrics

    data = {m: {k: curves(runs, k, g) for k in KEYS} for m, (runs, g) in results.items()}
    png = _plot(data, {m: runs for m, (runs, _) in results.items()}, out_dir / "hyperneat_visual_pneat.png")
    common = min(g for _, g in results.values())
    p_runs, p_gens = results["P-NEAT"]
    p_seconds = float(np.median([read_metrics(r)[-1]["seconds"] for r in p_runs]))
    lines = [START, "## HyperNEAT vs P-NEAT (direct NEAT) and generalisation to held-out placements", "",
             "The paper's baseline (Stanley et al. 2009, fig. 10a): P-NEAT evolves the substrate's 121 x 121 = 14,641 "
             "connections directly, a neat-python genome per network (decoder `neat`, `search_spaces/pneat_visual.yaml`: "
             "121 inputs, 121 identity outputs, fully connected at the start, no hidden nodes); HyperNEAT evolves CPPNs "
             "that paint those weights (`search_spaces/hyperneat_visual.yaml`). Same task, fitness and population (150). "
             "Both runs score 150 held-out box placements every generation, never used for fitness "
             "(`task.heldout: 150`: small box anywhere on the field, large box fully in view and not touching it, "
             "not one of the 75 training trials, drawn once with a fixed seed); the curves follow each generation's "
             "champion (best training fitness) on them.", "",
             "| method | seeds | generations | final best fitness (mean ± std) | solved (fitness 100) | champion's "
             "held-out mean distance (cells) | champion's held-out hit rate | seconds per generation (median) |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [_row(m, runs, data[m]) for m, (runs, _) in results.items()]
    lines += ["", f"NEAT engine: `{engine}` (strategy option `engine`) for both methods." if engine else
              engine_label(ROOT / "search_spaces" / "pneat_visual.yaml") + " (the configs' default, both methods)"]
    lines += ["", "At equal budgets (mean ± std over each method's seeds; a run that reached fitness 100 earlier "
              "counts with its last generation):", "",
              "| budget | method | generation (median) | best fitness so far | champion's held-out mean distance "
              "| champion's held-out hit rate |", "|---|---|---|---|---|---|"]
    for label, kw in ((f"{common} generations", {"generation": common}),
                      (f"{p_seconds:.0f} s wall-clock (P-NEAT's median for its {p_gens} generations)",
                       {"seconds": p_seconds})):
        lines += [f"| {label} | {m} | {_at(runs, **kw)} |" for m, (runs, _) in results.items()]
    lines += ["", "Wall-clock figures come from runs on a shared 2-core machine under varying load from other "
              "jobs (noisy, up to a few times apart between seeds of the same method); the fourth panel plots them "
              "per seed.", "", f"![HyperNEAT vs P-NEAT]({png.name})", ""]
    if p_gens < results["HyperNEAT"][1] or len(p_runs) < len(results["HyperNEAT"][0]):
        ratio = _seconds_per_generation(p_runs) / _seconds_per_generation(results["HyperNEAT"][0])
        lines += [f"**Reduced study.** P-NEAT ran {len(p_runs)} seeds of {p_gens} generations, HyperNEAT "
                  f"{len(results['HyperNEAT'][0])} seeds of up to {results['HyperNEAT'][1]}: on this shared 2-core "
                  f"machine one P-NEAT generation takes {ratio:.0f} times as long as a HyperNEAT one (the medians above; "
                  "the machine was loaded several times over), most of it inside neat-python's reproduction and speciation: "
                  "measured for one generation, 15 CPU seconds in neat-python (crossover, mutation and compatibility "
                  "distances loop in Python over the 14,641 connection genes of each of the 150 genomes), 10.5 with "
                  "Python's cyclic garbage collector paused during neat-python's calls (the strategy does so since "
                  "commit 631f17a; P-NEAT seeds run before it did not), against about 3 CPU seconds for evohyper's "
                  "decode and batched evaluation of the whole population. The full comparison is `python -m experiments.pneat_report --pneat-generations 150` "
                  "(about 150 x the per-generation time per seed).", ""]
    lines += [f"Generated by `{command}` (runs reused where finished; this call {seconds / 60:.0f} min), Python "
              f"{platform.python_version()} on {platform.machine()}. Seeds: "
              + "; ".join(f"{m} {v}" for m, v in seeds.items()) + f". Overrides of both configs: {', '.join(COMMON)}. "
              "One seed: `evohyper run search_spaces/pneat_visual.yaml --set seed=N --set budget.generations=G "
              + " ".join(f"--set {o}" for o in COMMON) + "`.", END]
    return "\n".join(lines)


def splice(report: Path, text: str) -> Path:
    """Put ``text`` into ``report`` between the markers (replacing an earlier version), else append it."""
    old = report.read_text() if report.is_file() else ""
    if START in old and END in old:
        new = old[:old.index(START)] + text + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    report.write_text(new)
    return report


def pneat_report(out_dir: Path, seeds: list[int], pneat_generations: int = 150, hyperneat_generations: int = 150,
                 runs_dir: Path = ROOT / "runs" / "pneat", command: str | None = None,
                 pneat_seeds: list[int] | None = None, engine: str | None = None) -> Path:
    """Run the missing seeds (P-NEAT: ``pneat_seeds``, default ``seeds``) and splice the section into the report."""
    started = time.perf_counter()
    runs_dir.mkdir(parents=True, exist_ok=True)
    chosen = {"HyperNEAT": (seeds, hyperneat_generations), "P-NEAT": (pneat_seeds or seeds, pneat_generations)}
    results = {m: ([run_seed(m, s, g, runs_dir, engine) for s in ss], g) for m, (ss, g) in chosen.items()}
    cmd = command or "python -m experiments.pneat_report " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    text = section(results, {m: ss for m, (ss, _) in chosen.items()}, out_dir, cmd, time.perf_counter() - started,
                   engine)
    return splice(out_dir / "hyperneat_visual.md", text)


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="0-9", help="e.g. 0-9 or 0,1,2")
    p.add_argument("--pneat-seeds", default=None, help="P-NEAT's seeds if fewer (default: --seeds)")
    p.add_argument("--pneat-generations", type=int, default=150)
    p.add_argument("--hyperneat-generations", type=int, default=150)
    p.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "pneat")
    p.add_argument("--out", type=Path, default=ROOT / "reports")
    p.add_argument("--runs-only", action="store_true", help="run the missing seeds, write no report")
    p.add_argument("--engine", choices=["batched", "neat-python"], default=None,
                   help="strategy.engine of both methods (default: the configs')")
    args = p.parse_args(argv)
    if args.runs_only:
        for method, g in (("HyperNEAT", args.hyperneat_generations), ("P-NEAT", args.pneat_generations)):
            for s in _seeds(args.pneat_seeds if method == "P-NEAT" and args.pneat_seeds else args.seeds):
                run_seed(method, s, g, args.runs_dir, args.engine)
        return 0
    print(pneat_report(args.out, _seeds(args.seeds), args.pneat_generations, args.hyperneat_generations,
                       args.runs_dir, pneat_seeds=_seeds(args.pneat_seeds) if args.pneat_seeds else None,
                       engine=args.engine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
