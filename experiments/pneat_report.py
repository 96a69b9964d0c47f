"""HyperNEAT vs P-NEAT on visual discrimination (Stanley, D'Ambrosio & Gauci 2009, fig. 10a), with
generalisation to held-out box placements; a section of ``reports/hyperneat_visual.md``.

P-NEAT is direct NEAT (decoder ``neat``) evolving the substrate's 121 x 121 connections
(``search_spaces/pneat_visual.yaml``); HyperNEAT is ``search_spaces/hyperneat_visual.yaml``. Both score
150 held-out placements every generation (task option ``heldout``), so the curves show the generation
champion's held-out mean distance and hit rate as well as the training fitness.

A P-NEAT generation costs minutes on a small CPU: neat-python's crossover, mutation and speciation loop
over all 14,641 connection genes of each of the 150 genomes. The runs are therefore resumable: each seed
is a run directory under ``--runs-dir``, a finished one (``best/phenotype.json``) is reused. Usage::

    python -m experiments.pneat_report [--seeds 0-9] [--pneat-generations 150] [--runs-dir runs/pneat]
"""
from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path.cwd()
CONFIGS = {"HyperNEAT": ROOT / "search_spaces" / "hyperneat_visual.yaml",
           "P-NEAT": ROOT / "search_spaces" / "pneat_visual.yaml"}
COMMON = ["backend.name=local", "output.progress=false", "output.tensorboard=false", "task.heldout=150",
          "output.checkpoint_every=1000"]
START, END = "<!-- pneat-comparison:start -->", "<!-- pneat-comparison:end -->"


def run_seed(method: str, seed: int, generations: int, runs_dir: Path) -> Path:
    """The run directory of one (method, seed), run now unless a finished one exists."""
    from evohyper.config import apply_overrides, load_raw, validate
    from evohyper.engine.runner import run

    base = runs_dir / f"{method.lower()}-seed{seed}-g{generations}"
    done = [d for d in sorted(runs_dir.glob(f"{base.name}/*")) if (d / "best" / "phenotype.json").is_file()]
    if done:
        return done[-1]
    over = [*COMMON, f"seed={seed}", f"budget.generations={generations}", f"output.runs_dir={base}"]
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


def _plot(data: dict[str, dict[str, np.ndarray]], path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("best_so_far", "best fitness so far (training trials)"),
              ("heldout_mean_distance_of_best", "champion's held-out mean distance (cells)"),
              ("heldout_hit_rate_of_best", "champion's held-out hit rate")]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.9), dpi=110)
    for ax, (key, label) in zip(axes, panels):
        for (method, d), colour in zip(data.items(), ("#1f77b4", "#d62728")):
            y = d[key]
            x = np.arange(1, y.shape[1] + 1)
            ax.plot(x, y.mean(0), color=colour, lw=2, label=f"{method} (mean of {y.shape[0]})")
            ax.fill_between(x, y.mean(0) - y.std(0), y.mean(0) + y.std(0), color=colour, alpha=0.2)
        ax.set_xlabel("generation")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("HyperNEAT vs P-NEAT, visual discrimination 11x11 (bands: ± std over seeds)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _row(method: str, runs: list[Path], d: dict[str, np.ndarray]) -> str:
    from evohyper.viz.run_report import read_metrics

    final = d["best_so_far"][:, -1]
    last = [read_metrics(r)[-1] for r in runs]
    secs = np.array([r["seconds"] / r["generation"] for r in last])
    h_dist = np.array([r["heldout_mean_distance_of_best"] for r in last])
    h_hit = np.array([r["heldout_hit_rate_of_best"] for r in last])
    solved = int((final >= 100.0 - 1e-9).sum())
    return (f"| {method} | {len(runs)} | {d['best_so_far'].shape[1]} | {final.mean():.2f} ± {final.std():.2f} | "
            f"{solved} of {len(runs)} | {h_dist.mean():.2f} ± {h_dist.std():.2f} | {h_hit.mean():.2f} ± {h_hit.std():.2f} "
            f"| {np.median(secs):.1f} |")


def section(results: dict[str, tuple[list[Path], int]], seeds: list[int], out_dir: Path, command: str,
            seconds: float) -> str:
    data = {m: {k: curves(runs, k, g) for k in ("best_so_far", "heldout_mean_distance_of_best",
                                                 "heldout_hit_rate_of_best")}
            for m, (runs, g) in results.items()}
    png = _plot(data, out_dir / "hyperneat_visual_pneat.png")
    common = min(g for _, g in results.values())
    at = {m: d["best_so_far"][:, common - 1] for m, d in data.items()}
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
    lines += ["", f"At generation {common} (the budget both methods ran): "
              + "; ".join(f"{m} best fitness {v.mean():.2f} ± {v.std():.2f}" for m, v in at.items()) + ".", "",
              f"![HyperNEAT vs P-NEAT]({png.name})", ""]
    p_gens = results["P-NEAT"][1]
    if p_gens < results["HyperNEAT"][1]:
        lines += [f"**Reduced study.** P-NEAT ran {p_gens} generations per seed, not the "
                  f"{results['HyperNEAT'][1]} HyperNEAT ran: on this shared 2-core machine one P-NEAT generation takes "
                  "minutes (the median above), almost all inside neat-python's reproduction and speciation, which loop "
                  "over the 14,641 connection genes of each of the 150 genomes in Python; evohyper's batched decode "
                  "and evaluation of the whole population take seconds. The full comparison is "
                  "`python -m experiments.pneat_report --pneat-generations 150` (about 150 x the per-generation time "
                  "per seed).", ""]
    lines += [f"Generated by `{command}` (runs reused where finished; this call {seconds / 60:.0f} min), Python "
              f"{platform.python_version()} on {platform.machine()}. Seeds {seeds} for both methods. Overrides of both "
              f"configs: {', '.join(COMMON)}. One seed: `evohyper run search_spaces/pneat_visual.yaml --set seed=N "
              f"--set budget.generations=G " + " ".join(f"--set {o}" for o in COMMON) + "`.", END]
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
                 runs_dir: Path = ROOT / "runs" / "pneat", command: str | None = None) -> Path:
    started = time.perf_counter()
    runs_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, tuple[list[Path], int]] = {}
    for method, g in (("HyperNEAT", hyperneat_generations), ("P-NEAT", pneat_generations)):
        results[method] = ([run_seed(method, s, g, runs_dir) for s in seeds], g)
    cmd = command or "python -m experiments.pneat_report " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    return splice(out_dir / "hyperneat_visual.md", section(results, seeds, out_dir, cmd, time.perf_counter() - started))


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="0-9", help="e.g. 0-9 or 0,1,2")
    p.add_argument("--pneat-generations", type=int, default=150)
    p.add_argument("--hyperneat-generations", type=int, default=150)
    p.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "pneat")
    p.add_argument("--out", type=Path, default=ROOT / "reports")
    p.add_argument("--runs-only", action="store_true", help="run the missing seeds, write no report")
    args = p.parse_args(argv)
    if args.runs_only:
        for method, g in (("HyperNEAT", args.hyperneat_generations), ("P-NEAT", args.pneat_generations)):
            for s in _seeds(args.seeds):
                run_seed(method, s, g, args.runs_dir)
        return 0
    print(pneat_report(args.out, _seeds(args.seeds), args.pneat_generations, args.hyperneat_generations,
                       args.runs_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
