"""Benchmark: HyperNEAT substrate decoding and one generation, evohyper vs the neat-python loop.

Three measurements, population 150, CPU:

1. **Decode the 11x11 -> 11x11 substrate** (14,641 CPPN queries per genome): evohyper's batched
   ``HyperNEATDecoder.decode`` vs the PUREPLES way (neat-python ``FeedForwardNetwork.activate`` once
   per coordinate pair, weight expression in Python; ``evohyper.testing.neat_genomes.
   reference_substrate_weights``). Weights must agree to 1e-5. Target >= 300x.
2. **One generation** (decode + evaluate on visual discrimination, 75 trials): evohyper vs the
   neat-python pipeline (loop decode as above, then the substrate as a neat-python
   ``FeedForwardNetwork`` activated on each trial, as PUREPLES does, scored with the task's tie rule). Fitness
   must agree to ``FITNESS_TOL``, weights to ``WEIGHT_TOL``, or the section stops. Target >= 50x.
3. **Decode the 55x55 substrate** (9,150,625 connections per genome) for 150 genomes, consumed in
   chunks of genomes (``decode_chunks``), in a subprocess: wall time and peak RSS.

The neat-python loop takes ~0.05-0.1 s per genome at 11x11, so it is timed on the first
``LOOP_GENOMES`` genomes and scaled to 150 (it is a per-genome loop: its cost is linear in the
population; the scaling is stated in the table). Two populations: *typical* = random genomes
of the size an evolved population has (measured from a real run: ~2-3 nodes, ~5 links), *large* =
genomes after many neat-python mutations (~7 nodes, ~18 links, ~10 layers).

Run standalone: ``python -m benchmarks.bench_hyperneat``.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import neat
import torch

from benchmarks.timing import Timing, fmt_ms, fmt_ratio, median_time, met, progress, require_same, table
from evohyper.families.hyperneat.decoder import HyperNEATDecoder
from evohyper.testing.neat_genomes import cppn_config, random_genomes, reference_substrate_weights
from evohyper_tasks.visual_discrimination import TIE_ULPS, VisualDiscriminationTask

P = 150
LOOP_GENOMES = 5
DECODE_TARGET, GENERATION_TARGET = 300.0, 50.0
ACTS = ["sigmoid", "tanh", "sin", "gauss", "abs", "identity"]
POPULATIONS = {"typical": 6, "large": 30}  # max neat-python mutation rounds per genome
CHUNK_55 = 10
EPS32 = torch.finfo(torch.float32).eps
#: the two sides must agree to these (weights: the float32 CPPN parity tolerance; fitness: float32 forward
#: against neat-python's float64 one, summed over 75 trials), or the section stops without a ratio
WEIGHT_TOL, FITNESS_TOL = 1e-5, 1e-4


def setup(resolution: int = 11, mutations: int = 6) -> tuple[Any, HyperNEATDecoder, Any, list[Any]]:
    task = VisualDiscriminationTask(resolution)
    task.setup("cpu")
    decoder = HyperNEATDecoder(task.target({}), distance_input=False)
    config = cppn_config(decoder.num_inputs, decoder.num_outputs, activations=ACTS, aggregations=["sum"])
    genomes = random_genomes(config, P, mutations=mutations, seed=0)
    return task, decoder, config, genomes


def size_of(genomes: list[Any]) -> str:
    nodes = sum(len(g.nodes) for g in genomes) / len(genomes)
    links = sum(sum(c.enabled for c in g.connections.values()) for g in genomes) / len(genomes)
    return f"{nodes:.1f} nodes, {links:.1f} enabled links"


def substrate_fitness_loop(weights: list[list[float]], fields: torch.Tensor, task: Any) -> float:
    """PUREPLES-style substrate evaluation: a neat-python FeedForwardNetwork per genome, one trial at a time,
    scored with the task's rule: when several output nodes share the highest activation (within
    ``TIE_ULPS`` float32 epsilons, relative: the task's precision) the trial scores the farthest of them."""
    n = len(weights)
    inputs, outputs = [-i - 1 for i in range(n)], list(range(n))
    ident, total = neat.activations.identity_activation, neat.aggregations.sum_aggregation
    node_evals = [(o, ident, total, 0.0, 1.0, [(inputs[s], weights[s][o]) for s in range(n) if weights[s][o] != 0.0])
                  for o in outputs]
    net = neat.nn.FeedForwardNetwork(inputs, outputs, node_evals)
    nodes, centres = task._nodes.tolist(), task._centres.tolist()
    sq = 0.0
    for x, (cx, cy) in zip(fields.tolist(), centres):
        out = net.activate(x)
        top = max(out)
        tol = TIE_ULPS * EPS32 * abs(top)
        dist = max(((nodes[i][0] - cx) ** 2 + (nodes[i][1] - cy) ** 2) ** 0.5 * 5.5 for i in range(n)
                   if out[i] >= top - tol)
        sq += dist ** 2
    return 10000.0 / (100.0 + sq)


def bench_population(label: str, mutations: int) -> dict[str, Any]:
    task, decoder, config, genomes = setup(11, mutations)
    progress(f"hyperneat [{label}]: batched decode of {P} genomes ({size_of(genomes)})")
    decode = median_time(lambda: decoder.decode(genomes), repeats=7, warmup=1)
    generation = median_time(lambda: task.evaluate(decoder.decode(genomes), 0), repeats=7, warmup=1)
    batched_w = decoder.decode(genomes).tensors["w0"]
    batched_f = task.evaluate(decoder.decode(genomes), 0).fitness
    progress(f"hyperneat [{label}]: neat-python loop on {LOOP_GENOMES} genomes")
    loop_decode, loop_gen, max_diff, max_fit_diff = [], [], 0.0, 0.0
    for i, g in enumerate(genomes[:LOOP_GENOMES]):
        start = time.perf_counter()
        w = reference_substrate_weights(g, config, decoder)
        loop_decode.append(time.perf_counter() - start)
        f = substrate_fitness_loop(w, task._x, task)
        loop_gen.append(time.perf_counter() - start)
        max_diff = max(max_diff, float((torch.tensor(w) - batched_w[i]).abs().max()))
        max_fit_diff = max(max_fit_diff, abs(f - float(batched_f[i])))
    require_same(f"hyperneat [{label}]: substrate weights, neat-python loop vs batched decode", max_diff, WEIGHT_TOL)
    require_same(f"hyperneat [{label}]: fitness, neat-python pipeline vs task.evaluate", max_fit_diff, FITNESS_TOL)
    per_decode, per_gen = Timing.of(loop_decode), Timing.of(loop_gen)
    return {"label": label, "size": size_of(genomes), "decode": decode, "generation": generation,
            "loop_decode_150": per_decode.median * P, "loop_gen_150": per_gen.median * P,
            "loop_per_query_us": per_decode.median / 14641 * 1e6, "max_diff": max_diff, "max_fit_diff": max_fit_diff}


def _decode_55_child() -> None:
    """Subprocess body: decode the 55x55 substrate for P genomes in chunks; print JSON."""
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    _, decoder, _, genomes = setup(55, POPULATIONS["typical"])
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    expressed = 0
    for _, phen in decoder.decode_chunks(genomes, CHUNK_55):
        expressed += int((phen.tensors["w0"] != 0).sum())  # consume the chunk
    seconds = time.perf_counter() - start
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_rss_mb": rss1 / 1024, "rss_before_mb": rss0 / 1024,
                      "expressed": expressed, "connections": P * decoder.substrate.num_connections}))


def bench_55() -> dict[str, Any]:
    progress(f"hyperneat: 55x55 substrate, {P} genomes in chunks of {CHUNK_55} (subprocess)")
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_hyperneat", "--decode-55"], check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> dict[str, Any]:
    # One intra-op thread by default: the neat-python baseline is single-threaded, and on a shared
    # 2-core machine a second OpenMP thread competing with other processes slows torch down badly.
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    return {"populations": [bench_population(k, m) for k, m in POPULATIONS.items()], "d55": bench_55(),
            "threads": torch.get_num_threads(), "load": "/".join(f"{x:.1f}" for x in os.getloadavg())}


def render(r: dict[str, Any]) -> str:
    rows = []
    for p in r["populations"]:
        d, g = p["decode"], p["generation"]
        rd, rg = p["loop_decode_150"] / d.median, p["loop_gen_150"] / g.median
        rows.append([p["label"], p["size"], f"{fmt_ms(d.median)} ({d.spread_ms()})", fmt_ms(p["loop_decode_150"]),
                     f"**{fmt_ratio(rd)}**", met(rd >= DECODE_TARGET), f"{p['max_diff']:.1e}",
                     f"{fmt_ms(g.median)}", fmt_ms(p["loop_gen_150"]), f"**{fmt_ratio(rg)}**",
                     met(rg >= GENERATION_TARGET), f"{p['max_fit_diff']:.1e}"])
    d55 = r["d55"]
    per_query = r["populations"][0]["loop_per_query_us"]
    loop55 = per_query * 1e-6 * d55["connections"]
    lines = [
        "## HyperNEAT: batched CPPN substrate decoding vs the neat-python loop", "",
        f"Population {P}, visual discrimination substrate 11x11 -> 11x11 (14,641 CPPN queries per genome), "
        f"CPU, torch intra-op threads {r['threads']} (env BENCH_THREADS; the baseline is single-threaded), "
        f"load average at start {r['load']}. evohyper: `HyperNEATDecoder.decode` (all genomes "
        "compiled to tensors, every coordinate pair in a few batched ops). Baseline: neat-python "
        "`FeedForwardNetwork.activate` once per coordinate pair (the PUREPLES way) and, for the generation, the "
        "substrate run as a neat-python network on each of the 75 trials. The baseline is timed on the first "
        f"{LOOP_GENOMES} genomes (median per genome) and multiplied by {P}. Targets: decode >= "
        f"{DECODE_TARGET:.0f}x, generation >= {GENERATION_TARGET:.0f}x. Both sides must agree (checked; the section "
        f"stops otherwise): weights to {WEIGHT_TOL:g}, fitness to {FITNESS_TOL:g} (the baseline scores a trial whose "
        "highest output is shared by several nodes with the task's rule, the farthest tied node).", "",
        table(["population", "CPPN size (mean)", "evohyper decode", "neat-python loop (x150)", "decode speed-up",
               f">= {DECODE_TARGET:.0f}x?", "max weight diff", "evohyper generation", "neat-python generation (x150)",
               "generation speed-up", f">= {GENERATION_TARGET:.0f}x?", "max fitness diff"], rows), "",
        f"**55x55 substrate** ({d55['connections'] / P:,.0f} connections per genome, {d55['connections']:,} in all): "
        f"decoded for {P} genomes (typical population) in chunks of {CHUNK_55} genomes in "
        f"**{d55['seconds']:.1f} s**; peak resident memory of the process {d55['peak_rss_mb']:.0f} MB "
        f"({d55['rss_before_mb']:.0f} MB before decoding); {d55['expressed'] / d55['connections'] * 100:.0f}% of the "
        f"connections expressed. The neat-python loop at its measured {per_query:.1f} µs per query would take "
        f"about {loop55 / 3600:.1f} h for the same work (extrapolated, not run).", ""]
    return "\n".join(lines)


def section() -> str:
    return render(run())


if __name__ == "__main__":
    if "--decode-55" in sys.argv:
        _decode_55_child()
    else:
        print(section())
