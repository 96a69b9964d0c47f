"""Benchmark: the batched torch circuit simulator vs the plain per-circuit numpy reference.

Workload: N = 4,000 random circuits of lengths 4-10 (E12 values, the dataset's space), K = 64
frequencies, 1 kOhm load, complex128. Both compute the same responses ``(V_out, I_in)`` on the same
circuits (checked to agree before timing):

* batched: ``CircuitSpace.response`` - one call, tensors ``[circuits, frequencies]``, a loop over the
  10 chain positions only;
* reference: ``reference.response_many`` - a Python loop over circuits, each a numpy product of
  ``[K, 2, 2]`` component matrices (vectorised over frequencies, the natural per-circuit code).

Throughput is circuit-frequency evaluations per second (N * K / median time). Target: >= 100x.
Run standalone: ``python -m benchmarks.bench_circuits``.
"""
from __future__ import annotations

import numpy as np
import torch

from benchmarks.timing import Timing, fmt_ms, fmt_ratio, median_time, met, progress, table
from evohyper.families.circuits import reference
from evohyper.families.circuits.canonical import canonicalize
from evohyper.families.circuits.space import DEFAULT_SPACE

N, SEED, TARGET = 4000, 0, 100.0
COMPLEX64_RTOL = 1e-3   # the single-precision run must agree with the reference to this relative error


def build_circuits(n: int = N, seed: int = SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random circuits, lengths uniform in 4-10, padded with empty slots to 10."""
    gen = torch.Generator().manual_seed(seed)
    space = DEFAULT_SPACE
    kinds, index = space.sample(n, space.max_length, gen)
    lengths = torch.randint(space.min_length, space.max_length + 1, (n,), generator=gen)
    kinds = torch.where(torch.arange(space.max_length) < lengths.unsqueeze(1), kinds, -1)
    kinds, index = canonicalize(kinds, index)
    return kinds, space.values(kinds, index)


def measure(n: int = N, repeats: int = 7) -> dict[str, object]:
    """Time the reference once and the batched simulator at complex128 / complex64, 1 and default threads."""
    space = DEFAULT_SPACE
    kinds, values = build_circuits(n)
    omega = space.omega
    k_np, v_np, w_np = kinds.numpy(), values.numpy(), omega.numpy()
    ref = reference.response_many(k_np, v_np, w_np, space.load)
    np.testing.assert_allclose(space.response(kinds, values).numpy(), ref, rtol=1e-7, atol=1e-300)
    # complex64 is timed too: the same computation in single precision (measured: max relative error 4e-4 over
    # these 4,000 circuits, from long chains whose responses span many decades)
    np.testing.assert_allclose(space.response(kinds, values, dtype=torch.complex64).numpy(), ref, rtol=COMPLEX64_RTOL)
    progress(f"circuits: per-circuit numpy reference, {n} circuits x {space.frequencies} frequencies")
    loop = median_time(lambda: reference.response_many(k_np, v_np, w_np, space.load), repeats=3, warmup=0)
    evals = n * space.frequencies
    default_threads = torch.get_num_threads()
    rows = []
    try:
        for threads in sorted({1, default_threads}):
            torch.set_num_threads(threads)
            for dtype in (torch.complex128, torch.complex64):
                progress(f"circuits: batched simulator {dtype}, {threads} thread(s)")
                t = median_time(lambda: space.response(kinds, values, dtype=dtype),  # noqa: B023 - timed in this iteration
                                repeats=repeats, warmup=2)
                rows.append({"dtype": str(dtype).replace("torch.", ""), "threads": threads, "time": t,
                             "rate": evals / t.median, "ratio": loop.median / t.median})
    finally:
        torch.set_num_threads(default_threads)
    return {"n": n, "k": space.frequencies, "loop": loop, "loop_rate": evals / loop.median, "rows": rows}


def section(n: int = N) -> str:
    m = measure(n)
    lp: Timing = m["loop"]  # type: ignore[assignment]
    rows = [[f"batched torch, {r['dtype']}, {r['threads']} thread(s)", fmt_ms(r["time"].median), r["time"].spread_ms(),
             f"{r['rate']:.3g}", f"**{fmt_ratio(r['ratio'])}**", met(r["ratio"] >= TARGET)] for r in m["rows"]]
    rows.append(["per-circuit numpy (complex128, 1 thread)", fmt_ms(lp.median), lp.spread_ms(), f"{m['loop_rate']:.3g}",
                 "1x", ""])
    head = m["rows"][0]
    return "\n".join([
        "## Circuit simulator: batched torch vs per-circuit numpy",
        "",
        f"{m['n']} random circuits (lengths 4-10, E12 values) x {m['k']} log-spaced frequencies, 1 kOhm load. "
        "The reference loops over circuits (numpy, vectorised over frequencies); the batched simulator "
        "(`CircuitSpace.response`) runs all circuits at once. complex128 results agree with the "
        "reference to rtol 1e-7 (checked before timing).",
        "",
        table(["simulator", "median", "spread", "circuit-frequency evaluations / s", "speed-up", f">= {TARGET:.0f}x?"],
              rows),
        "",
        f"Headline (same precision and thread count as the reference: complex128, 1 thread): "
        f"**{fmt_ratio(head['ratio'])}**, target >= {TARGET:.0f}x: {met(head['ratio'] >= TARGET)}.",
        "",
    ])


if __name__ == "__main__":
    print(section())
