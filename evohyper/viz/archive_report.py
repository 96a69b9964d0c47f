"""The archive or Pareto front of a run, summarised for ``evohyper show`` and the run's ``report.md``.

Read through ``engine.archive_files`` (the on-disk contract) without the genotypes, so no component is built;
the curves come from ``metrics.csv`` (``qd_score``, ``coverage``; ``hypervolume``) against evaluations.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from evohyper.engine import archive_files
from evohyper.engine.run_dir import RunDir

#: metrics.csv columns drawn against evaluations, per kind of archive
CURVES = {"elites": ("qd_score", "coverage"), "front": ("hypervolume",)}


def _fmt(v: float) -> str:
    return format(float(v), ".6g")


def archive_summary(run_dir: str | Path, last: dict[str, float] | None = None) -> dict[str, Any]:
    """``archive_*`` entries (empty: the run keeps no archive); ``last``: the last metrics.csv row."""
    layout = RunDir(Path(run_dir))
    if not archive_files.exists(layout.archive):
        return {}
    try:
        a = archive_files.read(layout.archive, genotypes=False)
    except archive_files.ArchiveError as exc:
        return {"archive_error": str(exc)}
    last = last or {}
    out: dict[str, Any] = {"archive": str(a.path.relative_to(layout.path)), "archive_members": len(a)}
    if a.kind == "elites":
        cells = math.prod(a.dims) if a.dims else None
        out["archive_cells"] = cells
        for key in ("coverage", "qd_score"):
            if key in last:
                out[f"archive_{key}"] = last[key]
        if "archive_coverage" not in out and cells:
            out["archive_coverage"] = len(a) / cells
        if len(a):   # in the task's direction, as best_fitness (the archive keeps higher-is-better objectives)
            row, sign = a.best(reevaluated=False), 1.0 if _maximize(layout) else -1.0
            out["archive_best"] = f"{_fmt(sign * a.objectives[row, 0])} ({a.name(row)})"
    else:
        hv = last.get("hypervolume", a.extra.get("hypervolume"))
        if hv is not None:
            out["archive_hypervolume"] = hv
        for j, name in enumerate(a.objective_names):
            if len(a):
                out[f"archive_{name}"] = f"{_fmt(a.objectives[:, j].min())} to {_fmt(a.objectives[:, j].max())}"
    out["archive_reevaluation"] = reevaluation_words(a, layout)
    out["archive_pictures"] = [str(p) for p in archive_files.pictures(layout.archive)]
    return out


def _maximize(layout: RunDir) -> bool:
    """The task's direction, from its class (``Task.maximize``), without building it."""
    from evohyper.api import registry

    try:
        return bool(registry.tasks.get(layout.raw_config()["task"]["name"]).maximize)
    except Exception:  # noqa: BLE001 - a task that cannot be imported here: assume the engine's direction
        return True


def reevaluation_words(a: archive_files.Archive, layout: RunDir) -> str:
    """What the archive's numbers are: re-evaluated on fresh episodes (how much they moved), or why not."""
    if a.reevaluated is not None and a.reevaluation:
        r, row = a.reevaluation, a.best(reevaluated=True)
        drop = torch.nanmean(a.objectives - a.reevaluated, dim=0).tolist()   # over the members scored
        moved = ", ".join(f"{n} {_fmt(d)}" for n, d in zip(a.objective_names, drop))
        sign = 1.0 if a.kind == "front" or _maximize(layout) else -1.0
        scored = int(r.get("members", len(a)))
        who = "every member" if scored >= len(a) else \
            f"the best {scored} of {len(a)} members (by the search's score)"
        bound = f"; the rest unscored, to stay within {r['bound']} (evaluation.reevaluate.end_share)" \
            if r.get("bound") else ""
        return (f"{who} re-evaluated on {r['episodes']} fresh episodes (seed {r['seed']}{bound}); best "
                f"re-evaluated {_fmt(sign * a.reevaluated[row, 0])} ({a.name(row)}); mean search minus "
                f"re-evaluated (as the archive keeps them): {moved}")
    enabled = (layout.raw_config().get("evaluation") or {}).get("reevaluate", {}).get("enabled")
    if enabled is False:
        return "not re-evaluated (evaluation.reevaluate.enabled: false): the objectives are the search's"
    if enabled is None:
        return "not re-evaluated: the task is deterministic, the search's objectives are exact"
    return "not re-evaluated"


def plot_curves(run_dir: str | Path, rows: list[dict[str, float]]) -> Path | None:
    """``qd_score`` and ``coverage`` (QD) or ``hypervolume`` (front) against evaluations (None: no such column)."""
    layout = RunDir(Path(run_dir))
    keys = [k for kind in CURVES.values() for k in kind if rows and k in rows[-1]]
    if not keys or "evaluations" not in rows[-1]:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(keys), 3.6), dpi=110)
    FigureCanvasAgg(fig)
    x = [r.get("evaluations", math.nan) for r in rows]
    for i, key in enumerate(keys):
        ax = fig.add_subplot(1, len(keys), i + 1)
        ax.plot(x, [r.get(key, math.nan) for r in rows], lw=2)
        ax.set_xlabel("evaluations")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out = layout.archive_curves
    fig.savefig(out)
    return out


def report_lines(run_dir: str | Path, rows: list[dict[str, float]]) -> list[str]:
    """The report's section on the archive or front (empty: the run keeps none)."""
    run_dir = Path(run_dir)
    s = archive_summary(run_dir, rows[-1] if rows else None)
    if not s:
        return []
    if "archive_error" in s:
        return ["## Archive", "", s["archive_error"], ""]
    front = s["archive"].startswith("archive/front")
    lines = ["## Pareto front" if front else "## Quality-diversity archive", ""]
    facts = {k[len("archive_"):]: v for k, v in s.items() if k not in ("archive", "archive_pictures",
                                                                     "archive_reevaluation")}
    lines += ["| " + " | ".join(facts) + " |", "|" + "---|" * len(facts),
              "| " + " | ".join(_fmt(v) if isinstance(v, float) else str(v) for v in facts.values()) + " |", "",
              f"Files: `{s['archive']}` (read with `evohyper.engine.replay.load_archive`); noisy members: "
              f"{s['archive_reevaluation']}.", "",
              f"A member: `evohyper show {run_dir} {'--member K' if front else '--cell I'} [--episodes N]`, "
              f"`evohyper export {run_dir} {'--member K' if front else '--cell I'}`.", ""]
    for pic in s["archive_pictures"]:
        lines += [f"![{Path(pic).stem}]({Path(pic).relative_to(run_dir)})", ""]
    png = plot_curves(run_dir, rows)
    if png is not None:
        lines += [f"![{'hypervolume' if front else 'QD score and coverage'}]({png.name})", ""]
    return lines
