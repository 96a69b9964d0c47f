"""The report of `evohyper compare`: tables, parameter cells, the curves plot, the kept runs, budget notes."""
from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evohyper.engine.run_dir import RunDir

if TYPE_CHECKING:
    from evohyper.viz.compare_spec import CompareSpec


def _band(results: list[dict[str, Any]], x_key: str, log: bool, metric: str = "best_so_far"
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(grid, mean, min, max)`` of ``metric`` (default best-so-far) over seeds. Each seed's best-so-far is
    monotone, and so is every curve here: the grid starts where every seed has its first record (the set of
    seeds never changes along the axis), a seed's value is its last record at or before x (step
    interpolation), held after its last record, and mean, min and max of monotone curves are monotone (mean ±
    std is not). An archive's QD score and hypervolume are monotone too; a run without the column is NaN."""
    xs = [np.array([r[x_key] for r in res["rows"]], dtype=float) for res in results]
    ys = [np.array([r.get(metric, np.nan) for r in res["rows"]], dtype=float) for res in results]
    lo, hi = max(x[0] for x in xs), max(x[-1] for x in xs)
    grid = np.geomspace(max(lo, 1e-9), max(hi, lo, 1e-9), 200) if log else np.linspace(lo, hi, 200)
    grid[0] = max(grid[0], lo)   # geomspace rounding must not start before a seed's first record
    curves = np.stack([y[np.clip(np.searchsorted(x, grid, side="right") - 1, 0, None)] for x, y in zip(xs, ys)])
    return grid, curves.mean(0), curves.min(0), curves.max(0)


def plot(groups: dict[str, list[dict[str, Any]]], path: Path, title: str, metric: str = "best_so_far") -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), dpi=110)
    for ax, key, label in ((axes[0], "sample_forwards", "sample-forward passes (log)"),
                           (axes[1], "seconds", "wall-clock seconds (log)")):
        for i, (name, results) in enumerate(groups.items()):
            grid, mean, low, high = _band(results, key, log=True, metric=metric)
            color = f"C{i}"
            ax.plot(grid, mean, lw=2, color=color, label=f"{name} (n={len(results)})", drawstyle="steps-post")
            ax.fill_between(grid, low, high, alpha=0.2, color=color, step="post")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        what = "best fitness so far" if metric == "best_so_far" else metric
        ax.set_ylabel(f"{what} (mean; band: min–max over seeds)")
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


def genome_sizes(run_dir: Path) -> dict[str, float]:
    """Sizes of a best genome whose size varies (NEAT genomes, direct or CPPN): non-input nodes and enabled
    connections of ``best/genotype.json``, and the parameters (weights + biases) of the best network when
    the genome is the network (``best/phenotype.json``); empty for fixed-size genomes."""
    out: dict[str, float] = {}
    layout = RunDir(Path(run_dir))
    data = layout.best_genotype_json() or {}
    if isinstance(data, dict) and data.get("kind") == "neat-genome":
        out["nodes"] = len(data["genome"]["nodes"])
        out["connections"] = sum(bool(c[4]) for c in data["genome"]["connections"])
    net = (layout.best_summary() or {}).get("phenotype", {})
    if isinstance(net, dict) and "enabled_links" in net and "nodes" in net:
        out["network_params"] = sum(net["enabled_links"]) + sum(net["nodes"])
    return out


def _mean(values: list[float]) -> str:
    return f"{float(np.mean(values)):.3g}"


def _params(results: list[dict[str, Any]]) -> tuple[str, str, str, str]:
    """(searched numbers, decoder parameters, phenotype parameters, generated-layer sizes target ->
    hypernetwork) of one compared method. A genome of variable size (NEAT, direct or a CPPN) gives the best
    genome's size and the best network's parameters, as the mean over seeds; a decoder that declares no
    parameters of its own (NEAT, HyperNEAT) owns 0."""
    decoder, sizes = results[0]["decoder"], [genome_sizes(Path(r["summary"]["run_dir"])) for r in results]
    layers = decoder.get("generated_layers")
    gen = "-"
    if isinstance(layers, dict) and layers:
        def ratio(t: int, h: int) -> str:
            return f"{t / h:.1f}x fewer" if t >= h else f"{h / t:.1f}x more"
        gen = ", ".join(f"{k}: {v['target']} → {v['hypernetwork']} ({ratio(v['target'], v['hypernetwork'])})"
                        for k, v in layers.items())
    searched = decoder.get("genome_size")
    if searched is None and all("nodes" in z for z in sizes):
        searched = (f"best genome: {_mean([z['nodes'] for z in sizes])} nodes, "
                    f"{_mean([z['connections'] for z in sizes])} enabled connections")
    owned = decoder.get("trainable_params")
    if owned is None and decoder:
        owned = 0
    phenotype = decoder.get("target_params")
    if phenotype is None and all("network_params" in z for z in sizes):
        phenotype = f"{_mean([z['network_params'] for z in sizes])} (best network)"
    return tuple("-" if v is None else str(v) for v in (searched, owned, phenotype)) + (gen,)  # type: ignore[return-value]


def runs_lines(spec: CompareSpec, groups: dict[str, list[dict[str, Any]]], out_dir: Path) -> list[str]:
    """Links to every kept run directory (inspect with `evohyper show`, replay, export, resume)."""
    lines = ["## Runs", "",
             "Every run is a normal run directory: `evohyper show DIR` (`--episodes N` replays a control "
             "policy), `evohyper export DIR`, `evohyper resume DIR`.", ""]
    for run in spec.runs:
        links = []
        for r in sorted(groups[run.label], key=lambda r: r["seed"]):
            target = Path(r["summary"]["run_dir"])
            try:
                rel = os.path.relpath(target, out_dir)
            except ValueError:   # another drive (Windows)
                rel = str(target)
            links.append(f"[seed {r['seed']}]({rel})")
        lines.append(f"- {run.label}: {', '.join(links) or '-'}")
    return [*lines, ""]


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


def write_report(spec: CompareSpec, results: list[dict[str, Any]], out_dir: Path, command: str, seconds: float,
                 budget: str | None = None) -> Path:
    """``<out_dir>/compare_<name>.md`` and its PNG; ``budget``: the note that the methods' budgets differ."""
    out_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[dict[str, Any]]] = {r.label: [] for r in spec.runs}
    for res in results:
        groups[res["label"]].append(res)
    png = plot(groups, out_dir / f"compare_{spec.name}.png", spec.title or spec.name, spec.metric)
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
    if budget:
        lines[4:4] = [f"**Note:** {budget}; their figures are not like for like.", ""]
    for run in spec.runs:
        rs = groups[run.label]
        s = [r["summary"] for r in rs]
        cfg = RunDir(Path(s[0]["run_dir"])).raw_config() if s else {}
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
        "(genome size; for genomes of variable size, NEAT's, the best genome's non-input nodes and enabled "
        "connections, mean over seeds), *decoder* = parameters the decoder owns, *phenotype* = parameters of "
        "the network scored (of the best network, mean over seeds, where the genome is the network), "
        "*generated layers* = target layer size → hypernetwork parameters that produce it.",
        "",
        "| run | strategy | decoder | searched | decoder params | phenotype params | generated layers |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in spec.runs:
        rs = groups[run.label]
        if not rs:
            continue
        s = rs[0]["summary"]
        searched, owned, phenotype, gen = _params(rs)
        lines.append(f"| {run.label} | `{s['strategy']}` | `{s['decoder']}` | {searched} | {owned} | "
                     f"{phenotype} | {gen} |")
    lines += [
        "",
        *criterion_lines(spec.criterion, groups),
        *runs_lines(spec, groups, out_dir),
        f"![best-so-far vs sample-forward passes and wall-clock]({png.name})",
        "",
        f"Generated by `{command}` in {seconds:.0f} s with Python {platform.python_version()} on "
        f"{platform.machine()} ({os.cpu_count()} CPUs).",
        "",
    ]
    out = out_dir / f"compare_{spec.name}.md"
    out.write_text("\n".join(lines))
    return out


