"""Profile and time one generation of the batched NEAT engine against neat-python (issue 22, M5 targets).

Cases (random fitness; both sides warmed up the same number of generations, then timed interleaved in
one process, one torch thread, median over ``--repeat``):

- ``xor-150``, ``xor-1000``, ``xor-10000``: neat-python's XOR example config with ``pop_size`` changed;
  batched side ``BatchedEngine.ask`` + ``tell``, neat side ``Population.run(f, 1)`` (f: random fitness).
- ``visual-1000``: HyperNEAT visual discrimination CPPNs (the options of search_spaces/hyperneat_visual.yaml,
  5 inputs, 1 output, feed-forward), P = 1,000; neat side the strategy's ``neat-python`` engine
  (``PythonEngine.ask`` with its conversion to ``GenomeBatch``, + ``tell``).
- ``pneat-150``: P-NEAT (search_spaces/pneat_visual.yaml: 121 inputs, 121 outputs, full_direct, recurrent,
  14,762 connection genes), P = 150, against ``PythonEngine`` likewise.

    .venv/bin/python benchmarks/profile_neat_engine.py [--cases xor-150 ...] [--repeat 15] [--warmup 10]
    .venv/bin/python benchmarks/profile_neat_engine.py --profile xor-150      # cProfile of the batched side
    .venv/bin/python benchmarks/profile_neat_engine.py --torch-profile xor-150
    .venv/bin/python benchmarks/profile_neat_engine.py --baseline-rev 460c8fb  # + that commit's batched engine

``--baseline-rev REV`` adds a third side, interleaved with the other two: the batched engine of git revision
``REV`` (its ``evohyper`` package exported with ``git archive`` into a temporary directory and imported under
another name), so "before" and "after" figures come from one run on one machine state.
"""
from __future__ import annotations

import argparse
import configparser
import cProfile
import importlib
import io
import pstats
import random
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import neat
import torch
import yaml

from evohyper.families.neat import config as typed_config
from evohyper.families.neat import ini
from evohyper.families.neat.batched_engine import BatchedEngine
from evohyper.families.neat.python_engine import PythonEngine
from evohyper.families.neat.strategy import DEFAULT_DTYPE, DTYPES

ROOT = Path(__file__).resolve().parents[1]
XOR = ROOT / "search_spaces" / "neat_python" / "xor-config-feedforward"
VISUAL = ROOT / "search_spaces" / "hyperneat_visual.yaml"
PNEAT = ROOT / "search_spaces" / "pneat_visual.yaml"
CASES = ("xor-150", "xor-1000", "xor-10000", "visual-1000", "pneat-150")
TARGET = {"xor-150": 1.0, "xor-1000": 5.0, "xor-10000": 30.0, "visual-1000": 20.0, "pneat-150": 50.0}


def xor_text(popsize: int) -> str:
    parser = configparser.ConfigParser()
    parser.read_string(XOR.read_text())
    parser.set("NEAT", "pop_size", str(popsize))
    parser.set("NEAT", "no_fitness_termination", "True")
    parser.set("NEAT", "fitness_threshold", "1e308")
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def yaml_text(path: Path, popsize: int, n_in: int, n_out: int, feed_forward: bool) -> str:
    opts = dict(yaml.safe_load(path.read_text())["strategy"])
    opts.pop("name")
    opts["popsize"] = popsize
    _, text = ini.config_from_options({**ini.DEFAULTS, **opts, "num_inputs": n_in, "num_outputs": n_out,
                                       "feed_forward": feed_forward})
    return text


def case_text(case: str) -> tuple[str, str]:
    """(INI text, neat side kind: 'population' or 'engine')."""
    kind, p = case.split("-")
    P = int(p)
    if kind == "xor":
        return xor_text(P), "population"
    if kind == "visual":
        return yaml_text(VISUAL, P, 5, 1, True), "engine"
    if kind == "pneat":
        return yaml_text(PNEAT, P, 121, 121, False), "engine"
    raise ValueError(case)


#: gene dtype of the batched sides (``--dtype``; default: the strategy's default, float64)
DTYPE = DTYPES[DEFAULT_DTYPE]


class Batched:
    def __init__(self, text: str, seed: int):
        self.engine = BatchedEngine(typed_config.from_text(text), seed, dtype=DTYPE)
        self.gen = torch.Generator().manual_seed(seed)

    def step(self) -> None:
        pop = self.engine.ask()
        self.engine.tell(torch.randn(len(pop), dtype=torch.float64, generator=self.gen))


class Baseline:
    """The batched engine of another git revision, imported as package ``evohyper_baseline``."""

    module: Any = None

    @classmethod
    def load(cls, rev: str) -> None:
        tmp = Path(tempfile.mkdtemp(prefix="evohyper-baseline-"))
        data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "evohyper"], check=True,
                              capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data")
        (tmp / "evohyper").rename(tmp / "evohyper_baseline")
        for path in (tmp / "evohyper_baseline").rglob("*.py"):
            text = path.read_text()
            path.write_text(re.sub(r"\bevohyper(?=[. ]|$)", "evohyper_baseline", text, flags=re.M))
        sys.path.insert(0, str(tmp))
        cls.module = (importlib.import_module("evohyper_baseline.families.neat.batched_engine"),
                      importlib.import_module("evohyper_baseline.families.neat.config"))

    def __init__(self, text: str, seed: int):
        engine, config = self.module
        self.engine = engine.BatchedEngine(config.from_text(text), seed, dtype=DTYPE)
        self.gen = torch.Generator().manual_seed(seed)

    def step(self) -> None:
        pop = self.engine.ask()
        self.engine.tell(torch.randn(len(pop), dtype=torch.float64, generator=self.gen))


class NeatPopulation:
    """neat-python's own ``Population.run(f, 1)``, f assigning random fitness."""

    def __init__(self, text: str, seed: int):
        self.pop = neat.Population(ini.config_from_text(text), seed=seed)
        self.rng = random.Random(seed)

    def _fitness(self, genomes: Any, _config: Any) -> None:
        for _, g in genomes:
            g.fitness = self.rng.gauss(0.0, 1.0)

    def step(self) -> None:
        self.pop.run(self._fitness, 1)
        self.pop.reproduction.ancestors.clear()


class NeatEngine:
    """The strategy's ``neat-python`` engine: ``ask`` (neat's population converted to a GenomeBatch) + ``tell``."""

    def __init__(self, text: str, seed: int):
        self.engine = PythonEngine(ini.config_from_text(text), seed)
        self.gen = torch.Generator().manual_seed(seed)

    def step(self) -> None:
        pop = self.engine.ask()
        self.engine.tell(torch.randn(len(pop), dtype=torch.float64, generator=self.gen))


def run_case(case: str, repeat: int, warmup: int, seed: int, neat_side: bool) -> dict[str, float]:
    text, kind = case_text(case)
    batched = Batched(text, seed)
    other = (NeatPopulation if kind == "population" else NeatEngine)(text, seed) if neat_side else None
    base = Baseline(text, seed) if Baseline.module is not None else None
    sides = [s for s in (batched, other, base) if s is not None]
    for _ in range(warmup):
        for side in sides:
            side.step()
    times: dict[int, list[float]] = {id(s): [] for s in sides}
    for _ in range(repeat):
        for side in sides:
            t0 = time.perf_counter()
            side.step()
            times[id(side)].append(time.perf_counter() - t0)
    tb = times[id(batched)]
    tn = times[id(other)] if other is not None else []
    pop = batched.engine.population
    out = {"batched_ms": 1e3 * statistics.median(tb), "batched_min_ms": 1e3 * min(tb),
           "species": batched.engine.species_count, "nodes": float(pop.n_nodes.float().mean()),
           "conns": float(pop.n_conns.float().mean())}
    if base is not None:
        out["base_ms"] = 1e3 * statistics.median(times[id(base)])
        out["base_min_ms"] = 1e3 * min(times[id(base)])
    if tn:
        out["neat_ms"] = 1e3 * statistics.median(tn)
        out["neat_min_ms"] = 1e3 * min(tn)
        out["neat_species"] = len(other.pop.species.species) if kind == "population" else other.engine.species_count
    return out


def profile(case: str, warmup: int, repeat: int, seed: int, torch_profile: bool) -> None:
    text, _ = case_text(case)
    batched = Batched(text, seed)
    for _ in range(warmup):
        batched.step()
    if torch_profile:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as tprofile
        with tprofile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(repeat):
                batched.step()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40))
        ops = sum(e.count for e in prof.key_averages() if not e.key.startswith("aten::") or True)
        print(f"events per generation: {ops / repeat:.0f}")
        return
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(repeat):
        batched.step()
    pr.disable()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("cumulative").print_stats(45)
    print(s.getvalue())
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(35)
    print(s.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dtype", choices=list(DTYPES), default=DEFAULT_DTYPE,
                    help="gene dtype of the batched sides (default: the strategy's default)")
    ap.add_argument("--no-neat", action="store_true")
    ap.add_argument("--profile", choices=CASES)
    ap.add_argument("--torch-profile", choices=CASES)
    ap.add_argument("--baseline-rev", help="also time this git revision's batched engine (the 'before')")
    args = ap.parse_args()
    global DTYPE
    DTYPE = DTYPES[args.dtype]
    torch.set_num_threads(1)
    if args.baseline_rev:
        Baseline.load(args.baseline_rev)
    if args.profile or args.torch_profile:
        profile(args.profile or args.torch_profile, args.warmup, args.repeat, args.seed, bool(args.torch_profile))
        return
    base = f" | before ({args.baseline_rev}) ms (min) | before speed-up" if args.baseline_rev else ""
    print("| case | species (batched/neat) | genes/genome (nodes, conns) | batched ms (min) | neat ms (min) | "
          f"speed-up | target{base} |")
    print("|---|---|---|---|---|---|---|" + ("---|---|" if base else ""))
    for case in args.cases:
        r = run_case(case, args.repeat, args.warmup, args.seed, not args.no_neat)
        neat_ms = r.get("neat_ms", float("nan"))
        extra = ""
        if "base_ms" in r:
            extra = f" | {r['base_ms']:.2f} ({r['base_min_ms']:.2f}) | {neat_ms / r['base_ms']:.1f}x"
        print(f"| {case} | {r['species']}/{r.get('neat_species', '-')} | {r['nodes']:.1f}, {r['conns']:.1f} | "
              f"{r['batched_ms']:.2f} ({r['batched_min_ms']:.2f}) | {neat_ms:.2f} ({r.get('neat_min_ms', 0):.2f}) | "
              f"{neat_ms / r['batched_ms']:.1f}x | {TARGET[case]:g}x{extra} |", flush=True)


if __name__ == "__main__":
    main()
