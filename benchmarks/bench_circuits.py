"""Benchmark: the batched torch circuit simulator vs the plain per-circuit numpy reference, at equal precision.

Workload: N = 4,000 random circuits of lengths 4-10 (E12 values, the dataset's space), K = 64
frequencies, 1 kOhm load. Both sides compute the same responses ``(V_out, I_in)`` on the same circuits,
at the same precision (complex128 against complex128, complex64 against complex64), and are checked to
agree before anything is timed:

* batched: ``CircuitSpace.response`` - one call, tensors ``[circuits, frequencies]``, a loop over the
  10 chain positions only; without autograd (the GA's evaluations, the designer's training data,
  beams and polish) circuits are sorted by their last component and updated in place, so empty tail
  slots cost nothing. complex64 is the path the designer uses.
* reference: ``reference.response_many`` - a Python loop over circuits, each a numpy product of
  ``[K, 2, 2]`` component matrices (vectorised over frequencies, the natural per-circuit code), in
  complex128 or complex64 (float32 frequencies).

Timing: medians of interleaved rounds (each round times every variant once; the machine is shared).
Throughput is circuit-frequency evaluations per second. Target: >= 100x at equal precision, 1 thread.
Run standalone: ``python -m benchmarks.bench_circuits``.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.report import add_summary
from benchmarks.timing import Timing, fmt_ms, fmt_ratio, met, progress, table
from evohyper.families.circuits import reference
from evohyper.families.circuits.canonical import canonicalize
from evohyper.families.circuits.space import DEFAULT_SPACE

N, SEED, TARGET, ROUNDS = 4000, 0, 100.0, 5
#: agreement with the complex128 reference (max |log(r / r_ref)| over all circuits, channels, frequencies)
TOL = {"complex128": 1e-9, "complex64": 1e-3}


def build_circuits(n: int = N, seed: int = SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random circuits, lengths uniform in 4-10, padded with empty slots to 10."""
    gen = torch.Generator().manual_seed(seed)
    space = DEFAULT_SPACE
    kinds, index = space.sample(n, space.max_length, gen)
    lengths = torch.randint(space.min_length, space.max_length + 1, (n,), generator=gen)
    kinds = torch.where(torch.arange(space.max_length) < lengths.unsqueeze(1), kinds, -1)
    kinds, index = canonicalize(kinds, index)
    return kinds, space.values(kinds, index)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(n: int = N, rounds: int = ROUNDS) -> dict[str, object]:
    """Per precision: the reference and the batched simulator (1 and default threads), interleaved."""
    space = DEFAULT_SPACE
    kinds, values = build_circuits(n)
    k_np, v_np = kinds.numpy(), values.numpy()
    omegas = {"complex128": space.omega.numpy(), "complex64": space.omega.numpy().astype(np.float32)}
    dtypes = {"complex128": torch.complex128, "complex64": torch.complex64}
    exact = reference.response_many(k_np, v_np, omegas["complex128"], space.load)
    agree = {}
    for name, dtype in dtypes.items():       # both sides agree with the complex128 reference before timing
        for label, r in (("reference", reference.response_many(k_np, v_np, omegas[name], space.load)),
                         ("batched", space.response(kinds, values, dtype=dtype).numpy())):
            err = float(np.abs(np.log(r.astype(np.complex128) / exact)).max())
            if not err < TOL[name]:
                raise AssertionError(f"{label} {name} disagrees with the complex128 reference: {err:.2e}")
            agree[(label, name)] = err
    default_threads = torch.get_num_threads()
    samples: dict[tuple[str, str, int], list[float]] = {}
    try:
        for r in range(rounds):
            progress(f"circuits: round {r + 1}/{rounds}")
            for name, dtype in dtypes.items():
                samples.setdefault(("reference", name, 1), []).append(
                    _timed(lambda: reference.response_many(k_np, v_np, omegas[name], space.load)))  # noqa: B023
                for threads in sorted({1, default_threads}):
                    torch.set_num_threads(threads)
                    space.response(kinds, values, dtype=dtype)                                    # warm
                    samples.setdefault(("batched", name, threads), []).append(
                        _timed(lambda: space.response(kinds, values, dtype=dtype)))              # noqa: B023
                    torch.set_num_threads(default_threads)
    finally:
        torch.set_num_threads(default_threads)
    timings = {key: Timing.of(v) for key, v in samples.items()}
    return {"n": n, "k": space.frequencies, "timings": timings, "agree": agree, "rounds": rounds}


def section(n: int = N) -> str:
    m = measure(n)
    t: dict = m["timings"]  # type: ignore[assignment]
    evals = m["n"] * m["k"]
    rows, heads = [], {}
    for (side, name, threads), timing in sorted(t.items(), key=lambda kv: (kv[0][1], kv[0][0] != "reference")):
        ref = t[("reference", name, 1)].median
        ratio = ref / timing.median
        if side == "batched" and threads == 1:
            heads[name] = ratio
            add_summary(f"circuit simulator, batched vs per-circuit numpy, {name} both, 1 thread (N={m['n']})",
                        f">= {TARGET:.0f}x", f"{fmt_ratio(ratio)} ({fmt_ms(timing.median)} vs {fmt_ms(ref)})",
                        ratio >= TARGET)
        label = (f"per-circuit numpy reference, {name}, 1 thread" if side == "reference"
                 else f"batched torch, {name}, {threads} thread(s)")
        rows.append([label, fmt_ms(timing.median), timing.spread_ms(), f"{evals / timing.median:.3g}",
                     "1x" if side == "reference" else f"**{fmt_ratio(ratio)}**",
                     "" if side == "reference" else met(ratio >= TARGET),
                     f"{m['agree'][(side, name)]:.1e}"])  # type: ignore[index]
    return "\n".join([
        "## Circuit simulator: batched torch vs per-circuit numpy, at equal precision",
        "",
        f"{m['n']} random circuits (lengths 4-10, E12 values) x {m['k']} log-spaced frequencies, 1 kOhm load. "
        "The reference loops over circuits (numpy, vectorised over frequencies); the batched simulator "
        "(`CircuitSpace.response`, no autograd: circuits sorted by their last component and updated in place) "
        "runs all circuits at once. Each speed-up is against the reference *at the same precision* (complex128 "
        "vs complex128, complex64 vs complex64: float32 frequencies in numpy); complex64 is the path the "
        "designer uses (training data, beams, polish). Both sides are checked against the complex128 reference "
        f"before timing (last column: max |log(r / r_ref)|; limits {TOL}). Medians of {m['rounds']} interleaved "
        "rounds.",
        "",
        table(["simulator", "median", "spread", "circuit-frequency evaluations / s", "speed-up (same precision)",
               f">= {TARGET:.0f}x?", "max log error"], rows),
        "",
        "Headline (1 thread, each against the reference at its own precision): "
        + ", ".join(f"{name} **{fmt_ratio(r)}** ({met(r >= TARGET)})" for name, r in heads.items())
        + f"; target >= {TARGET:.0f}x.",
        "",
    ])


if __name__ == "__main__":
    print(section())
