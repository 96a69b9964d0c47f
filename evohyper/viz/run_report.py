"""A run's summary, fitness-curve PNG and short markdown report, made from its run directory alone (read
through ``engine/run_dir.py``, which owns the layout)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from evohyper.engine.run_dir import RunDir


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    path = RunDir(Path(run_dir)).metrics
    if not path.is_file():
        return []
    with path.open() as fh:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(fh)]


def summarize(run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    layout = RunDir(run_dir)
    config = layout.raw_config()
    rows = read_metrics(run_dir)
    best = layout.best_summary() or {}
    last = rows[-1] if rows else {}
    return {
        "run_dir": str(run_dir), "name": config["name"], "seed": config["seed"],
        "task": config["task"]["name"], "strategy": config["strategy"]["name"],
        "decoder": config["decoder"]["name"], "backend": config["backend"]["name"],
        "generations": int(last.get("generation", 0)), "evaluations": int(last.get("evaluations", 0)),
        "sample_forwards": int(last.get("sample_forwards", 0)), "env_steps": int(last.get("env_steps", 0)),
        "seconds": last.get("seconds", 0.0),
        "best_fitness": last.get("best_so_far"), "nonfinite": int(sum(r.get("nonfinite", 0) for r in rows)),
        "task_errors": int(sum(r.get("task_errors", 0) for r in rows)),
        "test_metrics": best.get("test_metrics", {}),
        **_reevaluation(best),
        **_circuit(best, config),
    }


def _reevaluation(best: dict[str, Any]) -> dict[str, Any]:
    """Both scores of ``best/`` when it was chosen by re-evaluation on fresh episodes (else nothing)."""
    r = best.get("reevaluation")
    if not r:
        return {}
    return {"best_reevaluated": r["mean"], "best_reevaluation_episodes": r["episodes"],
            "best_candidate": r.get("candidate"), "best_search_fitness": best.get("fitness")}


def _circuit(best: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """A circuit design's chain in words and whether it reproduces the target's response (circuit runs only)."""
    circuits = best.get("phenotype", {}).get("circuits") or []
    if not circuits:
        return {}
    metrics, tol = best.get("test_metrics", {}), config["task"].get("equivalence_tol")
    ratio = metrics.get("max_log_ratio")
    if metrics.get("equivalent") is None or ratio is None:
        return {"best_circuit": circuits[0]}
    verdict = (f"response-equivalent to the target (max |log(r / r_target)| = {ratio:.3g} < equivalence_tol {tol})"
               if metrics["equivalent"] == 1.0 else
               f"not response-equivalent (max |log(r / r_target)| = {ratio:.3g}, equivalence_tol {tol})")
    return {"best_circuit": circuits[0], "equivalence": verdict}


def pictures(run_dir: str | Path) -> list[Path]:
    """Images of the best individual contributed by the decoder/task hooks (listed in best/phenotype.json)."""
    return RunDir(Path(run_dir)).pictures()


def plot_fitness(run_dir: str | Path) -> Path | None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    rows = read_metrics(run_dir)
    if not rows:
        return None
    gens = [r["generation"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    ax.plot(gens, [r["best_so_far"] for r in rows], label="best so far", lw=2)
    ax.plot(gens, [r["best"] for r in rows], label="generation best", lw=1, alpha=0.8)
    ax.plot(gens, [r["mean"] for r in rows], label="generation mean", lw=1, alpha=0.8)
    ax.set_xlabel("generation")
    ax.set_ylabel("fitness")
    ax.set_title(run_dir.name)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = RunDir(run_dir).fitness_plot
    fig.savefig(out)
    plt.close(fig)
    return out


def write_run_report(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    s = summarize(run_dir)
    png = plot_fitness(run_dir)
    lines = [f"# Run `{s['name']}`", "",
             f"Task `{s['task']}`, strategy `{s['strategy']}`, decoder `{s['decoder']}`, backend `{s['backend']}`, "
             f"seed {s['seed']}.", "",
             "| generations | evaluations | sample forwards | seconds | best fitness | non-finite | task errors |",
             "|---|---|---|---|---|---|---|",
             f"| {s['generations']} | {s['evaluations']} | {s['sample_forwards']} | {s['seconds']:.1f} | "
             f"{s['best_fitness']:.6g} | {s['nonfinite']} | {s['task_errors']} |" if s["best_fitness"] is not None
             else "| 0 | 0 | 0 | 0 | - | 0 | 0 |", ""]
    if "best_reevaluated" in s:
        own = s["best_search_fitness"]
        lines += [f"`best/` holds the candidate with the best mean over {s['best_reevaluation_episodes']} fresh "
                  f"episodes (`reevaluation.csv`): {s['best_reevaluated']:.6g} ({s['best_candidate']}; its search "
                  f"fitness {'-' if own is None else format(own, '.6g')}, the search's best single evaluation "
                  f"{'-' if s['best_fitness'] is None else format(s['best_fitness'], '.6g')}).", ""]
    if "best_circuit" in s:
        lines += [f"Best circuit: {s['best_circuit']}" + (f"; {s['equivalence']}." if "equivalence" in s else ""), ""]
    if s["test_metrics"]:
        lines += ["Held-out metrics of the best individual: "
                  + ", ".join(f"{k} = {v:.4g}" for k, v in s["test_metrics"].items()), ""]
    if png:
        lines += [f"![fitness]({png.name})", ""]
    for pic in pictures(run_dir):
        lines += [f"![{pic.stem}]({pic.relative_to(run_dir)})", ""]
    from evohyper.viz.archive_report import report_lines

    lines += report_lines(run_dir, read_metrics(run_dir))
    layout = RunDir(run_dir)
    lines += [f"Reproduce: `evohyper run {layout.config_file}`", ""]
    out = layout.report
    out.write_text("\n".join(lines))
    return out
