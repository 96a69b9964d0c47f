"""Random neat-python genomes (CPPNs, feed-forward or recurrent networks), made by neat-python's mutations.

Why in the package: the CPPN property test, the HyperNEAT benchmarks and a user's own decoder tests
all need populations of *varied* topologies (hidden nodes, disabled links, every activation and
aggregation) built the way NEAT builds them, reproducibly from a seed and without touching the
global ``random`` state.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import neat

from evohyper.api import rng as _rng
from evohyper.api.decoder import DecoderInfo
from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES
from evohyper.families.neat.strategy import NEAT


def cppn_config(num_inputs: int, num_outputs: int, *, activations: Sequence[str] = ACTIVATION_NAMES,
                aggregations: Sequence[str] = AGGREGATION_NAMES, feed_forward: bool = True, **options: Any) -> Any:
    """A neat-python ``Config`` for CPPNs (or direct networks; ``feed_forward=False``: recurrent genomes,
    whose links may form cycles) with every batched activation/aggregation by default."""
    opts = dict(activation_default="random", activation_options=list(activations), activation_mutate_rate=0.3,
                aggregation_default="random", aggregation_options=list(aggregations), aggregation_mutate_rate=0.3,
                conn_add_prob=0.5, conn_delete_prob=0.2, node_add_prob=0.5, node_delete_prob=0.1,
                enabled_mutate_rate=0.1, weight_max=3.0)
    opts.update(options)
    strategy = NEAT(None, 0, **opts)
    strategy.bind(DecoderInfo(genotype="neat", genome_inputs=num_inputs, genome_outputs=num_outputs,
                              genome_feed_forward=feed_forward))
    return strategy.config


def random_genomes(config: Any, n: int, mutations: int = 20, seed: int = 0) -> list[Any]:
    """``n`` genomes: ``configure_new`` then 0..``mutations`` rounds of neat-python's ``mutate``."""
    rng = random.Random(seed)
    gc = config.genome_config
    if gc.innovation_tracker is None:
        gc.innovation_tracker = neat.innovation.InnovationTracker()
    genomes = []
    with _rng.python_random(rng):
        for key in range(n):
            g = neat.DefaultGenome(key)
            g.configure_new(gc)
            for _ in range(random.randint(0, mutations)):
                g.mutate(gc)
            genomes.append(g)
    return genomes


def reference_substrate_weights(genome: Any, config: Any, decoder: Any, pair: int = 0) -> list[list[float]]:
    """Weights ``[n_src][n_tgt]`` of one substrate layer pair the PUREPLES way: neat-python's
    ``FeedForwardNetwork.activate`` once per coordinate pair, then HyperNEAT weight expression in
    pure Python. The slow reference the batched decoder is tested and benchmarked against."""
    net = neat.nn.FeedForwardNetwork.create(genome, config)
    sub = decoder.substrate
    w_out = decoder.output_index("weight", pair)
    leo_out = decoder.output_index("leo", pair) if decoder.leo else None
    t, m = decoder.weight_threshold, decoder.max_weight
    rows = []
    for s in sub.layers[pair]:
        row = []
        for g in sub.layers[pair + 1]:
            inputs = list(s) + list(g)
            if decoder.distance_input:
                inputs.append(sum((a - b) ** 2 for a, b in zip(s, g)) ** 0.5)
            if decoder.bias_input:
                inputs.append(1.0)
            out = net.activate(inputs)
            w = max(-1.0, min(1.0, out[w_out]))
            if leo_out is not None:
                row.append(w * m if out[leo_out] > 0 else 0.0)
            elif abs(w) > t:
                row.append((1.0 if w > 0 else -1.0) * (abs(w) - t) / (1.0 - t) * m)
            else:
                row.append(0.0)
        rows.append(row)
    return rows


def random_batch(config: Any, n: int, mutations: int = 20, seed: int = 0) -> Any:
    """``random_genomes`` as the ``GenomeBatch`` strategy ``neat`` hands out (``float64``: lossless)."""
    from evohyper.families.neat.convert import from_neat_python

    return from_neat_python(random_genomes(config, n, mutations=mutations, seed=seed))
