"""TensorNEAT's jitted NEAT generation (``tell`` + ``ask``) on the CPU, for ``bench_neat_engine`` section 1.

Runs with the *separate* environment ``benchmarks/tensorneat_env/`` (jax + TensorNEAT; never this project's
``.venv``), in a subprocess started by ``benchmarks/bench_neat_engine.py``; prints one JSON object on stdout.

The genome is the issue's (22) comparison: neat-python's XOR shape, 2 inputs and 1 output, TensorNEAT's
``DefaultGenome`` with ``max_nodes=50``, ``max_conns=100`` (its padded capacity), sigmoid output, and
``species_size=20`` (TensorNEAT's fixed species table); every other setting is TensorNEAT's default.
Fitness is random (uniform in [0, 4), XOR's range), drawn outside the timed call, so what is timed is
the generation alone: ``jax.jit(algorithm.tell)`` (species update, selection, crossover, mutation,
speciation) then ``algorithm.ask`` (which returns the population arrays), with ``block_until_ready``.
The first two calls compile (the second retraces: the state's structure after one ``tell`` differs from
``setup``'s); they are timed separately and excluded from the samples.

Setting up the environment (TensorNEAT is not on PyPI; its source is the public GitHub repository
EMI-Group/tensorneat, installed without its RL dependencies, which the NEAT core does not import)::

    python3 -m venv benchmarks/tensorneat_env
    benchmarks/tensorneat_env/bin/pip install "jax[cpu]<0.11" sympy networkx
    benchmarks/tensorneat_env/bin/pip install --no-deps <checkout of EMI-Group/tensorneat>

Usage: ``benchmarks/tensorneat_env/bin/python benchmarks/tensorneat_generation.py [--sizes 150 1000]
[--repeats 5]``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

WARMUP = 2


def measure(pop_size: int, repeats: int, seed: int = 0) -> dict[str, object]:
    import jax
    from tensorneat import algorithm, genome
    from tensorneat.common import ACT, State

    neat = algorithm.NEAT(pop_size=pop_size, species_size=20,
                          genome=genome.DefaultGenome(num_inputs=2, num_outputs=1, max_nodes=50, max_conns=100,
                                                      output_transform=ACT.sigmoid))
    state = neat.setup(State(randkey=jax.random.key(seed)))
    tell = jax.jit(neat.tell)
    key = jax.random.key(seed + 1)

    def generation(state: object, key: object) -> tuple[object, float]:
        fitness = jax.random.uniform(key, (pop_size,), minval=0.0, maxval=4.0).block_until_ready()
        start = time.perf_counter()
        state = tell(state, fitness)
        nodes, conns = neat.ask(state)
        jax.block_until_ready((nodes, conns))
        return state, time.perf_counter() - start

    keys = jax.random.split(key, repeats + WARMUP)
    warmup = []
    for k in keys[:WARMUP]:
        state, seconds = generation(state, k)
        warmup.append(seconds)
    samples = []
    for k in keys[WARMUP:]:
        state, seconds = generation(state, k)
        samples.append(seconds)
    nodes, _ = neat.ask(state)
    return {"pop_size": pop_size, "population_rows": int(nodes.shape[0]), "warmup_s": warmup,
            "samples_s": samples}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[150, 1000, 10000])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    import jax

    out = {"jax": jax.__version__, "backend": jax.default_backend(), "python": platform.python_version(),
           "xla_flags": os.environ.get("XLA_FLAGS", ""), "results": [measure(n, args.repeats) for n in args.sizes]}
    try:
        from importlib.metadata import version
        out["tensorneat"] = version("tensorneat")
    except Exception:  # noqa: BLE001 - the version is informative only
        out["tensorneat"] = "unknown"
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
