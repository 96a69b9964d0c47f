"""Bit-identity of the batched NEAT engine against another git revision's (issue 22, M6 speed work).

The speed changes of M6 must leave every run unchanged (a parity study of the earlier engine stays valid for
the code that ships). This script runs the batched engine of ``--baseline-rev`` (exported with ``git archive``
as ``benchmarks/profile_neat_engine.py --baseline-rev`` does) and the working tree's from the same seed, with
random fitness fixed by (seed, generation), and asserts that both ``state_dict``s (population ragged, species
table, ``species_of``, counters, generation) are equal tensor for tensor, dtype and bits included, after every
generation, for float32 and float64 genes.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/check_identical.py --baseline-rev 8f77144 \
        [--cases xor-150 xor-1000 visual-1000 pneat-150] [--generations 30] [--seeds 1]
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_neat_engine import Baseline, case_text  # noqa: E402

from evohyper.families.neat import config as typed_config  # noqa: E402
from evohyper.families.neat import distance as my_dist  # noqa: E402
from evohyper.families.neat.batched_engine import BatchedEngine  # noqa: E402


def equal(a: Any, b: Any, path: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            equal(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), f"{path}: tensor vs {type(b)}"
        assert a.dtype == b.dtype and a.shape == b.shape, \
            f"{path}: {a.dtype}{tuple(a.shape)} vs {b.dtype}{tuple(b.shape)}"
        if a.is_floating_point():  # bits, so that nan, -0.0 and every ulp count
            ok = torch.equal(a.view(torch.int64 if a.dtype == torch.float64 else torch.int32),
                             b.view(torch.int64 if b.dtype == torch.float64 else torch.int32))
        else:
            ok = torch.equal(a, b)
        assert ok, f"{path}: values differ"
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            equal(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def speciation_distances(dist_mod: Any, pop: Any, engine: Any) -> list[torch.Tensor]:
    """The distance matrices speciation asks for (representatives to every genome, columns in gid order, whole
    and from a third on), so that a changed bit shows even where it changes no species."""
    d = dist_mod.PopulationDistances(pop, engine.cfg, order=torch.argsort(pop.gid))
    reps = engine.table.representative
    return [d.ranked_batch(pop[reps]), d.ranked(reps, len(pop) // 3), d.rows(reps[:3])]


def run(case: str, dtype: torch.dtype, seed: int, generations: int) -> float:
    text, _ = case_text(case)
    engine_mod, config_mod = Baseline.module
    base_dist = importlib.import_module("evohyper_baseline.families.neat.distance")
    base = engine_mod.BatchedEngine(config_mod.from_text(text), seed, dtype=dtype)
    mine = BatchedEngine(typed_config.from_text(text), seed, dtype=dtype)
    t_mine = 0.0
    for g in range(generations):
        pb = base.ask()
        t0 = time.perf_counter()
        pm = mine.ask()
        t_mine += time.perf_counter() - t0
        equal(base.state_dict(), mine.state_dict(), f"{case}/{dtype}/seed {seed}/gen {g}")
        equal(speciation_distances(base_dist, pb, base), speciation_distances(my_dist, pm, mine),
              f"{case}/{dtype}/seed {seed}/gen {g}/distances")
        fit = torch.randn(len(pb), dtype=torch.float64, generator=torch.Generator().manual_seed(seed * 100_003 + g))
        assert len(pm) == len(pb)
        base.tell(fit)
        t0 = time.perf_counter()
        mine.tell(fit.clone())
        t_mine += time.perf_counter() - t0
    equal(base.state_dict(), mine.state_dict(), f"{case}/{dtype}/seed {seed}/final")
    return t_mine


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline-rev", default="8f77144")
    ap.add_argument("--cases", nargs="+", default=["xor-150", "xor-1000", "visual-1000", "pneat-150"])
    ap.add_argument("--generations", type=int, default=30)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    Baseline.load(args.baseline_rev)
    for case in args.cases:
        for name in args.dtypes:
            for seed in args.seeds:
                t = run(case, getattr(torch, name), seed, args.generations)
                print(f"identical: {case} {name} seed {seed}, {args.generations} generations "
                      f"(working tree {t:.1f} s)", flush=True)
    print("ALL IDENTICAL")


if __name__ == "__main__":
    main()
