"""The multi-objective study (issue 23, ``reports/multi_objective.md``): NSGA-II on Pendulum-v1, return vs
mean absolute action, 3 seeds, against an NSGA-II loop written from DEAP's documented example on the same
problem at the same evaluations.

Arms (each run cached as ``experiments/out/multi_objective/<arm>/seed<k>/summary.json``; a finished run is never
rerun, an interrupted evohyper run is resumed from its checkpoint, an interrupted DEAP loop restarts):
- ``nsga2``: ``evohyper run search_spaces/pendulum_nsga2.yaml`` (strategy ``nsga2``, local backend) with the
  seed set; hypervolume per generation from its metrics.csv, the front from ``archive/front.pt``.
- ``deap``: DEAP's ``examples/ga/nsga2.py`` loop as documented (``creator`` classes, ``initIterate`` uniform
  individuals, ``selTournamentDCD`` + clone + ``cxSimulatedBinaryBounded`` with CXPB + ``mutPolynomialBounded``
  of every child + ``selNSGA2`` over ``pop + offspring``), with the same variation parameters, seeded by
  ``random.seed(seed)``; its evaluation is our task's ``evaluate`` on DEAP's individuals (decoded with the same
  ``direct`` decoder, one batched call per generation); hypervolume per generation by
  ``deap.benchmarks.tools.hypervolume`` (DEAP's own conversion to minimisation), the front by
  ``tools.sortNondominated``.
- more arms (NEAT-NSGA-II): any directory ``<arm>/seed<k>/summary.json`` in the same format is picked up by
  the report (``experiments/multi_objective_report.py``, ``ARM_LABELS``).

Summary format: ``{"arm", "seed", "evaluations": [...], "hypervolume": [...], "front": [[return, action_cost],
...], "seconds": wall-clock, "reference_point": [return, action_cost]}``.

``python -m experiments.multi_objective [--arms nsga2 deap] [--seeds 0 1 2]`` runs what is missing;
``python -m experiments.make_reports multi_objective`` runs it and writes the report.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "experiments" / "out" / "multi_objective"
CONFIG = ROOT / "search_spaces" / "pendulum_nsga2.yaml"
#: NEAT-NSGA-II on the same two objectives (return, mean |action|) and reference point as the vector arms, at
#: the same evaluations (mu = lambda = 64, 150 generations): its config is the NEAT example's
#: (``pendulum_neat_nsga2.yaml``, return vs connections) with the task's objectives instead of the size objective
NEAT_CONFIG = ROOT / "search_spaces" / "pendulum_neat_nsga2.yaml"
SEEDS = (0, 1, 2)
ARMS = ("nsga2", "deap", "neat_nsga2")


def settings() -> dict:
    """The shared problem and variation parameters, read from the evohyper config (one source for both arms)."""
    raw = yaml.safe_load(CONFIG.read_text())
    strategy = raw["strategy"]
    return {"raw": raw, "mu": int(strategy["popsize"]), "generations": int(raw["budget"]["generations"]),
            "bounds": [float(v) for v in strategy["bounds"]], "cxpb": 0.9, "cx_eta": 20.0, "mut_eta": 20.0}


def problem() -> tuple:
    """The study's task (our ``gym`` task with the config's options) and its ``direct`` decoder."""
    from evohyper.decoders.direct import DirectDecoder
    from evohyper_tasks.gym import GymTask

    raw = settings()["raw"]
    task = GymTask(**{k: v for k, v in raw["task"].items() if k != "name"})
    return task, DirectDecoder(task.target(raw["network"]))


def summary_path(arm: str, seed: int) -> Path:
    return OUT / arm / f"seed{seed}" / "summary.json"


def _write(arm: str, seed: int, data: dict) -> Path:
    path = summary_path(arm, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"arm": arm, "seed": seed, **data}))
    tmp.replace(path)
    return path


# ----------------------------------------------------------------------------- evohyper's nsga2
def neat_raw() -> dict:
    """The NEAT-NSGA-II arm's config: the NEAT example's genome options on the vector arms' task and budget."""
    s, neat = settings(), yaml.safe_load(NEAT_CONFIG.read_text())
    strategy = {k: v for k, v in neat["strategy"].items() if k not in ("size_objective", "reference_point")}
    strategy.update(popsize=s["mu"], offspring=s["mu"])
    return {**neat, "name": "pendulum-neat-nsga2-action-cost", "task": dict(s["raw"]["task"]),
            "strategy": strategy, "budget": {"generations": s["generations"]}}


def run_ours(seed: int, arm: str = "nsga2") -> Path:
    """``evohyper run`` of the arm's config with this seed (resumed if a run directory was left unfinished)."""
    from evohyper.config import validate
    from evohyper.engine.runner import resume, run

    s = settings()
    runs = OUT / arm / "runs"
    raw = dict(s["raw"] if arm == "nsga2" else neat_raw(), seed=seed, name=f"seed{seed}")
    raw["output"] = {**raw.get("output", {}), "runs_dir": str(runs), "progress": False, "tensorboard": False}
    existing = sorted(runs.glob(f"seed{seed}-*")) if runs.exists() else []
    if existing and list((existing[-1] / "checkpoints").glob("*")):
        run_dir = existing[-1]
        resume(run_dir, [])
    else:
        _, run_dir = run(validate(raw))
    with (run_dir / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    if len(rows) != s["generations"]:
        raise RuntimeError(f"{run_dir}: {len(rows)} generations of {s['generations']}")
    front = torch.load(run_dir / "archive" / "front.pt", weights_only=True)
    return _write(arm, seed, {
        "evaluations": [int(r["evaluations"]) for r in rows], "hypervolume": [float(r["hypervolume"]) for r in rows],
        "front": front["objectives"].tolist(), "seconds": float(rows[-1]["seconds"]),
        "reference_point": front["reference_point"].tolist(), "run_dir": run_dir.name})


# ----------------------------------------------------------------------------- DEAP's documented example
def run_deap(seed: int) -> Path:
    """DEAP's ``examples/ga/nsga2.py`` main loop on our task (comments quote the example's steps)."""
    from deap import base, creator, tools
    from deap.benchmarks.tools import hypervolume

    s = settings()
    task, decoder = problem()
    signs = [1.0 if o.maximize else -1.0 for o in task.objective_space()]
    reference = [-sign * r for sign, r in zip(signs, task.reference_point(), strict=True)]   # minimisation frame

    if not hasattr(creator, "FitnessReturnCost"):
        creator.create("FitnessReturnCost", base.Fitness, weights=tuple(signs))   # return max, cost min
        creator.create("IndividualRC", list, fitness=creator.FitnessReturnCost)
    low, up = s["bounds"]
    ndim = decoder.genome_size

    def uniform(a, b, size):           # the example's initialiser
        return [random.uniform(a, b) for _ in range(size)]

    def evaluate_all(individuals):     # the example maps toolbox.evaluate; one batched call here
        genes = torch.tensor([list(ind) for ind in individuals], dtype=torch.float32)
        with torch.no_grad():
            f = task.evaluate(decoder.decode(genes), seed=0).fitness
        f = f.mean(dim=1) if f.dim() == 3 else f
        return [tuple(row) for row in f.tolist()]

    toolbox = base.Toolbox()
    toolbox.register("attr_float", uniform, low, up, ndim)
    toolbox.register("individual", tools.initIterate, creator.IndividualRC, toolbox.attr_float)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("mate", tools.cxSimulatedBinaryBounded, low=low, up=up, eta=s["cx_eta"])
    toolbox.register("mutate", tools.mutPolynomialBounded, low=low, up=up, eta=s["mut_eta"], indpb=1.0 / ndim)
    toolbox.register("select", tools.selNSGA2)

    random.seed(seed)
    mu, ngen, cxpb = s["mu"], s["generations"], s["cxpb"]
    start = time.perf_counter()
    evaluations, volumes = [], []
    pop = toolbox.population(n=mu)
    for ind, fit in zip(pop, evaluate_all(pop), strict=True):
        ind.fitness.values = fit
    count = len(pop)
    # "This is just to assign the crowding distance to the individuals, no actual selection is done"
    pop = toolbox.select(pop, len(pop))
    evaluations.append(count)
    volumes.append(float(hypervolume(pop, reference)))
    for _gen in range(1, ngen):
        # Vary the population
        offspring = tools.selTournamentDCD(pop, len(pop))
        offspring = [toolbox.clone(ind) for ind in offspring]
        for ind1, ind2 in zip(offspring[::2], offspring[1::2], strict=True):
            if random.random() <= cxpb:
                toolbox.mate(ind1, ind2)
            toolbox.mutate(ind1)
            toolbox.mutate(ind2)
            del ind1.fitness.values, ind2.fitness.values
        # Evaluate the individuals with an invalid fitness
        invalid = [ind for ind in offspring if not ind.fitness.valid]
        for ind, fit in zip(invalid, evaluate_all(invalid), strict=True):
            ind.fitness.values = fit
        count += len(invalid)
        # Select the next generation population
        pop = toolbox.select(pop + offspring, mu)
        evaluations.append(count)
        volumes.append(float(hypervolume(pop, reference)))
    first = tools.sortNondominated(pop, len(pop), first_front_only=True)[0]
    front = sorted({tuple(ind.fitness.values) for ind in first})
    return _write("deap", seed, {"evaluations": evaluations, "hypervolume": volumes, "front": [list(f) for f in front],
                                 "seconds": time.perf_counter() - start,
                                 "reference_point": list(task.reference_point())})


def do_nothing_point() -> list[float]:
    """The zero-torque policy's (return, action cost) on the study's fixed start: where doing nothing sits."""
    task, decoder = problem()
    with torch.no_grad():
        f = task.evaluate(decoder.decode(torch.zeros(1, decoder.genome_size)), seed=0).fitness
    return (f.mean(dim=1) if f.dim() == 3 else f)[0].tolist()


def run_missing(arms: tuple[str, ...] = ARMS, seeds: tuple[int, ...] = SEEDS) -> None:
    torch.set_num_threads(1)
    for arm in arms:
        for seed in seeds:
            if summary_path(arm, seed).exists():
                continue
            t = time.perf_counter()
            {"nsga2": run_ours, "deap": run_deap, "neat_nsga2": lambda k: run_ours(k, "neat_nsga2")}[arm](seed)
            print(f"{arm} seed {seed}: {time.perf_counter() - t:.0f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    args = p.parse_args(argv)
    run_missing(tuple(args.arms), tuple(args.seeds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
