"""`reports/tune_<name>.md` for a meta-search: trial table, the best config as runnable YAML, plots.

Built from Tune's ``ResultGrid`` (every trial's reported rows), so it works the same after a
``--resume``. Tune's own CSV/JSON/TensorBoard logs stay in the experiment directory.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from evohyper.config.tune_schema import apply_params

TOP_CURVES = 5


def _better(a: float, b: float, mode: str) -> bool:
    return a > b if mode == "max" else a < b


def trial_rows(results: Any, metric: str, mode: str) -> list[dict[str, Any]]:
    """One dict per trial: id, params, best metric, generations, seconds, status, curve, path."""
    rows = []
    for r in results:
        df = r.metrics_dataframe
        curve: list[tuple[int, float]] = []
        if df is not None and metric in df and "generation" in df:
            pairs = {int(g): float(v) for g, v in zip(df["generation"], df[metric]) if v == v}
            curve = sorted(pairs.items())
        m = r.metrics or {}
        values = [v for _, v in curve] or ([float(m[metric])] if metric in m else [])
        best = None
        for v in values:
            if math.isfinite(v) and (best is None or _better(v, best, mode)):
                best = v
        name = Path(str(r.path)).name   # evohyper_trial_<experiment>_<index>_...: the trial's own directory
        trial = "_".join(name.split("_")[2:4]) if name.startswith("evohyper_trial_") else name
        rows.append({"trial": trial, "params": dict(r.config or {}),
                     "best": best, "generations": int(m.get("generation", 0) or 0),
                     "seconds": float(m.get("time_total_s", 0.0) or 0.0),
                     "error": None if r.error is None else f"{type(r.error).__name__}", "curve": curve,
                     "path": str(r.path)})
    sign = -1.0 if mode == "max" else 1.0   # best first; ties: the one that got there in fewer generations
    return sorted(rows, key=lambda row: (row["best"] is None, sign * row["best"] if row["best"] is not None else 0,
                                         row["generations"]))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _plots(rows: list[dict[str, Any]], params: list[str], metric: str, out: Path, slug: str,
           log_params: set[str]) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    scored = [r for r in rows if r["best"] is not None]
    if params and scored:
        fig, axes = plt.subplots(1, len(params), figsize=(4.2 * len(params), 3.6), dpi=110, squeeze=False)
        for ax, p in zip(axes[0], params):
            xs = [r["params"].get(p) for r in scored]
            if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs):
                ax.scatter(xs, [r["best"] for r in scored], c=[r["generations"] for r in scored], cmap="viridis")
                if p in log_params:
                    ax.set_xscale("log")
            else:
                labels = sorted({str(x) for x in xs})
                ax.scatter([labels.index(str(x)) for x in xs], [r["best"] for r in scored])
                ax.set_xticks(range(len(labels)), labels, rotation=20)
            ax.set_xlabel(p)
            ax.set_ylabel(f"best {metric}")
            ax.grid(alpha=0.3)
        fig.suptitle(f"{metric} vs hyperparameter (colour: generations run)")
        fig.tight_layout()
        path = out / f"tune_{slug}_params.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    top = [r for r in scored if r["curve"]][:TOP_CURVES]
    if top:
        fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
        for r in top:
            ax.plot([g for g, _ in r["curve"]], [v for _, v in r["curve"]], lw=1.5,
                    label=", ".join(f"{k.split('.')[-1]}={_fmt(v)}" for k, v in r["params"].items()))
        ax.set_xlabel("generation")
        ax.set_ylabel(metric)
        ax.set_title(f"learning curves of the top {len(top)} trials")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"tune_{slug}_curves.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def write_tune_report(outcome: Any, out_dir: Path) -> Path:
    """The report of a finished meta-search (a ``TuneOutcome``): markdown, best config YAML, plots."""
    return _write(outcome.raw, outcome.experiment_dir, outcome.results, outcome.spec.metric, outcome.mode, out_dir)


def _write(raw: dict[str, Any], exp_dir: Path, results: Any, metric: str, mode: str, out_dir: Path) -> Path:
    """Write the markdown report, the best config YAML and the plots; return the report path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    slug = str(raw["name"]).replace("-", "_")
    tune_block = raw.get("tune", {})
    params = sorted(tune_block.get("params", {}) or {})
    sched = tune_block.get("scheduler", "fifo")
    sched = sched if isinstance(sched, dict) else {"name": sched}
    params += sorted(k for k in (sched.get("hyperparam_mutations") or {}) if k not in params)
    log_params = {k for k, v in {**(tune_block.get("params") or {}), **(sched.get("hyperparam_mutations") or {})}
                  .items() if isinstance(v, dict) and "loguniform" in v}
    rows = trial_rows(results, metric, mode)
    base = {k: v for k, v in raw.items() if k != "tune"}
    best = next((r for r in rows if r["best"] is not None), None)
    best_yaml = None
    if best is not None:
        best_cfg = apply_params(base, best["params"])
        best_cfg["name"] = f"{raw['name']}-best"
        best_cfg["description"] = (f"best trial of the meta-search {raw['name']} ({metric} {_fmt(best['best'])}); "
                                   f"generated by evohyper tune")
        best_yaml = out_dir / f"tune_{slug}_best.yaml"
        best_yaml.write_text(yaml.safe_dump(best_cfg, sort_keys=False))
    plots = _plots(rows, params, metric, out_dir, slug, log_params)
    max_gen = (base.get("budget") or {}).get("generations")
    target = (base.get("budget") or {}).get("target_fitness")
    lines = [f"# Meta-search `{raw['name']}`", "",
             f"{raw.get('description', '')}".strip(), "",
             f"- task `{base['task']['name']}`, strategy `{base['strategy']['name']}`, decoder "
             f"`{(base.get('decoder') or {'name': 'direct'})['name']}`, budget {base.get('budget')}",
             f"- scheduler `{sched.get('name', 'fifo')}`, metric `{metric}` ({mode}), "
             f"{len(rows)} trials, searched: {', '.join(f'`{p}`' for p in params)}",
             f"- Ray Tune experiment (progress.csv, result.json, TensorBoard events per trial): `{exp_dir}`",
             "- rerun: `evohyper tune <config>`; continue an interrupted one: `evohyper tune --resume <dir>`", ""]
    if best is not None:
        lines += [f"**Best trial** {best['trial']}: {metric} = {_fmt(best['best'])} with "
                  + ", ".join(f"`{k}={_fmt(v)}`" for k, v in best["params"].items())
                  + f". Ready-to-run config: [`{best_yaml.name}`]({best_yaml.name}) "
                  f"(`evohyper run reports/{best_yaml.name}`).", ""]
    lines += ["| rank | trial | " + " | ".join(f"`{p}`" for p in params) +
              f" | {'best fitness' if metric == 'best_so_far' else 'best ' + metric} | generations | time (s) "
              "| status |",
              "|---|---|" + "---|" * len(params) + "---|---|---|---|"]
    for i, r in enumerate(rows, 1):
        reached = target is not None and r["best"] is not None and metric == "best_so_far" and (
            r["best"] >= target if mode == "max" else r["best"] <= target)
        status = r["error"] or ("target reached" if reached else
                                "stopped early" if max_gen and r["generations"] < max_gen else "finished")
        lines.append(f"| {i} | {r['trial']} | " + " | ".join(_fmt(r["params"].get(p, "")) for p in params) +
                     f" | {_fmt(r['best']) if r['best'] is not None else '-'} | {r['generations']} | "
                     f"{r['seconds']:.1f} | {status} |")
    lines.append("")
    for p in plots:
        lines += [f"![{p.stem}]({p.name})", ""]
    path = out_dir / f"tune_{slug}.md"
    path.write_text("\n".join(lines))
    return path
