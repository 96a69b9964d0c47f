"""Benchmark 1: batched population forward vs a per-individual Python loop.

An MLP 64-256-16 (tanh hidden, identity output), population P = 1,000, one input batch of B = 64
shared by every individual. The population is decoded by ``DirectDecoder`` from random genotypes,
exactly as the engine does it, and all variants run on those same pre-built tensors:

* batched: ``MLPPhenotypes.forward(x)`` (the library's path);
* loop (torch ops): ``torch.tanh(x @ W0[i] + b0[i]) @ W1[i] + b1[i]`` for i in range(P);
* loop (nn.Sequential): P pre-built ``Linear-Tanh-Linear`` modules holding the same weights.

Targets: batched >= 100x faster than the plain-op loop; batched FLOP/s >= 25% of this machine's
large-matrix ``torch.mm`` FLOP/s (2048x2048 @ 2048x2048 float32, same thread count).

The section also breaks the batched forward into its stages and times a prototype of a fused
variant (bias folded into the GEMM, in-place activation), to say where the time goes. That
prototype lives here only to measure a suggestion; the library is not changed by this benchmark.
"""
from __future__ import annotations

from typing import Any

import torch

from benchmarks.timing import Timing, fmt_ms, fmt_ratio, median_time, met, progress, table
from evohyper.api.phenotypes import MLPPhenotypes, MLPSpec
from evohyper.decoders.direct import DirectDecoder

P, B, SIZES = 1000, 64, (64, 256, 16)
SPEEDUP_TARGET, FLOPS_TARGET = 100.0, 0.25
MM_N = 2048


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


def fused_prototype(phenotypes: MLPPhenotypes, x: torch.Tensor, w0_folded: torch.Tensor | None = None
                    ) -> torch.Tensor:
    """Suggested forward for a shared input (measured here, not used by the library):
    bias folded into one ``addmm``, activation in place on the contiguous ``[B, P*H]`` result,
    second layer as ``baddbmm`` on a transposed view. ``w0_folded`` is the ``[in, P*H]`` layout
    (pass it to model a phenotype that caches its folded first layer between forward calls)."""
    w0, b0 = phenotypes.weights(0)
    w1, b1 = phenotypes.weights(1)
    n_p, n_in, n_h = w0.shape
    w = w0.permute(1, 0, 2).reshape(n_in, n_p * n_h) if w0_folded is None else w0_folded
    h = torch.addmm(b0.reshape(n_p * n_h), x, w).tanh_()
    return torch.baddbmm(b1.unsqueeze(1), h.view(x.shape[0], n_p, n_h).transpose(0, 1), w1)


def _stages(phenotypes: MLPPhenotypes, x: torch.Tensor) -> list[tuple[str, Timing, float]]:
    """Time each stage of ``MLPPhenotypes.forward`` on its own (same ops as the library's code)."""
    w0, b0 = phenotypes.weights(0)
    w1, b1 = phenotypes.weights(1)
    n_p, n_in, n_h = w0.shape
    folded = w0.permute(1, 0, 2).reshape(n_in, n_p * n_h)
    gemm = x @ folded
    pre = gemm.reshape(x.shape[0], n_p, n_h).transpose(0, 1) + b0.unsqueeze(1)
    hid = torch.tanh(pre)
    f1 = 2.0 * x.shape[0] * n_in * n_h * n_p
    f2 = 2.0 * x.shape[0] * n_h * w1.shape[2] * n_p
    stages = [
        ("fold w0 to [in, P*H] (a copy: decoded weights are strided views)",
         lambda: w0.permute(1, 0, 2).reshape(n_in, n_p * n_h), 0.0),
        ("layer-1 GEMM [64, 64] @ [64, 256000]", lambda: x @ folded, f1),
        ("transpose + bias add (strided, allocates [P, B, H])",
         lambda: gemm.reshape(x.shape[0], n_p, n_h).transpose(0, 1) + b0.unsqueeze(1), 0.0),
        ("tanh (out of place)", lambda: torch.tanh(pre), 0.0),
        ("layer-2 baddbmm: 1,000 x ([64, 256] @ [256, 16])",
         lambda: torch.baddbmm(b1.unsqueeze(1), hid, w1), f2),
    ]
    out = []
    for name, fn, flops in stages:
        out.append((name, median_time(fn, repeats=7, warmup=2), flops))
    return out


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
        batched = median_time(lambda: phenotypes.forward(x), repeats=9, warmup=2)
        progress(f"  batched forward: {fmt_ms(batched.median)} -> {flops / batched.median / 1e9:.1f} GFLOP/s")
        reference = phenotypes.forward(x)
        loop_out = torch.stack(loop_torch_ops(phenotypes, x))
        max_diff = float((loop_out - reference).abs().max())
        loop = median_time(lambda: loop_torch_ops(phenotypes, x), repeats=5, warmup=1)
        progress(f"  loop (torch ops): {fmt_ms(loop.median)}")
        nets = build_sequentials(phenotypes)
        seq = median_time(lambda: [net(x) for net in nets], repeats=5, warmup=1)
        progress(f"  loop (nn.Sequential): {fmt_ms(seq.median)}")
        stages = _stages(phenotypes, x)
        progress("  stage breakdown done")
        fused = median_time(lambda: fused_prototype(phenotypes, x), repeats=9, warmup=2)
        w0 = phenotypes.weights(0)[0]
        folded = w0.permute(1, 0, 2).reshape(w0.shape[1], -1).contiguous()
        fused_cached = median_time(lambda: fused_prototype(phenotypes, x, folded), repeats=9, warmup=2)
        fused_diff = float((fused_prototype(phenotypes, x) - reference).abs().max())
        progress(f"  fused prototype: {fmt_ms(fused.median)} (cached fold: {fmt_ms(fused_cached.median)})")
        return {"mm": mm, "mm_flops": mm_flops, "batched": batched, "loop": loop, "seq": seq,
                "flops": flops, "max_diff": max_diff, "stages": stages, "fused": fused,
                "fused_cached": fused_cached, "fused_diff": fused_diff, "threads": torch.get_num_threads()}
    finally:
        torch.set_grad_enabled(True)


def _gflops(flops: float, t: Timing) -> str:
    return f"{flops / t.median / 1e9:.1f} GFLOP/s"


def render(r: dict[str, Any]) -> str:
    batched, loop, seq, mm = r["batched"], r["loop"], r["seq"], r["mm"]
    speed = loop.median / batched.median
    speed_seq = seq.median / batched.median
    achieved = r["flops"] / batched.median
    frac = achieved / r["mm_flops"]
    rows = [
        ["batched `MLPPhenotypes.forward(x)`", fmt_ms(batched.median), batched.spread_ms(), "1x (reference)",
         "—", "—"],
        ["loop over individuals, plain torch ops", fmt_ms(loop.median), loop.spread_ms(),
         f"batched is {fmt_ratio(speed)} faster", f">= {SPEEDUP_TARGET:g}x", met(speed >= SPEEDUP_TARGET)],
        ["loop over 1,000 `nn.Sequential` (secondary)", fmt_ms(seq.median), seq.spread_ms(),
         f"batched is {fmt_ratio(speed_seq)} faster", "(secondary, none)", "—"],
        [f"`torch.mm` {MM_N}x{MM_N} @ {MM_N}x{MM_N} (peak reference)", fmt_ms(mm.median), mm.spread_ms(),
         f"{r['mm_flops'] / 1e9:.1f} GFLOP/s", "—", "—"],
        ["batched forward FLOP/s", _gflops(r["flops"], batched), f"{r['flops'] / 1e9:.3g} GFLOP per call",
         f"{frac * 100:.1f}% of `torch.mm` FLOP/s", f">= {FLOPS_TARGET * 100:g}%", met(frac >= FLOPS_TARGET)],
    ]
    main = table(["variant", "median", "spread", "ratio", "target", "met?"], rows)

    stage_rows = []
    total = sum(t.median for _, t, _ in r["stages"])
    for name, t, flops in r["stages"]:
        rate = f"{flops / t.median / 1e9:.1f} GFLOP/s ({flops / t.median / r['mm_flops'] * 100:.0f}% of mm)" \
            if flops else "memory-bound, 0 FLOPs counted"
        stage_rows.append([name, fmt_ms(t.median), f"{t.median / total * 100:.0f}%", rate])
    stage_rows.append(["sum of stages", fmt_ms(total), "100%", _gflops(r["flops"], Timing.of([total]))])
    stages = table(["stage of the batched forward", "median", "share", "rate"], stage_rows)
    fused, cached = r["fused"], r["fused_cached"]
    proto = table(["prototype (benchmark-only code)", "median", "spread", "vs library forward", "FLOP/s vs mm"], [
        ["addmm with folded bias + in-place tanh + baddbmm on a view", fmt_ms(fused.median), fused.spread_ms(),
         fmt_ratio(batched.median / fused.median) + " faster",
         f"{r['flops'] / fused.median / r['mm_flops'] * 100:.1f}%"],
        ["same, first layer folded once and cached (forward called many times)", fmt_ms(cached.median),
         cached.spread_ms(), fmt_ratio(batched.median / cached.median) + " faster",
         f"{r['flops'] / cached.median / r['mm_flops'] * 100:.1f}%"],
    ])

    gemm_t = r["stages"][1][1].median
    bmm_t = r["stages"][4][1].median
    reading = (
        f"**Reading.** The batched forward takes {fmt_ms(batched.median)} for all 1,000 networks; the per-individual "
        f"loop of plain torch ops takes {fmt_ms(loop.median)}, so batching is **{fmt_ratio(speed)}** faster "
        f"({fmt_ratio(speed_seq)} against `nn.Sequential` modules). The ≥ 100x target is "
        f"{'met' if speed >= SPEEDUP_TARGET else '**not met**'}. "
        f"A fair loop is not dominated by Python overhead at this size: each individual does "
        f"{r['flops'] / P / 1e6:.2f} MFLOP of real GEMM work, so the loop itself already runs at "
        f"{_gflops(r['flops'], loop)} ({r['flops'] / loop.median / r['mm_flops'] * 100:.0f}% of `torch.mm`). "
        "Batching can only remove the per-op dispatch (5 ops x 1,000 individuals) and use larger GEMMs, which "
        "bounds the speed-up by roughly (peak FLOP/s) / (loop FLOP/s); a 100x gap needs networks small enough "
        "that dispatch dominates, or a GPU. "
        f"The batched forward reaches {_gflops(r['flops'], batched)}, **{frac * 100:.1f}%** of the "
        f"{r['mm_flops'] / 1e9:.1f} GFLOP/s that a large `torch.mm` achieves with the same "
        f"{r['threads']} threads: the ≥ 25% target is {'met' if frac >= FLOPS_TARGET else '**not met**'}. "
        f"The stage breakdown shows why: the layer-1 GEMM itself runs at "
        f"{r['stages'][1][2] / gemm_t / r['mm_flops'] * 100:.0f}% of peak and the layer-2 batched GEMM (1,000 "
        f"tiny 64x256x16 products) at {r['stages'][4][2] / bmm_t / r['mm_flops'] * 100:.0f}%, but most of the time "
        "goes to memory-bound passes over the 16.4M-element hidden activation and the 16.4M-weight first layer: "
        "re-laying out w0 (a copy on every call, because `DirectDecoder` returns strided views into the genotype "
        "matrix), the strided transpose + bias add that allocates a new [P, B, H] tensor, and an out-of-place tanh. "
        f"The fused prototype removes the separate bias pass and the extra allocation "
        f"({fmt_ratio(batched.median / fused.median)} vs the library forward); caching the folded first layer "
        f"(useful when a task calls `forward` many times per generation, e.g. a control rollout) brings it to "
        f"{fmt_ratio(batched.median / cached.median)}. Output agreement: loop vs batched max |diff| = "
        f"{r['max_diff']:.2e}, prototype vs batched = {r['fused_diff']:.2e}."
    )
    return "\n\n".join([
        "## 1. Batched population evaluation vs a per-individual loop",
        f"MLP {'-'.join(map(str, SIZES))} (tanh hidden), population {P:,}, one input batch of {B} shared by all "
        f"individuals, float32, CPU, torch intra-op threads = {r['threads']}, inference under `torch.no_grad()`. "
        "Weights decoded by `DirectDecoder` from random genotypes; every variant uses those same tensors. "
        f"FLOPs counted as 2·B·(64·256 + 256·16)·P = {r['flops'] / 1e9:.3g} GFLOP per population forward.",
        main, "Where the batched forward spends its time (each stage timed alone):", stages,
        "A possible improvement, measured (not applied to the library):", proto, reading])


def section() -> str:
    return render(run())


if __name__ == "__main__":
    print(section())
