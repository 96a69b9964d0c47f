"""Benchmark 1: batched population forward vs a per-individual Python loop.

An MLP 64-256-16 (tanh hidden, identity output), population P = 1,000, one input batch of B = 64
shared by every individual. The population is decoded by ``DirectDecoder`` from random genotypes,
exactly as the engine does it, and all variants run on those same pre-built tensors:

* batched: ``MLPPhenotypes.forward(x)`` (the library's path);
* loop (torch ops): ``torch.tanh(x @ W0[i] + b0[i]) @ W1[i] + b1[i]`` for i in range(P);
* loop (nn.Sequential): P pre-built ``Linear-Tanh-Linear`` modules holding the same weights.

Targets: batched >= 100x faster than the plain-op loop; batched FLOP/s >= 25% of this machine's
large-matrix ``torch.mm`` FLOP/s (2048x2048 @ 2048x2048 float32, same thread count).

The section also breaks the batched forward into its stages, counts page faults, and times the
library forward against variants: the whole population in one pass (the library's path before it
tiled large no-grad populations), buffers kept between calls, and other tile sizes, to say where
the time goes. The variants other than the library's own live here only to measure alternatives.
"""
from __future__ import annotations

import inspect
import resource
from typing import Any

import torch

from benchmarks.report import add_summary
from benchmarks.timing import Timing, fmt_ms, fmt_ratio, median_time, met, progress, require_same, table
from evohyper.api.phenotypes import TILE_ELEMENTS, MLPPhenotypes, MLPSpec
from evohyper.decoders.direct import DirectDecoder

P, B, SIZES = 1000, 64, (64, 256, 16)
SPEEDUP_TARGET, FLOPS_TARGET = 100.0, 0.25
MM_N = 2048
TILES = (32, 64, 250)
#: every variant's outputs must match the library forward's to this (float32, other summation orders), or the
#: section stops without a ratio
OUTPUT_TOL = 1e-5


def forward_flops(p: int = P, b: int = B, sizes: tuple[int, ...] = SIZES) -> float:
    """Multiply-adds of the weight products counted as 2 FLOPs each (bias and activation ignored)."""
    return 2.0 * b * p * sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))


def build_population(seed: int = 0) -> tuple[MLPPhenotypes, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    decoder = DirectDecoder(MLPSpec(list(SIZES), activation="tanh"))
    genotypes = torch.randn(P, decoder.genome_size, generator=gen) * 0.1
    phenotypes = decoder.decode(genotypes)
    x = torch.randn(B, SIZES[0], generator=gen)
    assert isinstance(phenotypes, MLPPhenotypes)
    return phenotypes, x


def loop_torch_ops(phenotypes: MLPPhenotypes, x: torch.Tensor) -> list[torch.Tensor]:
    """The fair baseline: each individual runs its own network with plain torch ops."""
    w0, b0 = phenotypes.weights(0)
    w1, b1 = phenotypes.weights(1)
    return [torch.tanh(x @ w0[i] + b0[i]) @ w1[i] + b1[i] for i in range(len(phenotypes))]


def build_sequentials(phenotypes: MLPPhenotypes) -> list[torch.nn.Module]:
    """P ``nn.Sequential`` networks holding the same weights (built once, outside the timing)."""
    w0, b0 = phenotypes.weights(0)
    w1, b1 = phenotypes.weights(1)
    nets = []
    for i in range(len(phenotypes)):
        net = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.Tanh(),
                                  torch.nn.Linear(SIZES[1], SIZES[2]))
        with torch.no_grad():
            net[0].weight.copy_(w0[i].T), net[0].bias.copy_(b0[i])
            net[2].weight.copy_(w1[i].T), net[2].bias.copy_(b1[i])
        nets.append(net.eval())
    return nets


def tiled_forward(phenotypes: MLPPhenotypes, x: torch.Tensor, chunk: int) -> torch.Tensor:
    """Alternative tile sizes, measured here only: run the population in tiles of ``chunk`` individuals so
    each tile's hidden activation ``[chunk, B, H]`` stays in cache between the layer-1 GEMM, the
    activation and the layer-2 GEMM (whole population: 16.4M floats = 65 MB, far beyond cache)."""
    n = len(phenotypes)
    return torch.cat([phenotypes.select(slice(i, min(i + chunk, n))).forward(x) for i in range(0, n, chunk)])


class PreallocatedForward:
    """Alternative, measured here only: the whole population at once, but into buffers kept
    between calls (``out=``), so the 65 MB hidden activation is not freshly allocated (and page-faulted
    in, 16k faults) on every call."""

    def __init__(self, phenotypes: MLPPhenotypes, x: torch.Tensor):
        self.ph, self.x = phenotypes, x.expand(len(phenotypes), *x.shape)
        w0, w1 = phenotypes.weights(0)[0], phenotypes.weights(1)[0]
        self.hidden = torch.empty(len(phenotypes), x.shape[0], w0.shape[2])
        self.out = torch.empty(len(phenotypes), x.shape[0], w1.shape[2])

    def __call__(self) -> torch.Tensor:
        (w0, b0), (w1, b1) = self.ph.weights(0), self.ph.weights(1)
        torch.baddbmm(b0.unsqueeze(1), self.x, w0, out=self.hidden).tanh_()
        return torch.baddbmm(b1.unsqueeze(1), self.hidden, w1, out=self.out)


def page_faults(fn: Any, calls: int = 5) -> float:
    """Minor page faults per call of ``fn`` (fresh large allocations are mmapped and faulted in)."""
    fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def _stages(phenotypes: MLPPhenotypes, x: torch.Tensor) -> list[tuple[str, Timing, float]]:
    """Time each stage of the default shared-input ``MLPPhenotypes.forward`` on its own."""
    w0, b0 = phenotypes.weights(0)
    w1, b1 = phenotypes.weights(1)
    n_p, n_in, n_h = w0.shape
    xs = x.expand(n_p, *x.shape)
    hidden = torch.baddbmm(b0.unsqueeze(1), xs, w0)
    f1 = 2.0 * x.shape[0] * n_in * n_h * n_p
    f2 = 2.0 * x.shape[0] * n_h * w1.shape[2] * n_p
    stages = [
        ("layer-1 `baddbmm`, x broadcast (stride 0): 1,000 x ([64, 64] @ [64, 256])",
         lambda: torch.baddbmm(b0.unsqueeze(1), xs, w0), f1),
        ("`tanh_` in place on the [1000, 64, 256] hidden activation (65 MB)", lambda: hidden.tanh_(), 0.0),
        ("layer-2 `baddbmm`: 1,000 x ([64, 256] @ [256, 16])",
         lambda: torch.baddbmm(b1.unsqueeze(1), hidden, w1), f2),
    ]
    return [(name, median_time(fn, repeats=9, warmup=2), flops) for name, fn, flops in stages]


def _supports_fold() -> bool:
    return "fold" in inspect.signature(MLPPhenotypes.forward).parameters


def run() -> dict[str, Any]:
    torch.set_grad_enabled(False)
    try:
        phenotypes, x = build_population()
        flops = forward_flops()
        progress(f"batched: MLP {SIZES}, P={P}, B={B}, torch threads={torch.get_num_threads()}")
        a = torch.randn(MM_N, MM_N)
        b = torch.randn(MM_N, MM_N)
        mm = median_time(lambda: torch.mm(a, b), repeats=9, warmup=2)
        mm_flops = 2.0 * MM_N ** 3 / mm.median
        progress(f"  torch.mm {MM_N}^3: {fmt_ms(mm.median)} -> {mm_flops / 1e9:.1f} GFLOP/s")
        batched = median_time(lambda: phenotypes.forward(x), repeats=11, warmup=2)
        progress(f"  batched forward: {fmt_ms(batched.median)} -> {flops / batched.median / 1e9:.1f} GFLOP/s")
        fold = None
        if _supports_fold():
            fold = median_time(lambda: phenotypes.forward(x, fold=True), repeats=9, warmup=2)
            progress(f"  batched forward, fold=True: {fmt_ms(fold.median)}")
        reference = phenotypes.forward(x)
        max_diff = require_same("batched: loop of torch ops vs library forward",
                                float((torch.stack(loop_torch_ops(phenotypes, x)) - reference).abs().max()),
                                OUTPUT_TOL)
        if fold is not None:
            require_same("batched: fold=True vs library forward",
                         float((phenotypes.forward(x, fold=True) - reference).abs().max()), OUTPUT_TOL)
        loop = median_time(lambda: loop_torch_ops(phenotypes, x), repeats=7, warmup=1)
        progress(f"  loop (torch ops): {fmt_ms(loop.median)}")
        nets = build_sequentials(phenotypes)
        require_same("batched: nn.Sequential loop vs library forward",
                     float((torch.stack([net(x) for net in nets]) - reference).abs().max()), OUTPUT_TOL)
        seq = median_time(lambda: [net(x) for net in nets], repeats=7, warmup=1)
        progress(f"  loop (nn.Sequential): {fmt_ms(seq.median)}")
        stages = _stages(phenotypes, x)
        progress("  stage breakdown done")
        prealloc = PreallocatedForward(phenotypes, x)
        protos: dict[str, Any] = {
            "library `forward(x)` (tiled; as above, re-timed here)": lambda: phenotypes.forward(x),
            "whole population in one pass (the untiled path)": lambda: phenotypes._forward_range(x, 0, P, False),
            "whole population, buffers preallocated once (`out=`)": prealloc,
        }
        protos.update(
            {
                f"population in tiles of c = {c} individuals": (lambda c=c: tiled_forward(phenotypes, x, c))
                for c in TILES
            }
        )
        tiled = {name: (median_time(fn, repeats=9, warmup=2), page_faults(fn)) for name, fn in protos.items()}
        tiled_diff = require_same("batched: forward variants vs library forward",
                                  max(float((fn() - reference).abs().max()) for fn in protos.values()), OUTPUT_TOL)
        progress("  prototypes: " + ", ".join(f"{fmt_ms(t.median)}" for t, _ in tiled.values()))
        return {
            "mm": mm,
            "mm_flops": mm_flops,
            "batched": batched,
            "fold": fold,
            "loop": loop,
            "seq": seq,
            "flops": flops,
            "max_diff": max_diff,
            "stages": stages,
            "tiled": tiled,
            "tiled_diff": tiled_diff,
            "threads": torch.get_num_threads(),
        }
    finally:
        torch.set_grad_enabled(True)


def _gflops(flops: float, t: Timing) -> str:
    return f"{flops / t.median / 1e9:.1f} GFLOP/s"


def render(r: dict[str, Any]) -> str:
    batched, loop, seq, mm, fold = r["batched"], r["loop"], r["seq"], r["mm"], r["fold"]
    peak = r["mm_flops"]
    speed = loop.median / batched.median
    frac = r["flops"] / batched.median / peak
    rows = [
        [
            "batched `MLPPhenotypes.forward(x)` (default: x broadcast into `baddbmm`)",
            fmt_ms(batched.median),
            batched.spread_ms(),
            "1x (reference)",
            "—",
            "—",
        ],
        [
            "loop over individuals, plain torch ops",
            fmt_ms(loop.median),
            loop.spread_ms(),
            f"batched is {fmt_ratio(speed)} faster",
            f">= {SPEEDUP_TARGET:g}x",
            met(speed >= SPEEDUP_TARGET),
        ],
        [
            "loop over 1,000 `nn.Sequential` (secondary)",
            fmt_ms(seq.median),
            seq.spread_ms(),
            f"batched is {fmt_ratio(seq.median / batched.median)} faster",
            "—",
            "—",
        ],
        [
            f"`torch.mm` {MM_N}x{MM_N} @ {MM_N}x{MM_N} (peak reference)",
            fmt_ms(mm.median),
            mm.spread_ms(),
            f"{peak / 1e9:.1f} GFLOP/s",
            "—",
            "—",
        ],
        [
            "batched forward FLOP/s",
            _gflops(r["flops"], batched),
            f"{r['flops'] / 1e9:.3g} GFLOP per call",
            f"{frac * 100:.1f}% of `torch.mm` FLOP/s",
            f">= {FLOPS_TARGET * 100:g}%",
            met(frac >= FLOPS_TARGET),
        ],
    ]
    if fold is not None:
        rows.insert(
            1,
            [
                "batched `forward(x, fold=True)` (first layer as one [64,64]@[64,256000] GEMM)",
                fmt_ms(fold.median),
                fold.spread_ms(),
                f"{fmt_ratio(fold.median / batched.median)} the default's time",
                "—",
                "—",
            ],
        )
    main = table(["variant", "median", "spread", "ratio", "target", "met?"], rows)

    stage_rows = []
    total = sum(t.median for _, t, _ in r["stages"])
    for name, t, flops in r["stages"]:
        rate = (
            f"{flops / t.median / 1e9:.1f} GFLOP/s ({flops / t.median / peak * 100:.0f}% of mm)"
            if flops
            else "memory-bound (0 FLOPs counted)"
        )
        stage_rows.append([name, fmt_ms(t.median), f"{t.median / total * 100:.0f}%", rate])
    stage_rows.append(["sum of stages", fmt_ms(total), "100%", _gflops(r["flops"], Timing.of([total]))])
    stages = table(["stage of the default batched forward", "median", "share", "rate"], stage_rows)

    items = list(r["tiled"].items())
    lib_t, lib_faults = items[0][1]
    untiled, untiled_faults = items[1][1]
    best_name, (best, best_faults) = min(items, key=lambda kv: kv[1][0].median)
    best_frac = r["flops"] / best.median / peak
    proto = table(
        [
            "variant",
            "median",
            "spread",
            "minor page faults / call",
            "vs library forward",
            "FLOP/s vs mm",
            "would meet 25%?",
        ],
        [
            [
                name,
                fmt_ms(t.median),
                t.spread_ms(),
                f"{faults:,.0f}",
                fmt_ratio(lib_t.median / t.median),
                f"{r['flops'] / t.median / peak * 100:.1f}%",
                met(r["flops"] / t.median / peak >= FLOPS_TARGET),
            ]
            for name, (t, faults) in items
        ],
    )
    bound = loop.median / (r["flops"] / peak)
    l1_name, l1, l1_flops = r["stages"][0]
    act_t = r["stages"][1][1]
    reading = (
        f"**Reading.** The batched forward takes {fmt_ms(batched.median)} for all 1,000 networks; the "
        f"per-individual loop of plain torch ops takes {fmt_ms(loop.median)}, so batching is **{fmt_ratio(speed)}** "
        f"faster ({fmt_ratio(seq.median / batched.median)} against `nn.Sequential` modules). The ≥ 100x target is "
        f"{'met' if speed >= SPEEDUP_TARGET else '**not met**, and cannot be met on this CPU at this size'}: each "
        f"individual does {r['flops'] / P / 1e6:.2f} MFLOP of real GEMM work, so the fair loop is not dominated by "
        f"Python dispatch; it already runs at {_gflops(r['flops'], loop)} "
        f"({r['flops'] / loop.median / peak * 100:.0f}% of `torch.mm`). Even a forward running at 100% of the "
        f"large-`mm` rate would be only {fmt_ratio(bound)} faster than the loop. A 100x gap needs networks small "
        "enough that per-op dispatch dominates (or a GPU, where the loop's kernel-launch cost dominates). "
        f"The batched forward reaches {_gflops(r['flops'], batched)}, **{frac * 100:.1f}%** of the "
        f"{peak / 1e9:.1f} GFLOP/s of a large `torch.mm` with the same {r['threads']} threads: the ≥ 25% target is "
        f"{'met' if frac >= FLOPS_TARGET else '**not met**'}. The stage breakdown shows why: the layer-1 batched "
        f"GEMM runs at {l1_flops / l1.median / peak * 100:.0f}% of peak (its inner dimension is only 64), and the "
        f"in-place tanh alone costs {fmt_ms(act_t.median)}, a memory-bound pass over the 65 MB hidden activation "
        "(larger than the caches) when the population runs in one pass. Run in one pass, each call also allocates "
        "a fresh 65 MB activation, which the allocator maps from the OS and the kernel faults in page by page "
        f"({untiled_faults:,.0f} minor page faults per call, table above; {fmt_ms(untiled.median)}). The library "
        f"forward therefore runs large no-grad populations in tiles whose activation stays under 16 MB "
        f"(`TILE_ELEMENTS`; {TILE_ELEMENTS // (SIZES[1] * B)} individuals here), which the allocator recycles: "
        f"{fmt_ms(lib_t.median)} with {lib_faults:,.0f} faults per call, {fmt_ratio(untiled.median / lib_t.median)} "
        f"the one-pass time. The fastest variant measured ({best_name}) takes {fmt_ms(best.median)} "
        f"({best_frac * 100:.1f}% of peak). These timings vary between runs on this shared VM (see the spreads). "
        + (
            f"The opt-in `fold=True` path is slower ({fmt_ms(fold.median)}) because it re-lays out the strided "
            "first-layer weights on every call. "
            if fold is not None
            else ""
        )
        + f"Output agreement with the library forward (checked against {OUTPUT_TOL:g}; the section stops otherwise): "
        f"loop max |diff| = {r['max_diff']:.2e}, prototypes {r['tiled_diff']:.2e}."
    )
    add_summary(
        "batched MLP forward vs per-individual loop (P=1000, 64-256-16, B=64)",
        f">= {SPEEDUP_TARGET:g}x",
        f"{fmt_ratio(speed)} ({fmt_ms(batched.median)} vs {fmt_ms(loop.median)})",
        speed >= SPEEDUP_TARGET,
    )
    add_summary(
        "batched forward FLOP/s vs large `torch.mm`",
        f">= {FLOPS_TARGET * 100:g}%",
        f"{frac * 100:.1f}% ({_gflops(r['flops'], batched)} of {peak / 1e9:.1f})",
        frac >= FLOPS_TARGET,
    )
    return "\n\n".join(
        [
            "## Batched population evaluation vs a per-individual loop",
            f"MLP {'-'.join(map(str, SIZES))} (tanh hidden), population {P:,}, one input batch of {B} shared by all "
            f"individuals, float32, CPU, torch intra-op threads = {r['threads']}, inference under `torch.no_grad()`. "
            "Weights decoded by `DirectDecoder` from random genotypes; every variant uses those same tensors. "
            f"FLOPs counted as 2·B·(64·256 + 256·16)·P = {r['flops'] / 1e9:.3g} GFLOP per population forward.",
            main,
            "Where the default batched forward spends its time (each stage timed alone):",
            stages,
            "A possible improvement, measured with benchmark-only code (the library is not changed):",
            proto,
            reading,
        ]
    )


def section() -> str:
    return render(run())


if __name__ == "__main__":
    print(section())
