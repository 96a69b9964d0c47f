"""``reports/quality_diversity.md`` from the cached runs of ``experiments/quality_diversity.py``.

Targets (issue 23), computed by ``targets`` from the final QD scores and the loop timings:

* **QD score**: ours (``cma_me``) not lower: its mean over seeds >= pyribs' mean minus pyribs' standard
  deviation (sample standard deviation, ``ddof=1``, over pyribs' seeds), both with the tutorial's offset -600.
* **Speed**: evaluations per second of the whole loop (evaluations / loop seconds, per run), the median over
  our seeds >= 1x the median over pyribs' seeds, at the same number of workers (Dask) and actors (Ray).

An arm without cached runs is reported as not run, with the command that runs it (NEAT MAP-Elites, the walker).
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from experiments.quality_diversity_spec import (
    ARMS,
    ITERATIONS,
    OURS,
    QD_SCORE_OFFSET,
    REFERENCE,
    SEEDS,
    TUTORIAL_ITERATIONS,
    WALKER_ENV_STEPS,
    WALKER_QD_SCORE_OFFSET,
    WORKERS,
)


def load_runs(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Every finished run (``<arm>/seed<k>/run.json``) per arm, by seed."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for arm in ARMS:
        found = sorted((root / arm).glob("seed*/run.json")) if (root / arm).is_dir() else []
        rs = [json.loads(p.read_text()) for p in found]
        if rs:
            runs[arm] = sorted(rs, key=lambda r: r["seed"])
    return runs


def speed(run: dict[str, Any]) -> float:
    """Evaluations per second of the run's whole loop."""
    return run["evaluations"] / run["loop_seconds"]


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else float("nan")


def targets(runs: dict[str, list[dict[str, Any]]], seeds: tuple[int, ...] | None = None) -> dict[str, Any] | None:
    """Both targets between ``cma_me`` and ``pyribs_dask`` over ``seeds`` (None: every cached seed); None unless
    both have runs."""
    ref, ours = ([r for r in runs.get(a) or [] if seeds is None or r["seed"] in seeds] for a in (REFERENCE, OURS))
    if not ref or not ours:
        return None
    rq = [r["final"]["qd_score"] for r in ref]
    oq = [r["final"]["qd_score"] for r in ours]
    ref_mean, ref_sd, our_mean = statistics.fmean(rq), _sd(rq), statistics.fmean(oq)
    threshold = ref_mean - (ref_sd if ref_sd == ref_sd else 0.0)
    rs, os_ = statistics.median(speed(r) for r in ref), statistics.median(speed(r) for r in ours)
    return {"qd": {"ours_mean": our_mean, "ours_sd": _sd(oq), "ref_mean": ref_mean, "ref_sd": ref_sd,
                   "threshold": threshold, "met": our_mean >= threshold, "seeds": (len(oq), len(rq))},
            "speed": {"ours_median": os_, "ref_median": rs, "ratio": os_ / rs, "met": os_ / rs >= 1.0,
                      "ours": [speed(r) for r in ours], "ref": [speed(r) for r in ref]}}


def _row(arm: str, rs: list[dict[str, Any]], offset: float = QD_SCORE_OFFSET) -> str:
    q = [r["final"]["qd_score"] for r in rs]
    cov = [r["final"]["coverage"] for r in rs]
    mean_obj = [r["final"]["qd_score"] / r["final"]["elites"] + offset for r in rs if r["final"]["elites"]]
    best = [r["final"]["best"] for r in rs]
    sp = [speed(r) for r in rs]
    loop = [r["loop_seconds"] for r in rs]
    proc = [r["process_seconds"] for r in rs]
    evaluations = ", ".join(f"{n:,}" for n in sorted({r["evaluations"] for r in rs}))
    return (f"| {arm} | {len(rs)} | {evaluations} | {statistics.fmean(q):,.0f}"
            f"{f' ± {_sd(q):,.0f}' if len(q) > 1 else ' (one seed)'} | "
            f"{', '.join(f'{v:,.0f}' for v in q)} | {statistics.fmean(cov):.3f} | "
            f"{statistics.fmean(mean_obj) if mean_obj else float('nan'):.1f} | {statistics.fmean(best):.1f} | "
            f"{statistics.median(loop):.0f} [{min(loop):.0f}, {max(loop):.0f}] | "
            f"{statistics.median(sp):.1f} [{min(sp):.1f}, {max(sp):.1f}] | "
            f"{statistics.median(proc):.0f} [{min(proc):.0f}, {max(proc):.0f}] |")


HEADER = ("| arm | seeds | evaluations | final QD score, mean ± sd | per seed | coverage | elites' mean objective | "
          "best objective | loop s, median [min, max] | evaluations/s (loop), median [min, max] | "
          "process s, median [min, max] |\n|---|---|---|---|---|---|---|---|---|---|---|")


def walker_reevaluation(root: Path) -> list[str]:
    """What the end-of-run re-evaluation of each walker archive found (the episodes start from random states,
    so an elite's one search episode is a lucky draw): read from the run directories' archives."""
    from evohyper.engine import archive_files

    rows = []
    for seed in SEEDS:
        found = sorted((root / "walker_cma_me" / f"seed{seed}" / "run").glob("*/archive"))
        if not found:
            continue
        a = archive_files.read(found[-1], genotypes=False)
        if a.reevaluated is None or not a.reevaluation:
            continue
        scored = a.reevaluated[:, 0].isfinite()
        row = a.best(reevaluated=True)
        rows.append((seed, int(scored.sum()), len(a), int(a.reevaluation["episodes"]), float(a.reevaluated[row, 0]),
                     float(a.objectives[row, 0]), float(a.objectives[:, 0].max()),
                     float((a.objectives[scored, 0] - a.reevaluated[scored, 0]).mean()), a.reevaluation.get("bound")))
    if not rows:
        return []
    lines = ["Noisy elites (Walker2d's resets are random, so an elite's one search episode is a lucky draw): at the "
             "end of each run the archive's best members by search return were re-evaluated on fresh episodes, as "
             "many as fit in `evaluation.reevaluate.end_share` (5%) of the run's environment-step budget; `best/` "
             "is the best of them on the fresh episodes. The QD scores above are the search's.", "",
             "| seed | members re-evaluated | episodes each | best re-evaluated return | its search return | "
             "archive's best search return | mean search minus re-evaluated (those scored) |",
             "|---|---|---|---|---|---|---|"]
    for seed, scored, n, episodes, best, its, top, drop, _ in rows:
        lines.append(f"| {seed} | {scored} of {n} | {episodes} | {best:,.1f} | {its:,.1f} | {top:,.1f} | {drop:,.1f} |")
    return lines + [""]


def _verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def write_report(root: Path, out_dir: Path, command: str = "python -m experiments.quality_diversity") -> Path:
    from experiments.quality_diversity_plots import curves, heatmaps

    out_dir.mkdir(parents=True, exist_ok=True)
    runs = load_runs(root)
    lunar = [a for a, s in ARMS.items() if s.group == "lunar"]
    walker = [a for a, s in ARMS.items() if s.group == "walker"]
    check_path = root / "check.json"
    check = json.loads(check_path.read_text()) if check_path.is_file() else None
    t = targets(runs, SEEDS)
    extra = targets(runs)
    # tables, figures and the MAP-Elites comparison: the seeds (extra seeds enter the supplement only)
    runs = {a: kept for a, rs in runs.items() if (kept := [r for r in rs if r["seed"] in SEEDS])}
    lines = ["# Quality diversity: CMA-ME against pyribs' lunar-lander tutorial, MAP-Elites, a MuJoCo walker", "",
             f"Generated by `{command}` (runs cached under `experiments/out/quality_diversity/`; a finished run is "
             "never re-run, so the command also finishes an interrupted study). Issue 23, first \"Done when\" "
             "bullet.", ""]
    lines += ["## Setup", "",
              "Both sides of the CMA-ME comparison use pyribs' lunar-lander tutorial setup: LunarLander-v3 with "
              "environment seed 52 for every episode, a linear 8 -> 4 argmax policy without bias (32 weights; our "
              "genome is pyribs' `(4, 8)` model transposed), 5 `EvolutionStrategyEmitter`s (CMA-ES, `2imp` "
              "ranker, `filter` selection, `no_improvement` restarts) of batch 30 around the zero model with "
              "sigma0 1.0, a 50 x 50 `GridArchive` over impact x-position [-1, 1] and impact y-velocity [-3, 0], "
              f"the tutorial's QD score offset {QD_SCORE_OFFSET:g}, no re-evaluation, one episode per solution.", "",
              f"* **pyribs** (`pyribs_dask`): the tutorial's loop (`experiments/quality_diversity_pyribs.py`): its "
              f"`simulate`, a `Scheduler`, a Dask `Client` on a `LocalCluster` of {WORKERS} single-threaded worker "
              "processes, `client.map(simulate)` over each batch of 150. Archive seed k, emitter seeds k..k+4 (as "
              "pyribs' Dask example seeds them).",
              f"* **ours** (`cma_me`): `evohyper run search_spaces/lunarlander_cma_me.yaml --set seed=k` on the Ray "
              f"backend with {WORKERS} actors (the same pyribs `Scheduler`, driven through the engine's ask/tell).",
              "* **MAP-Elites** (`map_elites`): `search_spaces/lunarlander_map_elites.yaml`, pyribs' "
              "`GaussianEmitter` (sigma 0.5, 5 x 30) on the same task, archive and evaluation budget.", "",
              f"**Iterations.** The tutorial runs {TUTORIAL_ITERATIONS} iterations (45,000 episodes; about 20 "
              f"minutes with 2 workers on Colab, as it says). This study runs **{ITERATIONS} iterations "
              f"({ITERATIONS * 150:,} episodes) per run**, on both sides, so that its runs fit about an hour on "
              "the 2 shared cores of this machine.", "",
              "**Timing.** One run at a time (never two at once), seed by seed with the two CMA-ME sides side by "
              "side and their order alternating from seed to seed, then MAP-Elites. The loop's clock: pyribs' "
              "starts before its Dask cluster starts (as the tutorial's `start_time`), ours is `metrics.csv`'s "
              "`seconds` (from the first generation, Ray's actors starting inside it). *Process* seconds is the "
              "whole command (imports, Ray / Dask start-up, our run directory, report and heatmap) timed by the "
              "driver. **The machine's 2 cores were shared with other helpers' jobs throughout** (load average "
              "4 to 7 while the study ran): timings are noisy, which is why the sides were interleaved; read the "
              "spreads. Extra seeds of the two CMA-ME sides (the supplement below) and the walker ran after these. "
              "Evaluations per second also depend on how long the episodes are, i.e. on what each run explores "
              "(a lander that hovers runs 1,000 steps, one that crashes 60-100); the sides' QD curves against "
              "evaluations match, so their episodes are alike on the whole, but not step for step.", ""]
    lines += ["**What differs between the sides** (besides the loop around the same pyribs `Scheduler`): the "
              "engine evaluates float32 genotypes (pyribs' float64 points rounded; the check below counts the "
              "episodes the rounding alone changes), the seeds drive different random streams on the two "
              "sides (seed k is not the same run on both: compare the distributions, not seed by seed), and the "
              "work is split differently: Dask sends each of the 150 solutions as its own task to whichever "
              "worker is free, our Ray backend gives each of the 2 actors one contiguous chunk of 75, stepped "
              "in lockstep with one batched policy forward per time step.", ""]
    lines += ["## Same computation", ""]
    if check:
        lines += [f"{check['n']} solutions (N(0, 1) draws around the zero model, rounded to float32 as the engine "
                  "evaluates them) scored through our task as the config builds it and through the tutorial's "
                  f"`simulate` on the same weights: **{check['rows_equal']}/{check['n']} equal** (objective and "
                  f"both measures; max |difference| {check['max_abs_difference']:.3g}). "
                  + (f"The tutorial's scores of the same draws before float32 rounding: "
                     f"{check['rows_equal_float64']}/{check['n']} equal to those of the rounded weights. "
                     if "rows_equal_float64" in check else "") +
                  "(`tests/experiments/test_quality_diversity_check.py` repeats this on 2 solutions.)", ""]
    else:
        lines += ["Not run yet.", ""]
    lines += ["## Results: LunarLander-v3", "", HEADER]
    lines += [_row(a, runs[a]) for a in lunar if runs.get(a)]
    lines += [""]
    for a in lunar:
        if not runs.get(a):
            lines += [f"* `{a}`: **not run** ({ARMS[a].note or 'no cached runs'}).", ""]
    if any(runs.get(a) for a in lunar):
        curves(runs, lunar, out_dir / "quality_diversity_lunar_qd.png", "LunarLander-v3: QD score (mean ± sd)")
        heatmaps(runs, lunar, root, out_dir / "quality_diversity_lunar_archives.png")
        lines += ["QD score per iteration, mean ± sd over the seeds; the wall-clock panel interpolates each seed "
                  "onto a grid that ends at the arm's shortest run.", "",
                  "![QD score against evaluations and wall-clock](quality_diversity_lunar_qd.png)", "",
                  "![Final archives, median seed per arm](quality_diversity_lunar_archives.png)", ""]
    lines += ["## Targets (CMA-ME, ours against pyribs' tutorial loop)", ""]
    if t is None:
        lines += ["Not computed: both `pyribs_dask` and `cma_me` need cached runs.", ""]
    else:
        q, s = t["qd"], t["speed"]
        lines += [f"* QD score not lower: ours {q['ours_mean']:,.0f} ± {q['ours_sd']:,.0f} (mean ± sd, "
                  f"{q['seeds'][0]} seeds) against pyribs {q['ref_mean']:,.0f} ± {q['ref_sd']:,.0f} "
                  f"({q['seeds'][1]} seeds): ours >= {q['threshold']:,.0f} (pyribs' mean - sd)? "
                  f"{_verdict(q['met'])}.",
                  f"* Evaluations per second >= 1x pyribs' Dask loop at {WORKERS} workers: ours "
                  f"{s['ours_median']:.1f}/s (median; seeds {', '.join(f'{v:.1f}' for v in s['ours'])}) against "
                  f"{s['ref_median']:.1f}/s ({', '.join(f'{v:.1f}' for v in s['ref'])}): "
                  f"**{s['ratio']:.2f}x**, {_verdict(s['met'])}.", ""]
        gap = q["ours_mean"] - q["ref_mean"]
        lines += [f"The QD gap, ours - pyribs: {gap:+,.0f} ({gap / q['ref_mean']:+.1%} of pyribs' mean, "
                  f"{gap / q['ref_sd']:+.2f} of pyribs' sd over seeds)." if q["ref_sd"] == q["ref_sd"] else
                  f"The QD gap, ours - pyribs: {gap:+,.0f}.", ""]
        if extra is not None and extra["qd"]["seeds"] != q["seeds"]:
            eq, es = extra["qd"], extra["speed"]
            lines += [f"Supplement, every cached seed ({eq['seeds'][0]} ours, {eq['seeds'][1]} pyribs; the targets "
                      f"above are on seeds {', '.join(map(str, SEEDS))} as the issue asks): QD score "
                      f"{eq['ours_mean']:,.0f} ± {eq['ours_sd']:,.0f} against {eq['ref_mean']:,.0f} ± "
                      f"{eq['ref_sd']:,.0f} (ours >= {eq['threshold']:,.0f}? {_verdict(eq['met'])}); evaluations "
                      f"per second {es['ours_median']:.1f} against {es['ref_median']:.1f} (median, "
                      f"{es['ratio']:.2f}x).", ""]
    if runs.get("map_elites") and runs.get(OURS):
        me = statistics.fmean(r["final"]["qd_score"] for r in runs["map_elites"])
        cm = statistics.fmean(r["final"]["qd_score"] for r in runs[OURS])
        lines += [f"MAP-Elites against CMA-ME at the same {runs[OURS][0]['evaluations']:,} evaluations: mean "
                  f"final QD score {me:,.0f} against {cm:,.0f} ({me / cm:.2f}x).", ""]
    if runs.get("neat_map_elites") and runs.get("map_elites"):
        nm = statistics.fmean(r["final"]["qd_score"] for r in runs["neat_map_elites"])
        vm = statistics.fmean(r["final"]["qd_score"] for r in runs["map_elites"])
        nc = statistics.fmean(r["final"]["coverage"] for r in runs["neat_map_elites"])
        vc = statistics.fmean(r["final"]["coverage"] for r in runs["map_elites"])
        lines += [f"NEAT MAP-Elites (genomes varied by NEAT's mutation and crossover, no speciation; starting as the "
                  f"vector arms' linear policy) against vector MAP-Elites at the same "
                  f"{runs['map_elites'][0]['evaluations']:,} evaluations: mean final QD score {nm:,.0f} against "
                  f"{vm:,.0f} ({nm / vm:.2f}x), coverage {nc:.3f} against {vc:.3f}. Its runs were made later, under "
                  "another machine load, so their evaluations per second are not compared with the vector arms'.",
                  ""]
    lines += ["## MuJoCo walker", ""]
    if any(runs.get(a) for a in walker):
        lines += [HEADER] + [_row(a, runs[a], WALKER_QD_SCORE_OFFSET) for a in walker if runs.get(a)] + [""]
        done = len(runs.get("walker_cma_me") or [])
        if done < len(SEEDS):
            lines += [f"{done} of {len(SEEDS)} seeds run; the rest: `python -m experiments.quality_diversity --arms "
                      f"walker_cma_me` ({ARMS['walker_cma_me'].note.split(';')[0]}; a killed run continues from its "
                      "checkpoint).",
                      ""]
        resumed = [r["seed"] for r in runs.get("walker_cma_me") or [] if r.get("resumed")]
        if resumed:
            lines += [f"Seed{'s' * (len(resumed) > 1)} {', '.join(map(str, resumed))} finished in a resumed process "
                      "(`evohyper resume` from its last checkpoint; the first process was stopped during the end-of-"
                      "run archive re-evaluation, then unbounded, since bounded by `end_share`): its loop seconds are "
                      "summed over both processes, its process seconds are the last process's only.", ""]
        lines += walker_reevaluation(root)
        curves(runs, walker, out_dir / "quality_diversity_walker_qd.png", "Walker2d-v5, feet contact",
               offset=WALKER_QD_SCORE_OFFSET)
        heatmaps(runs, walker, root, out_dir / "quality_diversity_walker_archives.png", group="walker")
        lines += ["![Walker QD score](quality_diversity_walker_qd.png)", "",
                  "![Walker archive](quality_diversity_walker_archives.png)", ""]
    else:
        lines += [f"`walker_cma_me` (`search_spaces/walker_cma_me.yaml`: CMA-ME on Walker2d-v5, `feet_contact` "
                  f"of its 2 feet on a 32 x 32 grid, a linear policy, {WALKER_ENV_STEPS:,} environment steps a "
                  "seed): **not run** yet: `python -m experiments.quality_diversity --arms walker_cma_me` ("
                  f"{ARMS['walker_cma_me'].note.split(';')[0]}).", ""]
    lines += ["## Reproduce", "", "```", "python -m experiments.quality_diversity            # LunarLander arms, "
              f"{len(SEEDS)} seeds", "python -m experiments.quality_diversity --arms neat_map_elites",
              "python -m experiments.quality_diversity --arms walker_cma_me", "```", ""]
    path = out_dir / "quality_diversity.md"
    path.write_text("\n".join(lines))
    return path
