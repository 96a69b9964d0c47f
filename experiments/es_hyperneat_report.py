"""`make reports es_hyperneat`: ES-HyperNEAT vs fixed-substrate HyperNEAT on the same budget, two tasks.

Each pair of configs (``search_spaces/es_hyperneat_<task>.yaml`` and ``hyperneat_<task>.yaml``) shares
the NEAT settings, the population and the number of generations; only the decoder differs (the hidden
nodes placed by the CPPN's quadtree search vs a hand-placed substrate). Runs go through the engine
(``evohyper run`` with the overrides listed in the report), so a row is reproduced by one command.
"""
from __future__ import annotations

import json
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from experiments.multi_seed import band, run_seeds
from experiments.neat_engine_label import engine_label

TASKS = {"visual": ("visual discrimination 11x11", "ES-HyperNEAT: a hidden sheet over the 11x11 square between "
                                                   "the input and output sheets; fixed: no hidden layer (the "
                                                   "classic sandwich)"),
         "pendulum": ("Pendulum-v1 (gymnasium)", "ES-HyperNEAT: the 3 observations on y = -1, the torque at "
                                                 "(0, 1), hidden nodes in the plane between; fixed: 3-16-1 rows")}
METHODS = (("es_hyperneat", "ES-HyperNEAT"), ("hyperneat", "HyperNEAT (fixed substrate)"))


def _plot(results: dict[tuple[str, str], list[dict[str, Any]]], task: str, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
    for (method, label), colour in zip(METHODS, ("#d95f02", "#1b9e77")):
        runs = results[(task, method)]
        for ax, key in ((axes[0], "generation"), (axes[1], "seconds")):
            grid, mean, std = band(runs, key)
            ax.plot(grid, mean, color=colour, lw=2, label=f"{label} (mean of {len(runs)} seeds)")
            ax.fill_between(grid, mean - std, mean + std, color=colour, alpha=0.15)
    for ax, label in zip(axes, ("generation", "wall-clock seconds (one process, 1 torch thread)")):
        ax.set_xlabel(label)
        ax.set_ylabel("best fitness so far")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{TASKS[task][0]}: ES-HyperNEAT vs fixed-substrate HyperNEAT (± std over seeds)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _champion(run_dir: Path) -> dict[str, Any]:
    best = json.loads((run_dir / "best" / "phenotype.json").read_text())
    phen = best.get("phenotype", {})
    return {"hidden": (phen.get("hidden_nodes") or [None])[0], "links": phen.get("links"),
            "pictures": best.get("pictures", [])}


def es_hyperneat_report(out_dir: Path, seeds: dict[str, list[int]], overrides: list[str],
                        task_overrides: dict[str, list[str]] | None = None) -> Path:
    started = time.perf_counter()
    torch.set_num_threads(1)
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    champions: dict[tuple[str, str], list[dict[str, Any]]] = {}
    pictures: dict[str, list[Path]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for task in TASKS:
            for method, _ in METHODS:
                cfg = Path("search_spaces") / f"{method}_{task}.yaml"
                runs = run_seeds(cfg, seeds[task], [*overrides, *(task_overrides or {}).get(task, [])], Path(tmp))
                results[(task, method)] = runs
                champions[(task, method)] = [_champion(Path(r["summary"]["run_dir"])) for r in runs]
            best = max(results[(task, "es_hyperneat")], key=lambda r: (r["summary"]["best_fitness"], -r["seed"]))
            run_dir = Path(best["summary"]["run_dir"])
            pictures[task] = []
            for pic in _champion(run_dir)["pictures"]:
                dest = out_dir / f"es_hyperneat_{task}_{Path(pic).name}"
                dest.write_bytes((run_dir / pic).read_bytes())
                pictures[task].append(dest)
            pictures[task].insert(0, _plot(results, task, out_dir / f"es_hyperneat_{task}.png"))
            pictures[task].append(best["seed"])  # type: ignore[arg-type]
    cmd = "make reports" if not sys.argv[1:] else "python -m experiments.make_reports " + \
        " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = ["# ES-HyperNEAT vs fixed-substrate HyperNEAT, same budget", "",
             "ES-HyperNEAT (Risi & Stanley 2012; decoder `es_hyperneat`, batched quadtree search) and HyperNEAT "
             "(decoder `hyperneat`, hand-placed substrate) evolve neat-python CPPNs with the same NEAT settings, "
             "population and generations; only the decoder differs. Each task's pair of configs is "
             "`search_spaces/es_hyperneat_<task>.yaml` / `search_spaces/hyperneat_<task>.yaml`; overrides for "
             f"every run: {', '.join(f'`{o}`' for o in overrides)}. "
             f"{engine_label(Path('search_spaces') / 'hyperneat_visual.yaml', overrides)} Seconds are wall-clock "
             "of one process with "
             "one torch thread on a shared 2-core machine (other jobs ran at the same time: compare them "
             "loosely).", ""]
    for task, (title, layout) in TASKS.items():
        extra = (task_overrides or {}).get(task, [])
        lines += [f"## {title}", "", f"Layouts: {layout}. Seeds {seeds[task]}"
                  + (f"; overrides for this task: {', '.join(f'`{o}`' for o in extra)}" if extra else "") + ".", "",
                  "| method | seed | generations | best fitness | seconds | s / generation | champion hidden nodes "
                  "| champion links (in-hid / hid-hid / hid-out) |", "|---|---|---|---|---|---|---|---|"]
        for method, label in METHODS:
            for res, champ in zip(results[(task, method)], champions[(task, method)]):
                s = res["summary"]
                links = champ["links"]
                link_text = (f"{links['in_hidden']} / {links['hidden_hidden']} / {links['hidden_out']}"
                             if links else "fixed")
                lines.append(f"| {label} | {res['seed']} | {s['generations']} | {s['best_fitness']:.2f} | "
                             f"{s['seconds']:.0f} | {s['seconds'] / max(1, s['generations']):.2f} | "
                             f"{champ['hidden'] if champ['hidden'] is not None else 'fixed'} | {link_text} |")
        for method, label in METHODS:
            f = np.array([r["summary"]["best_fitness"] for r in results[(task, method)]])
            sec = np.array([r["summary"]["seconds"] / max(1, r["summary"]["generations"])
                            for r in results[(task, method)]])
            lines.append(f"| **{label}: mean ± std** | | | **{f.mean():.2f} ± {f.std():.2f}** | | {sec.mean():.2f} | | |")
        es_f, hn_f = (np.mean([r["summary"]["best_fitness"] for r in results[(task, m)]]) for m, _ in METHODS)
        es_t, hn_t = (np.mean([r["summary"]["seconds"] / max(1, r["summary"]["generations"])
                               for r in results[(task, m)]]) for m, _ in METHODS)
        lines += ["", f"At this budget ES-HyperNEAT reached a mean best fitness of {es_f:.2f} against "
                  f"{hn_f:.2f} for the fixed substrate ({'higher' if es_f > hn_f else 'lower'}), at "
                  f"{es_t / hn_t:.1f}x the time per generation."]
        plot, *pics, seed = pictures[task]
        lines += ["", f"![learning curves]({plot.name})", "",
                  f"The best ES-HyperNEAT champion (seed {seed}): its CPPN and the substrate it discovered.", ""]
        lines += [f"![{p.stem}]({p.name})" for p in pics]
        lines.append("")
    lines += [f"Generated by `{cmd}` in {time.perf_counter() - started:.0f} s with Python "
              f"{platform.python_version()}, torch {torch.__version__} on {platform.machine()}. Reproduce one run: "
              "`evohyper run search_spaces/<method>_<task>.yaml --set seed=N "
              + " ".join(f"--set {o}" for o in overrides) + "`"
              + "".join(f" (for {t}: " + " ".join(f"--set {o}" for o in extra) + ")"
                        for t, extra in (task_overrides or {}).items()) + ".", ""]
    out = out_dir / "es_hyperneat.md"
    out.write_text("\n".join(lines))
    return out
