"""``reports/pole_balancing.md`` from the cached runs of ``experiments/pole_balancing.py`` alone (one JSON per run).

Per variant and arm: runs, solved within the cap, and the evaluations to solve over the solved runs (mean, as the
literature reports it, then quartiles); failures are counted apart and never averaged in. The median "with
failures" ranks every failure above every solved run (a failure's count is "> cap"), so an arm that fails often
cannot look fast. Beside them the published means (with their sources and whether they were checked), the
targets met or not with the figures, the generalisation scores, box plots, and the measured cost per run.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from experiments.pole_balancing_diagnosis import rollout_path_lines, torch_loop_neat_lines
from experiments.pole_balancing_probes import species_lines, stall_lines
from experiments.pole_balancing_spec import (
    ARMS,
    DEFAULT_ARMS,
    DEFAULT_VARIANTS,
    MAX_SECONDS,
    SEEDS,
    SIZES,
    VARIANTS,
    elman_weights,
    runs_variant,
)

#: published mean evaluations to solve. As quoted in issue 24 from Gomez, Schmidhuber & Miikkulainen (2008) JMLR
#: 9:937-965 (the table collecting NEAT from Stanley & Miikkulainen 2002, ESP, CMA-ES, CoSyNE). CHECKED: False:
#: the stored copies of the paper this session could search returned its first page only, so no number below
#: was confirmed against the paper's table; the single-pole rows could not be read at all.
PUBLISHED: dict[str, dict[str, int]] = {
    "single": {},
    "double": {"NEAT": 3_600, "ESP": 3_800, "CMA-ES": 895, "CoSyNE": 954},
    "double_novel": {"NEAT": 6_929, "ESP": 7_374, "CMA-ES": 3_521, "CoSyNE": 1_249},
}
CHECKED = False
SOURCE = ("Gomez, Schmidhuber & Miikkulainen, \"Accelerated Neural Evolution through Cooperatively Coevolved "
          "Synapses\", JMLR 9 (2008) 937-965, its double-pole tables; NEAT's figures there are Stanley & "
          "Miikkulainen, \"Evolving Neural Networks through Augmenting Topologies\", Evolutionary Computation "
          "10(2) (2002)")
#: which of our arms each published method is compared with (the 2x targets), per variant: CMA-ES with velocities
#: as published (a linear policy; without restarts, with IPOP, with IPOP and stall restarts); without velocities as
#: published, a fully recurrent net (``cmaes-fr3``, the same three ways), and beside it the smallest Elman net (the
#: stand-in before the engine had fully recurrent networks); NEAT as configured from the paper and with a threshold
#: that speciates in neat-python (``neat-s``)
_LINEAR = ("cmaes-lin", "cmaes-linr", "cmaes-linrs")
_FULL = ("cmaes-fr3", "cmaes-fr3r", "cmaes-fr3rs", f"cmaes-h{SIZES[0]}")
COMPARED = {"NEAT": {v: ("neat", "neat-s") for v in VARIANTS},
            "CMA-ES": {"single": _LINEAR, "double": _LINEAR, "double_novel": _FULL, "double_novel_steps": _FULL}}
#: a target is judged (met / not met) only from this many finished runs of each arm it compares
MIN_RUNS = 3
NAME = "pole_balancing"
#: where the diagnosis runs (``experiments/pole_balancing_diagnosis.py``) are kept, one JSON line each
DIAGNOSIS = "diagnosis.jsonl"


# ----------------------------------------------------------------------------- reading and summarising
def load_runs(root: Path) -> list[dict[str, Any]]:
    """Every finished run under ``root`` (``<variant>/<arm>/seed<k>.json``)."""
    return [json.loads(p.read_text()) for p in sorted(Path(root).glob("*/*/seed*.json"))]


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and statistics of one arm's runs on one variant (see the module docstring)."""
    solved = sorted(int(r["evaluations"]) for r in runs if r["solved"])
    caps = sorted({int(r["cap"]) for r in runs})
    out: dict[str, Any] = {"runs": len(runs), "solved": len(solved), "failures": len(runs) - len(solved),
                           "timed_out": sum(1 for r in runs if r.get("timed_out")), "caps": caps, "evaluations": solved}
    if solved:
        q1, median, q3 = np.percentile(solved, [25, 50, 75])
        out.update(mean=float(np.mean(solved)), q1=float(q1), median=float(median), q3=float(q3))
    ranked = solved + [math.inf] * out["failures"]
    out["median_all"] = float(np.median(ranked)) if ranked and not _hits_inf(ranked) else math.inf
    scores = [r["generalisation"] for r in runs if r["solved"] and r.get("generalisation") is not None
              and not math.isnan(r["generalisation"])]
    out["generalisation"] = scores
    # CPU seconds of the run's process where recorded (a paused or loaded machine does not inflate them)
    cost = [float(r.get("cpu_seconds", r["seconds"])) for r in runs]
    out["seconds"] = float(np.mean(cost)) if runs else math.nan
    out["seconds_total"] = float(sum(cost))
    for key in ("genome_size", "num_params", "popsize"):
        out[key] = runs[0].get(key) if runs else None
    return out


def _hits_inf(ranked: list[float]) -> bool:
    """Does the median of ``ranked`` (sorted, failures last as inf) touch a failure?"""
    n = len(ranked)
    return math.isinf(ranked[n // 2]) or (n % 2 == 0 and math.isinf(ranked[n // 2 - 1]))


def fmt(x: float | None, cap: int | None = None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return f"> {cap:,}" if cap else "> cap"
    return f"{x:,.0f}"


# ----------------------------------------------------------------------------- targets
def _published_target(method: str, arm: str, variant: str, pub: int, arms: dict[str, dict[str, Any]]) -> str:
    """"``method`` (``arm``) within 2x of its published mean on ``variant``": met / not met with the figures."""
    s = arms.get(arm)
    if not s or s["runs"] < MIN_RUNS:
        return (f"- {method} (`{arm}`) within 2x of its published mean on {variant}: **not yet measured** "
                f"({s['runs'] if s else 0} finished runs; judged from {MIN_RUNS}).")
    ok = s["failures"] == 0 and s["solved"] and s["mean"] <= 2 * pub
    return (f"- {method} (`{arm}`) within 2x of its published mean {pub:,} on {variant}: "
            f"**{'met' if ok else 'not met'}**: mean {fmt(s.get('mean'))} over {s['solved']} solved of "
            f"{s['runs']} runs ({s['failures']} failures; met needs every run solved and mean <= "
            f"{2 * pub:,}){_provisional(s['runs'])}.")


def targets(table: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """One line per target: met / not met with the figures (or why it cannot be judged yet)."""
    lines = []
    for variant, published in PUBLISHED.items():
        for method, arms in COMPARED.items():
            if method not in published:
                continue
            for arm in arms[variant]:
                lines.append(_published_target(method, arm, variant, published[method], table.get(variant, {})))
    for variant in DEFAULT_VARIANTS:
        for h in SIZES[1:]:
            direct = table.get(variant, {}).get(f"cmaes-h{h}")
            # the study's own DCT arms (20 seeds each); the probes are in the tables, not in the verdict
            dcts = {a: s for a, s in table.get(variant, {}).items() if ARMS[a].family == "dct" and ARMS[a].hidden == h
                    and a in DEFAULT_ARMS and s["runs"]}
            if not direct or direct["runs"] < MIN_RUNS or not dcts:
                lines.append(f"- DCT fewer evaluations than direct weights, {variant}, Elman h={h}: **not yet "
                             f"measured** ({direct['runs'] if direct else 0} finished runs of `cmaes-h{h}`, "
                             f"{max((d['runs'] for d in dcts.values()), default=0)} of its best-covered DCT arm; "
                             f"judged from {MIN_RUNS} each).")
                continue
            dcts = {a: d for a, d in dcts.items() if d["runs"] >= MIN_RUNS}
            if not dcts:
                lines.append(f"- DCT fewer evaluations than direct weights, {variant}, Elman h={h}: **not yet "
                             f"measured** (no DCT arm with {MIN_RUNS} finished runs).")
                continue
            arm, best = min(dcts.items(), key=lambda kv: (kv[1]["median_all"], -kv[1]["solved"]))
            cap = direct["caps"][-1] if direct["caps"] else None
            ok = best["median_all"] < direct["median_all"]
            lines.append(f"- DCT fewer evaluations than direct weights, {variant}, Elman h={h}: "
                         f"**{'met' if ok else 'not met'}**: best DCT arm `{arm}` median {fmt(best['median_all'], cap)} "
                         f"({best['solved']}/{best['runs']} solved) vs direct `cmaes-h{h}` "
                         f"{fmt(direct['median_all'], cap)} ({direct['solved']}/{direct['runs']} solved); medians "
                         f"with failures ranked last{_provisional(min(direct['runs'], best['runs']))}.")
    return lines or ["- No runs yet: no target can be judged."]


def _provisional(runs: int) -> str:
    """The caveat on a target judged from fewer runs than the study plans."""
    return "" if runs >= len(SEEDS) else f"; *provisional: {runs} of {len(SEEDS)} seeds*"


# ----------------------------------------------------------------------------- writing
def boxplots(table: dict[str, dict[str, dict[str, Any]]], path: Path) -> Path | None:
    """Evaluations to solve (solved runs) per arm, one panel per variant; None when nothing solved."""
    variants = [v for v in table if any(s["solved"] for s in table[v].values())]
    if not variants:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(variants), 1, figsize=(12, 3.6 * len(variants)), squeeze=False)
    for ax, variant in zip(axes[:, 0], variants):
        arms = [a for a in table[variant] if table[variant][a]["runs"]]
        data = [table[variant][a]["evaluations"] or [math.nan] for a in arms]
        ax.boxplot(data, showmeans=True)
        ax.set_xticks(range(1, len(arms) + 1))
        ax.set_xticklabels([f"{a}\n{table[variant][a]['solved']}/{table[variant][a]['runs']}" for a in arms],
                           rotation=60, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("evaluations to solve")
        ax.set_title(f"{VARIANTS[variant].label} (solved runs; label: solved/runs)")
        for method, value in PUBLISHED.get(variant, {}).items():
            ax.axhline(value, lw=0.6, ls="--", color="grey")
            ax.text(len(arms) + 0.55, value, method, fontsize=6, va="center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(root: Path, out_dir: Path, command: str) -> Path:
    runs = load_runs(root)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = sorted({r["task"] for r in runs})
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for variant in VARIANTS:
        for arm in ARMS:
            mine = [r for r in runs if r["variant"] == variant and r["arm"] == arm]
            if mine:
                table.setdefault(variant, {})[arm] = summarize(mine)
    plot = boxplots(table, out_dir / f"{NAME}_boxplots.png")
    lines = ["# Pole balancing: evaluations to solve (issue 24)", "",
             f"Generated by `{command}` from {len(runs)} cached runs under `{_rel(root)}`.", ""]
    if runs and (tasks != ["double_pole"] or any(r["max_steps"] != 100_000 for r in runs)):
        lines += [f"**Not the study.** These runs use task(s) {', '.join(f'`{t}`' for t in tasks) or 'none'} and "
                  f"episode lengths {sorted({r['max_steps'] for r in runs})}: a stand-in or a smoke-test budget. "
                  "Their numbers say nothing about the published benchmarks.", ""]
    lines += _status(table) + _method(runs) + _sizes()
    for variant, arms in table.items():
        lines += _variant_table(variant, arms)
    lines += ["## Published means", "", f"Source: {SOURCE}.", "",
              ("Checked against the paper's text: yes." if CHECKED else
               "**Not checked against the paper's text**: the numbers are the issue's quotation; the stored copies "
               "of the paper this session could search returned only its first page. The single-pole rows of the "
               "same table could not be read, so none are printed."), "",
              "| variant | " + " | ".join(["NEAT", "ESP", "CMA-ES", "CoSyNE"]) + " |", "|---|---|---|---|---|"]
    for variant, pub in PUBLISHED.items():
        lines.append(f"| {variant} | " + " | ".join(f"{pub[m]:,}" if m in pub else "–"
                                                    for m in ["NEAT", "ESP", "CMA-ES", "CoSyNE"]) + " |")
    lines += ["", "## Targets", "", *targets(table), "", *stall_lines(Path(root).parent), *species_lines(Path(root).parent),
              *_diagnosis(Path(root).parent / DIAGNOSIS), *_differences(),
              *torch_loop_neat_lines(Path(root).parent), *rollout_path_lines(runs)]
    if plot:
        lines += ["## Box plots", "", f"![evaluations to solve]({plot.name})", ""]
    lines += _cost(table)
    path = out_dir / f"{NAME}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _status(table: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """How far the study is: finished runs per default arm and variant, of the ``len(SEEDS)`` seeds planned."""
    want = len(SEEDS)
    cells = {(v, a): table.get(v, {}).get(a, {}).get("runs", 0) for v in DEFAULT_VARIANTS for a in DEFAULT_ARMS
             if runs_variant(a, v)}
    done, total = sum(min(n, want) for n in cells.values()), want * len(cells)
    head = ("**The study is complete.**" if done >= total else
            f"**The study is partial: {done} of {total} planned runs are finished.** Rows with fewer than {want} "
            "runs are partial; a target is judged only where each arm it compares has at least "
            f"{MIN_RUNS} finished runs (else \"not yet measured\"). The runs continue where they stopped "
            "(`python -m experiments.pole_balancing --jobs 1`; one JSON per finished run).")
    lines = ["## Status", "", head, "", "Finished runs (seeds 0, 1, ...) per arm and variant:", "",
             "| arm | " + " | ".join(DEFAULT_VARIANTS) + " |", "|---|" + "---|" * len(DEFAULT_VARIANTS)]
    for a in DEFAULT_ARMS:
        lines.append(f"| `{a}` | " + " | ".join(f"{cells[(v, a)]}/{want}" if (v, a) in cells else "–"
                                                for v in DEFAULT_VARIANTS) + " |")
    return lines + [""]


def _diagnosis(path: Path) -> list[str]:
    """Why CMA-ES did not solve the double pole without velocities at first, and what the study changed; with the
    diagnosis runs' table when ``experiments/pole_balancing_diagnosis.py`` has written them."""
    lines = ["## Diagnosis: the double pole without velocities", "",
             "CMA-ES on a 3-5-1 / 3-6-1 Elman net (damping fitness) and recurrent NEAT did not solve the "
             "non-Markovian double pole when the task was written (README). Checked here, in order:",
             "- **No bug found in the task or the network.** The Elman forward matches a NumPy re-implementation "
             "step by step (max difference 2e-8, float32), batched evaluation equals one-at-a-time evaluation, the "
             "direct decoder maps genes to tensors in order, and the physics, inputs (x / 4.8, theta / 0.52), "
             "start (0.07 rad) and failure rules match the two codes behind the published tables, read here: "
             "NEAT's C++ `pole2` (`CartPole::evalNet`, `performAction`, `step`, `rk4`) and Shark's `DoublePole` / "
             "`NonMarkovPole` (Heidrich-Meisner & Igel's code). The hand-made finite-difference Elman controller "
             "solves the task (tests).",
             "- **The network is the difference.** Shark's `NonMarkovPole` (the CMA-ES code) evolves a *fully "
             "recurrent* network: every neuron, the output neuron included, sees the inputs and every neuron's "
             "last activation (`OnlineRNNet`), so the output sees x_t directly and x_(t-1) through one hidden "
             "neuron: a velocity estimate is one difference away. Our Elman net has no input-to-output path, so it "
             "must hold a copy and a change per input: 6 hidden units for 3 inputs (the hand-made controller's "
             "layout). Elman h = 3, the first study's smallest size, cannot hold it.",
             "- **The fitness.** Shark's `NonMarkovPole` scores steps balanced (up to 100,000), not Gruau's damping "
             "fitness; NEAT's `pole2` uses the damping fitness. Which protocol the quoted CMA-ES 3,521 belongs to "
             "was not established here (the paper's text was not readable in this session). From memory, NOT "
             "checked: Stanley & Miikkulainen (2002) report NEAT at 33,184 evaluations on the damping variant "
             "(CE 840,000, ESP 169,466); if so, the 6,929 quoted for NEAT is not a damping-fitness figure, and "
             "recurrent NEAT not solving within 30,000 evaluations is in line with the paper.",
             "- **sigma0.** On Elman nets sigma0 = 1 stalled CMA-ES even with velocities (below); 0.3 did better.",
             "- Not the difference: start angle (both codes 0.07 rad, as here), input scaling (both codes as here), "
             "force mapping (both codes: output in [0, 1] -> (o - 0.5) x 20 N, here tanh x 10 N: the same range).",
             "",
             "What the study does about it: Elman sizes h = " + ", ".join(map(str, SIZES)) + " (the smallest holds "
             "the finite-difference layout), CMA-ES sigma0 = 0.3 at h = 6 scaled by sqrt(6 / h) for the larger nets "
             "(a fixed 0.3 starts h = 14 / 28 with a chaotic recurrent matrix: their first runs with velocities "
             "all failed), the linear policy's CMA-ES as the task's README measured it (sigma0 1, population 16), "
             "the damping variant as the issue asks, and "
             "`double_novel_steps` (Shark's protocol) defined but not in the default set. Since then the engine has the "
             "fully recurrent network the published CMA-ES runs used (`network: {recurrent: full}`): arm `cmaes-fr3` "
             "(3 hidden neurons and the output, 32 weights; sigma0 0.3) and `cmaes-fr3r` (the same with IPOP "
             "restarts).", ""]
    if not path.is_file():
        return lines + ["(No diagnosis runs cached beside the study's runs: "
                        "`python -m experiments.pole_balancing_diagnosis` writes them.)", ""]
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    lines += [f"Diagnosis runs (`{DIAGNOSIS}`, `experiments/pole_balancing_diagnosis.py`; CMA-ES from 0, cma's "
              "default population; \"best steps\": the longest episode seen; a 400 s clock per probe; 1-2 seeds "
              "per setting, on 2 CPU cores shared with other jobs):", "",
              "| setting | variant | network | sigma0 | seed | genes | solved after | evaluations spent | best steps "
              "| seconds |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['tag']} | {r['variant']} | {r['network']} | {r['sigma0']} | {r['seed']} | "
                     f"{r['params']} | {fmt(r['solved']) if r['solved'] else 'not solved'} | {r['evals']:,} | "
                     f"{r['best_steps']:,.0f} | {r['seconds']:.0f} |")
    return lines + [""]


def _method(runs: list[dict[str, Any]]) -> list[str]:
    caps = ", ".join(f"{v} {c.cap:,}" for v, c in VARIANTS.items())
    used = sorted({(r["variant"], r["cap"]) for r in runs})
    return ["## How it is counted", "",
            "Each run steps its search one generation at a time and stops at the first generation holding a solved "
            "individual (task metric `solved`: balanced 100,000 steps; without velocities also >= 200 of Gruau's "
            "625 start states). Evaluations to solve = every earlier generation's evaluations + the solver's "
            "position in its generation (index + 1), i.e. as if the generation were evaluated in order, as the "
            "published sequential implementations count; the end-of-generation count is in each run's JSON too. "
            f"A run is a failure when no individual solves within its cap (evaluations; the study's caps: {caps}; "
            f"these runs: {', '.join(f'{v} {c:,}' for v, c in used) or 'none'}). Statistics over solved runs "
            "only; failures are counted in their own column. A run stopped by the per-run clock "
            f"(`--max-seconds`, default {MAX_SECONDS:.0f} CPU seconds of the run's own process, checked between "
            "generations, so a loaded machine cannot time a run out; runs timed out under the first, wall-clock "
            "rule were run again) before its cap is a failure too, marked \"timed out\" (its count is not "
            "\"> cap\" but is ranked as one).", ""]


def _sizes() -> list[str]:
    from evohyper.api.recurrent import ElmanSpec
    from evohyper.decoders.dct import DCTDecoder

    lines = ["## Network sizes", "", "Elman networks (`network: {hidden: [h], recurrent: true}`, tanh, 1 output): "
             "weights and biases, and the genes of each DCT arm (per tensor: k per tensor, capped at its size; "
             "per neuron: k per neuron).", "",
             "| inputs | h | weights | " + " | ".join(a for a in ARMS if ARMS[a].family == "dct" and
                                                        ARMS[a].hidden == SIZES[0]).replace(f"-h{SIZES[0]}", "")
             + " |"]
    dct_arms = [a for a in ARMS if ARMS[a].family == "dct" and ARMS[a].hidden == SIZES[0]]
    lines.append("|---|---|---|" + "---|" * len(dct_arms))
    for inputs in sorted({v.inputs for v in VARIANTS.values()}):
        for h in SIZES:
            spec = ElmanSpec([inputs, h, 1], output_activation="tanh")
            genes = [DCTDecoder(spec, **{k: v for k, v in ARMS[a.replace(f"-h{SIZES[0]}", f"-h{h}")].decoder.items()
                                         if k != "name"}).genome_size for a in dct_arms]
            assert spec.num_params == elman_weights(inputs, h)
            lines.append(f"| {inputs} | {h} | {spec.num_params:,} | " + " | ".join(map(str, genes)) + " |")
    return lines + [""]


def _variant_table(variant: str, arms: dict[str, dict[str, Any]]) -> list[str]:
    v = VARIANTS[variant]
    lines = [f"## {v.label}", "",
             "| arm | weights | genes | pop | runs | solved | failures | mean | Q1 | median | Q3 | median with failures "
             "| generalisation (of 625) median [min, max] |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for arm, s in arms.items():
        cap = s["caps"][-1] if s["caps"] else None
        g = s["generalisation"]
        gen = f"{np.median(g):.0f} [{min(g):.0f}, {max(g):.0f}] (n={len(g)})" if g else "–"
        neat = ARMS[arm].is_neat
        lines.append(f"| `{arm}` | {'evolved' if neat else s['num_params']} | {'–' if neat else s['genome_size']} | "
                     f"{s['popsize']} | {s['runs']} | {s['solved']} | {_failures(s)} | {fmt(s.get('mean'))} | "
                     f"{fmt(s.get('q1'))} | {fmt(s.get('median'))} | {fmt(s.get('q3'))} | "
                     f"{fmt(s['median_all'], cap)} | {gen} |")
    pub = PUBLISHED.get(variant, {})
    if pub:
        lines += ["", "Published means (see below): " + ", ".join(f"{m} {n:,}" for m, n in pub.items()) + "."]
    return lines + [""]


def _failures(s: dict[str, Any]) -> str:
    return f"{s['failures']} ({s['timed_out']} timed out)" if s["timed_out"] else str(s["failures"])


def _differences() -> list[str]:
    return ["## Where our setup differs from the published one", "",
            "- **Networks.** Our SNES and DCT arms and the sized CMA-ES arms use Elman networks (tanh, one recurrent "
            f"hidden layer) of h = {', '.join(map(str, SIZES))} for every variant, with and without velocities; "
            "`cmaes-lin` is the published CMA-ES setup with velocities (a linear policy), `cmaes-fr3` the one "
            "without (a fully recurrent net as Shark's `NonMarkovPole` builds it: every neuron, the output "
            "included, fed by the inputs, every neuron's last activation and a bias; 3 hidden neurons is our "
            "choice, the published hidden count was not checked; Shark's sigmoid x / (1 + |x|) here tanh). "
            "`cmaes-linr` / `cmaes-fr3r` add IPOP restarts (a fresh CMA-ES with twice the population when cma's "
            "stop criteria fire), `cmaes-linrs` / `cmaes-fr3rs` also restart a run whose best has not risen for "
            "G generations (our rule, not cma's); whether the published runs restarted is not known here. NEAT here "
            "evolves recurrent genomes "
            "from a fully connected start with tanh nodes; Stanley & Miikkulainen used sigmoids and their own "
            "mutation schedule (only the parameters named in `experiments/pole_balancing_spec.py` were matched).",
            "- **NEAT's speciation.** neat-python's genomic distance divides the disjoint genes by the larger "
            "genome's gene count; the paper's divides by 1 for genomes under 20 genes. At the paper's threshold "
            "3.0 the `neat` arm therefore holds one species throughout (probes above), NEAT without speciation; "
            "`neat-s` lowers the threshold to one that speciates. Neither has the population-level stagnation "
            "rule of NEAT's own code (only the top two species reproduce after a long plateau), which neat-python "
            "lacks.",
            "- **Inputs.** As the task defines them (positions and, with velocities, velocities; scaled as the "
            "task does), which may differ from each paper's normalisation.",
            "- **Solved without velocities.** Every individual that lasts the 1,000-step damping episode is tested "
            "on 100,000 steps and then the 625 starts (the task's rule); NEAT's code tests one champion per "
            "species per generation, so a survivor that is not its species' champion can count here and not "
            "there (the evaluations counted are the same; the tests are extra simulated steps).",
            "- **Counting.** Evaluations to the first solving individual in population order (above); CMA-ES and "
            "SNES use their libraries' default population sizes (4 + 3 ln n) from 0 with sigma0 0.3 sqrt(6 / h) "
            "(`cmaes-lin`: sigma0 1, population 16), NEAT 150.",
            "- **Budgets.** Caps " + ", ".join(f"{v} {c.cap:,}" for v, c in VARIANTS.items() if v in DEFAULT_VARIANTS)
            + f" evaluations and {MAX_SECONDS:.0f} CPU seconds per run (one thread); a run past either is a failure.",
            "- **DCT.** The default DCT arms (`cmaes-dctu{k}`) compress only the recurrent matrix (k of its h^2 "
            "coefficients) and keep every other tensor's full coefficient set, with `gain: size` (each tensor's "
            "painting times sqrt(N / k), so sigma0 means the same weight spread as for direct genomes); the first "
            "design (every tensor compressed, `cmaes-dct{k}` / `cmaes-dctn{k}`, one global `scale` = "
            "sqrt(weights / genes)) solved nothing, see `experiments/pole_balancing_spec.py` (\"Why recurrent-only "
            "DCT\"). Koutník et al. compressed every weight matrix and used CoSyNE, not CMA-ES, on their genomes; "
            "their inputs' order may have been smoother than the pole state's.", ""]


def _cost(table: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = ["## Cost", "", "Mean seconds per run (one CPU thread each) and in all, per variant and arm: the run's "
             "CPU seconds where its JSON records them (`cpu_seconds`, since the CPU clock), else its wall-clock "
             "seconds on 2 shared cores.",
             "", "| variant | arm | runs | s per run | s in all |", "|---|---|---|---|---|"]
    for variant, arms in table.items():
        for arm, s in arms.items():
            lines.append(f"| {variant} | `{arm}` | {s['runs']} | {s['seconds']:.1f} | {s['seconds_total']:.0f} |")
    return lines + ["", *estimate(table), ""]


def estimate(table: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """The CPU time the rest of the default study needs: each (variant, arm)'s remaining runs at its measured mean
    seconds per run; cells with no run yet at the mean over the measured runs (central) or at the per-run clock
    ``MAX_SECONDS`` (upper bound: every such run times out)."""
    cells = [(v, a) for v in DEFAULT_VARIANTS for a in DEFAULT_ARMS if runs_variant(a, v)]
    measured = [s for arms in table.values() for s in arms.values() if s["runs"]]
    spent = sum(s["seconds_total"] for s in measured)
    mean = spent / max(1, sum(s["runs"] for s in measured)) if measured else MAX_SECONDS
    central = upper = 0.0
    runs_left = 0
    for v, a in cells:
        s = table.get(v, {}).get(a)
        left = max(0, len(SEEDS) - (s["runs"] if s else 0))
        runs_left += left
        per = s["seconds"] if s and s["runs"] else None
        central += left * (per if per is not None else mean)
        upper += left * (per if per is not None else MAX_SECONDS)
    return [f"**Estimate for the rest** of the default study ({runs_left} of {len(cells) * len(SEEDS)} runs left, "
            "one CPU thread each): "
            f"{central / 3600:.1f} CPU-hours (unmeasured arms at the measured mean of {mean:.0f} s per run), at most "
            f"{upper / 3600:.1f} (unmeasured arms at the {MAX_SECONDS:.0f} s clock; measured arms at their own "
            f"mean). Spent so far: {spent / 3600:.1f} CPU-hours. Timings are on 2 cores shared with other jobs."]
