"""`make reports`: regenerate every science report in reports/ from configs in search_spaces/.

Each report is a function registered in ``REPORTS``; it runs real searches (seeds listed in the
report) and writes markdown + PNG. ``python -m experiments.make_reports [name ...]``.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from experiments.multi_seed import multi_seed_report

ROOT = Path.cwd()


def cartpole_snes(out_dir: Path) -> Path:
    """The default job (SNES on cart-pole) over 5 seeds: learning curves and final returns."""
    return multi_seed_report(ROOT / "search_spaces" / "cartpole_snes.yaml", seeds=[0, 1, 2, 3, 4],
                             out_dir=out_dir, slug="cartpole_snes",
                             overrides=["backend.name=local", "output.tensorboard=false"])


def circuit_design(out_dir: Path) -> Path:
    """Tuned GA (through the engine) vs the hypernetwork circuit designer, its ablations and the hybrid."""
    from experiments.circuit_design import circuit_design_report
    cmd = "make reports" if not sys.argv[1:] else "python -m experiments.make_reports " + " ".join(sys.argv[1:])
    return circuit_design_report(out_dir, command=cmd)



def hyperneat_visual(out_dir: Path) -> Path:
    """HyperNEAT on visual discrimination over 5 seeds, champions re-scored at 33x33 and 55x55."""
    from experiments.hyperneat_report import hyperneat_visual_report
    return hyperneat_visual_report(ROOT / "search_spaces" / "hyperneat_visual.yaml", seeds=[0, 1, 2, 3, 4],
                                   out_dir=out_dir, overrides=["backend.name=local", "output.progress=false",
                                                               "budget.generations=150"],
                                   scaling_seeds=list(range(20)), scaling_generations=300)


def es_hyperneat(out_dir: Path) -> Path:
    """ES-HyperNEAT vs fixed-substrate HyperNEAT, same budget: visual discrimination and Pendulum-v1."""
    from experiments.es_hyperneat_report import es_hyperneat_report
    return es_hyperneat_report(out_dir, seeds={"visual": [0, 1, 2], "pendulum": [0, 1, 2]},
                               overrides=["backend.name=local", "output.progress=false", "output.tensorboard=false",
                                          "budget.generations=60"],
                               task_overrides={"pendulum": ["budget.generations=40"]})



def pneat_visual(out_dir: Path) -> Path:
    """HyperNEAT vs P-NEAT (direct NEAT) on visual discrimination, 10 seeds each, held-out placements: a section
    of reports/hyperneat_visual.md. Heavy: a P-NEAT generation takes minutes (see experiments/pneat_report.py)."""
    from experiments.pneat_report import pneat_report
    return pneat_report(out_dir, seeds=list(range(10)))


def neat_engines(out_dir: Path) -> Path:
    """The NEAT engine parity study (issue 22): XOR and cart-pole x 20 seeds, HyperNEAT visual x 10 seeds, per
    engine; resumable (run directories under experiments/out/neat_engines/, see experiments/neat_engines.py)."""
    from experiments.neat_engines import RUNS, STUDIES, run_all
    from experiments.neat_engines_report import write_report

    run_all(RUNS, list(STUDIES), ["batched", "neat-python"], None, jobs=1)
    cmd = "make reports" if not sys.argv[1:] else "python -m experiments.make_reports " + " ".join(sys.argv[1:])
    return write_report(RUNS, out_dir, command=cmd)


def hypergan_digits(out_dir: Path) -> Path:
    """HyperGAN ensembles on digits vs deep ensembles and an evolved population, 3 seeds."""
    from experiments.hypergan_report import hypergan_digits_report
    return hypergan_digits_report(out_dir, seeds=[0, 1, 2])


def ghn_nas(out_dir: Path) -> Path:
    """Graph-hypernetwork NAS on digits: GHN-vs-trained rank correlation, search vs random, best cells."""
    from experiments.ghn_nas import GhnNasSettings, run
    from experiments.ghn_nas_write import write

    cmd = "make reports" if not sys.argv[1:] else "python -m experiments.make_reports " + " ".join(sys.argv[1:])
    start = time.perf_counter()
    res = run(GhnNasSettings())
    return write(res, out_dir, cmd, time.perf_counter() - start)


def control(out_dir: Path) -> Path:
    """gymnasium / MuJoCo configs over 3 seeds (env-step budgets), best policies on 20 fresh episodes, and
    halfcheetah_pgpe.yaml as shipped (10 minutes, 2 actors)."""
    from experiments.control import control_report

    cmd = "make reports" if not sys.argv[1:] else "python -m experiments.make_reports " + " ".join(sys.argv[1:])
    return control_report(out_dir, cmd)


def agent_embeddings(out_dir: Path) -> Path:
    """Agent embeddings (Chang et al. 2019): data set of evolved cart-pole networks, conditional VAE, Table 1 and
    Figure 7 shapes, latent vs direct CMA-ES; resumable (stages under experiments/out/agent_embeddings/)."""
    from experiments.agent_embeddings import agent_embeddings_report
    return agent_embeddings_report(out_dir, "python -m experiments.make_reports agent_embeddings")


def pole_balancing(out_dir: Path) -> Path:
    """Evaluations to solve single and double pole (issue 24): NEAT, CMA-ES, SNES, CMA-ES on dct; resumable
    (one JSON per finished run under experiments/out/pole_balancing/)."""
    from experiments.pole_balancing import make_report
    return make_report(out_dir)


def multi_objective(out_dir: Path) -> Path:
    """NSGA-II on vectors (evohyper's `nsga2` and DEAP's documented loop) on Pendulum-v1, return vs mean |action|,
    3 seeds each; resumable (runs cached under experiments/out/multi_objective/, see experiments/multi_objective.py)."""
    from experiments.multi_objective import run_missing
    from experiments.multi_objective_report import write_report

    run_missing()
    cmd = "make reports" if not sys.argv[1:] else "python -m experiments.make_reports " + " ".join(sys.argv[1:])
    return write_report(out_dir, command=cmd)


def quality_diversity(out_dir: Path) -> Path:
    """CMA-ME on LunarLander-v3 against pyribs' own tutorial loop (Dask), MAP-Elites at the same budget, and the
    arms run so far of NEAT MAP-Elites and a MuJoCo walker (issue 23); resumable (one directory per finished run
    under experiments/out/quality_diversity/)."""
    from experiments.quality_diversity import make_report
    return make_report(out_dir)


def _compare(name: str) -> Callable[[Path], Path]:
    def make(out_dir: Path) -> Path:
        from evohyper.viz.compare import compare

        cmd = "make reports" if not sys.argv[1:] else f"python -m experiments.make_reports compare_{name}"
        return compare(ROOT / "search_spaces" / f"compare_{name}.yaml", out_dir=out_dir, parallel="auto",
                       command=f"{cmd} (= evohyper compare search_spaces/compare_{name}.yaml)")
    make.__doc__ = f"`evohyper compare search_spaces/compare_{name}.yaml` (5 seeds, parallel on a local Ray)."
    return make




def _tune_example(stem: str) -> Callable[[Path], Path]:
    """A shipped meta-search, ``search_spaces/tune_<stem>.yaml``, run on Ray Tune -> reports/tune_<name>.md."""

    def make(out_dir: Path) -> Path:
        from evohyper.config import load_raw
        from evohyper.tune import run_tune
        from evohyper.viz.tune_report import write_tune_report

        outcome = run_tune(load_raw(ROOT / "search_spaces" / f"tune_{stem}.yaml"), verbose=0)
        return write_tune_report(outcome, out_dir)

    make.__doc__ = f"Meta-search search_spaces/tune_{stem}.yaml (Ray Tune)."
    return make


REPORTS: dict[str, Callable[[Path], Path]] = {"cartpole_snes": cartpole_snes,
                                              "hyperneat_visual": hyperneat_visual,
                                              "pneat_visual": pneat_visual,
                                              "neat_engines": neat_engines,
                                              "es_hyperneat": es_hyperneat,
                                              "circuit_design": circuit_design,
                                              "hypergan_digits": hypergan_digits,
                                              "ghn_nas": ghn_nas,
                                              "compare_digits": _compare("digits"),
                                              "compare_cartpole": _compare("cartpole"),
                                              "control": control,
                                              "agent_embeddings": agent_embeddings,
                                              "pole_balancing": pole_balancing,
                                              "multi_objective": multi_objective,
                                              "quality_diversity": quality_diversity}
for _stem in ("cartpole_cmaes_asha", "digits_snes_pbt", "cartpole_network_choice"):
    REPORTS[f"tune_{_stem}"] = _tune_example(_stem)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("names", nargs="*", help=f"reports to make (default all): {', '.join(REPORTS)}")
    p.add_argument("--out", default="reports", help="output directory")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in REPORTS]
    if unknown:
        print(f"unknown report(s) {unknown}; available: {', '.join(REPORTS)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(REPORTS):
        start = time.perf_counter()
        print(f"[reports] {name} ...", flush=True)
        path = REPORTS[name](out)
        print(f"[reports] {name}: wrote {path} in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
