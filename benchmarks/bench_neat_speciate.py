"""Time the batched speciation step (``distance.distances`` + ``species.speciate``) against neat-python's
``DefaultSpeciesSet.speciate`` on the same inputs (XOR example config, P = 150 / 1,000 / 10,000).

Inputs come from neat itself: ``neat.Population`` runs a few generations under random fitness, then one more
``reproduce`` gives the new population and the surviving species with their old representatives; both
speciations start from there (the batched result is checked equal to neat's first). Median of ``--repeat``.

    .venv/bin/python benchmarks/bench_neat_speciate.py [--sizes 150 1000 10000] [--device cpu]
"""
from __future__ import annotations

import argparse
import copy
import itertools
import random
import statistics
import time
from pathlib import Path

import neat
import torch

from benchmarks.profile_neat_engine import xor_text
from evohyper.families.neat import config as neat_config
from evohyper.families.neat import convert, ini
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.distance import distances
from evohyper.families.neat.species import SpeciesTable, speciate

XOR = Path(__file__).resolve().parents[1] / "search_spaces" / "neat_python" / "xor-config-feedforward"


def _inputs(popsize: int, generations: int, seed: int = 1):
    config = ini.config_from_text(xor_text(popsize))
    pop = neat.Population(config, seed=seed)
    rng = random.Random(seed)

    def fitness(genomes, _config):
        for _, g in genomes:
            g.fitness = rng.gauss(0.0, 1.0)

    pop.run(fitness, generations)
    fitness(pop.population.items(), config)
    new = pop.reproduction.reproduce(config, pop.species, popsize, pop.generation)
    return config, pop.species, new, pop.generation


def _table(ss, sids) -> SpeciesTable:
    n = len(sids)
    return SpeciesTable.from_state({"sid": torch.tensor(sids), "created": torch.zeros(n),
                                    "last_improved": torch.zeros(n), "best": torch.zeros(n), "fitness": torch.zeros(n),
                                    "adjusted_fitness": torch.zeros(n), "representative": torch.zeros(n)})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[150, 1000, 10000])
    ap.add_argument("--generations", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-neat", action="store_true", help="skip timing neat-python's speciate")
    args = ap.parse_args()
    device = torch.device(args.device)
    print(f"torch threads {torch.get_num_threads()}, device {device}")
    print("| P | species before/after | dtype | distances (old reps) ms | speciate ms | neat speciate ms | ratio |")
    print("|---|---|---|---|---|---|---|")
    for P in args.sizes:
        config, ss, new, generation = _inputs(P, args.generations)
        cfg = neat_config.from_neat(config)
        sids = sorted(ss.species)
        reps_objs = [ss.species[s].representative for s in sids]
        nxt = next(ss.indexer)
        ss.indexer = itertools.count(nxt)
        neat_ms = float("nan")
        ss_ref = None
        if not args.no_neat:
            times = []
            for _ in range(max(1, min(args.repeat, 3))):
                ss_copy = copy.copy(ss)
                ss_copy.species = {k: copy.copy(v) for k, v in ss.species.items()}
                ss_copy.indexer = itertools.count(nxt)
                t0 = time.perf_counter()
                ss_copy.speciate(config, new, generation)
                times.append(time.perf_counter() - t0)
                ss_ref = ss_copy
            neat_ms = 1e3 * statistics.median(times)
        for dtype in (torch.float64, torch.float32):
            pop = convert.from_neat_python(new.values()).to(device=device, dtype=dtype)
            old_reps = convert.from_neat_python(reps_objs).to(device=device, dtype=dtype)
            table = SpeciesTable.from_state(_table(ss, sids).state(), device=device)
            d_times, s_times = [], []
            for _ in range(args.repeat):
                _sync(device)
                t0 = time.perf_counter()
                distances(old_reps, pop, cfg)
                _sync(device)
                d_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                out, species_of = speciate(pop, table, old_reps, generation, cfg, Counters(next_sid=nxt))
                _sync(device)
                s_times.append(time.perf_counter() - t0)
            if ss_ref is not None and dtype == torch.float64:
                gids = list(new)
                want = [sorted(ss_ref.species).index(ss_ref.genome_to_species[g]) for g in gids]
                assert species_of.tolist() == want, "batched speciation differs from neat's"
            d_ms, s_ms = 1e3 * statistics.median(d_times), 1e3 * statistics.median(s_times)
            print(f"| {P} | {len(sids)}/{len(out)} | {str(dtype).replace('torch.', '')} | {d_ms:.2f} | {s_ms:.2f} | "
                  f"{neat_ms:.1f} | {neat_ms / s_ms:.1f}x |", flush=True)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


if __name__ == "__main__":
    main()
