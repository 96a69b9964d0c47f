"""Benchmark: the NEAT generation per engine (issue 22; docs/neat_engine.md, section 6.1).

Strategy ``neat`` runs its generation with an *engine* (option ``engine``): ``neat-python`` (neat-python's
own objects, the reference) or ``batched`` (torch tensors). Every section measures each engine the strategy
accepts, in one process, same config, same fitness, interleaved repeats (medians); an engine the strategy
does not accept (today: ``batched`` until it lands) is reported as not available, never estimated.

1. **XOR, neat-python's example config** (``search_spaces/neat_python/xor-config-feedforward``), the
   generation alone (random fitness, no evaluation), P = 150 / 1,000 / 10,000: the strategy's ``ask`` +
   ``tell`` per engine vs neat-python's own ``Population.run(f, 1)``. Targets for ``batched``: >= 1x /
   5x / 30x neat-python, and faster than TensorNEAT's jitted ``tell`` + ``ask`` (measured with
   ``benchmarks/tensorneat_generation.py`` in its own environment when ``benchmarks/tensorneat_env`` exists,
   else the issue's figures, quoted and labelled so).
2. **HyperNEAT visual discrimination** (``search_spaces/hyperneat_visual.yaml``), P = 1,000: ``ask`` +
   ``tell`` per engine (real fitness: decode and evaluate run between them, timed apart). Target >= 20x.
3. **P-NEAT** (``search_spaces/pneat_visual.yaml``, P = 150, 14,641 connection genes per genome): ``ask`` +
   ``tell`` per engine (target >= 50x) and the whole generation's speed-up beside it.
4. and 5. are in ``bench_neat_engine_scale`` (generation time vs population; Ray 2 actors vs local).

Before a ratio is printed the sides must have done the same work (``neat_engine_sides.check_same_work``):
population sizes as configured in every timed generation, and where the two sides are the same code from
the same seed (the ``neat-python`` engine and ``Population.run``) identical populations.

Run: ``python -m benchmarks.bench_neat_engine [--section 1 2 3 4 5] [--quick] [--engines ...]``
(markdown on stdout); ``make bench`` runs it through ``benchmarks/run_all.py``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from benchmarks import neat_engine_sides as sides
from benchmarks.report import add_summary
from benchmarks.timing import Timing, fmt_ratio, fmt_time, met, progress, spread, table

ROOT = Path(__file__).resolve().parent.parent
TENSORNEAT_PYTHON = ROOT / "benchmarks" / "tensorneat_env" / "bin" / "python"
#: the issue's (22) TensorNEAT figures on this machine, quoted where TensorNEAT cannot run here (ms)
TENSORNEAT_QUOTED = {150: 105.0, 1000: 940.0, 10000: 9845.0}
XOR_TARGETS = {150: 1.0, 1000: 5.0, 10000: 30.0}
VISUAL_TARGET, PNEAT_TARGET = 20.0, 50.0
POPULATION_RUN = "neat-python Population.run"
INTRO = ("Strategy `neat` runs its generation with an *engine* (option `engine`): `neat-python` (neat-python's own "
         "objects, the reference) or `batched` (torch tensors). Every section measures each engine the strategy "
         "accepts, in one process, same config and fitness, interleaved repeats (medians); an engine the strategy "
         "does not accept is reported as not available, never estimated. Before a ratio is printed the sides must "
         "have done the same work (population sizes as configured in every timed generation; where two sides run "
         "the same code from the same seed, identical populations).")


@dataclass
class Settings:
    """Sizes and repeats of one benchmark run (``--quick``: small sizes for a smoke test)."""

    engines: list[str] = field(default_factory=lambda: list(sides.ENGINES))
    xor_sizes: tuple[int, ...] = (150, 1000, 10000)
    visual_size: int = 1000
    pneat_size: int = 150
    scaling_sizes: tuple[int, ...] = (150, 1000, 10000)
    ray_size: int = 10000
    repeats: int = 5
    scale_repeats: int = 3
    tensorneat: bool = True
    quick: bool = False
    float32: bool = True   # also time the batched engine with float32 genes (an option; float64 is the default)

    @classmethod
    def quick_settings(cls, engines: list[str]) -> Settings:
        return cls(engines=engines, xor_sizes=(150, 300), visual_size=150, pneat_size=12, scaling_sizes=(50, 150),
                   ray_size=300, repeats=2, scale_repeats=2, tensorneat=False, quick=True, float32=False)


def _engines(settings: Settings) -> tuple[list[str], str]:
    return sides.engines_and_note(settings.engines)


FLOAT32 = "batched-float32"


def _float32_side(settings: Settings, engines: list[str], config: Path, popsize: int,
                  **kwargs: Any) -> dict[str, sides.StrategySide]:
    """The batched engine with ``dtype: float32`` as one more side (no target: the targets are the default's)."""
    if not settings.float32 or "batched" not in engines:
        return {}
    return {FLOAT32: sides.StrategySide(config, "batched", popsize, overrides=["strategy.dtype=float32"],
                                        name="strategy `neat`, engine `batched`, `dtype: float32`", **kwargs)}


def _cell(t: Timing) -> str:
    return f"{fmt_time(t.median)} ({spread(t)})"


def _timing(steps: list[sides.Step], phase: str | None = None) -> Timing:
    return Timing.of([s.total if phase is None else sum(s.seconds[p] for p in phase.split("+")) for s in steps])


def _summary_missing(benchmark: str, target: str) -> None:
    add_summary(benchmark, target, "batched engine not available", None)


# ----------------------------------------------------------------------------- 1. XOR generation alone
def tensorneat_figures(settings: Settings) -> tuple[dict[int, Timing | float], str]:
    """TensorNEAT's jitted tell + ask per population size: measured in its own environment, else quoted."""
    quoted = {p: TENSORNEAT_QUOTED[p] / 1e3 for p in settings.xor_sizes if p in TENSORNEAT_QUOTED}
    why = "quoted from issue 22 (measured on this machine when the issue was filed), not measured in this run"
    if not settings.tensorneat:
        return quoted, why + " (`--quick`)"
    if not TENSORNEAT_PYTHON.exists():
        return quoted, why + f" (`{TENSORNEAT_PYTHON.relative_to(ROOT)}` does not exist; see " \
                             "`benchmarks/tensorneat_generation.py` for its set-up)"
    progress(f"neat_engine: TensorNEAT in its own environment, P = {list(settings.xor_sizes)}")
    try:
        out = subprocess.run([str(TENSORNEAT_PYTHON), str(ROOT / "benchmarks" / "tensorneat_generation.py"),
                              "--sizes", *map(str, settings.xor_sizes), "--repeats", str(settings.repeats)],
                             check=True, capture_output=True, text=True, timeout=1800)
        data = json.loads(out.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        return quoted, why + f" (running TensorNEAT failed: {type(exc).__name__}: {str(exc)[:200]} " \
                             f"{detail.strip().splitlines()[-1][:200] if detail.strip() else ''})"
    measured = {r["pop_size"]: Timing.of(r["samples_s"]) for r in data["results"]}
    warm = "; ".join(f"P = {r['pop_size']}: {', '.join(f'{w:.1f}' for w in r['warmup_s'])} s"
                     for r in data["results"])
    return measured, (f"measured in this run: TensorNEAT {data.get('tensorneat')} on jax {data['jax']} "
                      f"({data['backend']}, XLA's default threads), in its own environment "
                      f"(`benchmarks/tensorneat_env`), {settings.repeats} generations after 2 untimed ones "
                      f"that compile (they took {warm}); not interleaved with the other sides (another process)")


def section_xor(settings: Settings) -> str:
    engines, note = _engines(settings)
    tn, tn_source = tensorneat_figures(settings)
    rows, checks = [], []
    for p in settings.xor_sizes:
        progress(f"neat_engine: XOR generation alone, P = {p}")
        timed = {e: sides.StrategySide(sides.XOR_YAML, e, p) for e in engines}
        timed.update(_float32_side(settings, engines, sides.XOR_YAML, p))
        timed[POPULATION_RUN] = sides.PopulationSide(sides.XOR_INI, p)
        steps = sides.interleaved(timed, settings.repeats)
        exact = [("neat-python", POPULATION_RUN)] if "neat-python" in engines else []
        checks.append(f"P = {p}: " + sides.check_same_work(steps, p, exact))
        ref = _timing(steps[POPULATION_RUN])
        tn_p = tn.get(p)
        tn_s = tn_p.median if isinstance(tn_p, Timing) else tn_p
        for name, st in steps.items():
            t = _timing(st)
            ratio = ref.median / t.median
            target = XOR_TARGETS.get(p) if name == "batched" else None
            vs_tn = "—" if tn_s is None or name == POPULATION_RUN else \
                f"{fmt_ratio(tn_s / t.median)}" + (f" ({met(t.median < tn_s)})" if name == "batched" else "")
            rows.append([p, timed[name].name, _cell(t), f"{st[-1].nodes:.2f} / {st[-1].links:.2f}",
                         "1x" if name == POPULATION_RUN else f"**{fmt_ratio(ratio)}**",
                         f">= {target:g}x: {met(ratio >= target)}" if target else "—", vs_tn])
            if name == "batched" and target:
                add_summary(f"NEAT XOR generation alone, P = {p:,} (batched vs Population.run)", f">= {target:g}x",
                            fmt_ratio(ratio), ratio >= target)
                if tn_s is not None:
                    add_summary(f"NEAT XOR generation alone, P = {p:,} (batched vs TensorNEAT)", "faster",
                                fmt_ratio(tn_s / t.median), t.median < tn_s)
        if tn_s is not None:
            rows.append([p, "TensorNEAT jitted `tell` + `ask`", _cell(tn_p) if isinstance(tn_p, Timing)
                         else f"{fmt_time(tn_s)} (quoted)", "—", fmt_ratio(ref.median / tn_s), "—", "1x"])
        if "batched" not in engines and p in XOR_TARGETS:
            _summary_missing(f"NEAT XOR generation alone, P = {p:,} (batched vs Population.run)",
                             f">= {XOR_TARGETS[p]:g}x")
        for side in timed.values():
            side.close()
    return "\n\n".join(filter(None, [
        "### 1. XOR generation alone (neat-python's example config, random fitness)",
        "Per population size: each engine's `ask` + `tell` (strategy `neat`, `search_spaces/neat_xor.yaml` with "
        "`strategy.popsize` set) and neat-python's own `Population(config, seed=0).run(f, 1)` on the same INI file, "
        f"where `f` assigns the same random fitness (uniform in [0, 4), by seed and generation). One untimed "
        f"generation, then {settings.repeats} interleaved generations per side (order rotated each repeat): medians, "
        "IQR and min/max. Speed-up = Population.run's median / the side's median. Genome size: the last timed "
        "generation's mean node genes / enabled connections (random fitness lets genomes drift; sides that grow "
        "differently do different work).", note,
        table(["P", "side", "generation (median)", "mean nodes / enabled links", "speed-up vs Population.run",
               "target", "speed-up vs TensorNEAT"], rows),
        f"TensorNEAT: {tn_source}. Its genome: 2 inputs, 1 output, `max_nodes` 50, `max_conns` 100, 20 species, "
        "random fitness; its species and reproduction rules are its own (not neat-python's), so it is a speed "
        "reference, not the same computation.",
        "Same work: " + "; ".join(checks) + ".",
    ]))


# ----------------------------------------------------------------------------- 2./3. ask + tell with evaluation
def _evaluated_section(settings: Settings, title: str, config: Path, popsize: int, target: float,
                       summary: str, whole_generation: bool) -> str:
    engines, note = _engines(settings)
    progress(f"neat_engine: {title}, P = {popsize}, engines {engines}")
    timed = {e: sides.StrategySide(config, e, popsize, evaluate=True) for e in engines}
    timed.update(_float32_side(settings, engines, config, popsize, evaluate=True))
    steps = sides.interleaved(timed, settings.repeats) if timed else {}
    check = sides.check_same_work(steps, popsize) if steps else "no engine ran"
    rows = []
    for e, st in steps.items():
        at, whole = _timing(st, "ask+tell"), _timing(st)
        med = {ph: fmt_time(_timing(st, ph).median) for ph in ("ask", "tell", "decode", "evaluate")}
        rows.append([timed[e].name, med["ask"], med["tell"], _cell(at), med["decode"], med["evaluate"], _cell(whole),
                     f"{at.median / whole.median:.0%}", f"{st[-1].nodes:.2f} / {st[-1].links:.1f}"])
    ratios = []
    if "batched" in steps and "neat-python" in steps:
        b, n = steps["batched"], steps["neat-python"]
        r_at = _timing(n, "ask+tell").median / _timing(b, "ask+tell").median
        r_all = _timing(n).median / _timing(b).median
        whole_text = f"; whole generation {fmt_ratio(r_all)}" if whole_generation else ""
        ratios.append(f"**batched vs neat-python: `ask` + `tell` {fmt_ratio(r_at)}** (target >= {target:g}x: "
                      f"{met(r_at >= target)}){whole_text}")
        if FLOAT32 in steps:
            f32 = _timing(n, "ask+tell").median / _timing(steps[FLOAT32], "ask+tell").median
            ratios.append(f"(with `dtype: float32` genes: `ask` + `tell` {fmt_ratio(f32)})")
        add_summary(summary, f">= {target:g}x", fmt_ratio(r_at), r_at >= target)
    else:
        _summary_missing(summary, f">= {target:g}x")
        ratios.append("No ratio: it needs both engines.")
    for side in timed.values():
        side.close()
    return "\n\n".join(filter(None, [
        f"### {title}",
        f"`{config.relative_to(ROOT)}` with `strategy.popsize={popsize}`, local backend, seed 0. Each generation: "
        "`ask`, the decoder's `decode`, the task's `evaluate` (real fitness), `tell`, each timed on its own. One "
        f"untimed generation, then {settings.repeats} interleaved generations per engine; medians (IQR, min/max "
        "for the sums). The direct `neat` decoder (P-NEAT) compiles its networks on their first forward, so "
        "there its compile is inside `evaluate`.", note,
        table(["side", "ask", "tell", "ask + tell", "decode", "evaluate", "whole generation",
               "ask + tell share", "mean nodes / enabled links"], rows) if rows else "",
        " ".join(ratios), f"Same work: {check}.",
    ]))


def section_visual(settings: Settings) -> str:
    return _evaluated_section(settings, f"2. HyperNEAT visual discrimination, P = {settings.visual_size:,}",
                              sides.VISUAL_YAML, settings.visual_size, VISUAL_TARGET,
                              f"NEAT ask + tell, HyperNEAT visual P = {settings.visual_size:,} (batched vs "
                              "neat-python)", whole_generation=True)


def section_pneat(settings: Settings) -> str:
    return _evaluated_section(settings, f"3. P-NEAT (14,641 connection genes per genome), P = {settings.pneat_size}",
                              sides.PNEAT_YAML, settings.pneat_size, PNEAT_TARGET,
                              f"NEAT ask + tell, P-NEAT P = {settings.pneat_size} (batched vs neat-python)",
                              whole_generation=True)


# ----------------------------------------------------------------------------- entry points
def run_sections(settings: Settings, which: list[int]) -> str:
    from benchmarks import bench_neat_engine_scale as scale

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    funcs = {1: section_xor, 2: section_visual, 3: section_pneat, 4: scale.section_scaling, 5: scale.section_ray}
    parts = ["## NEAT engines: the generation per engine (issue 22)",
             f"CPU, torch intra-op threads {torch.get_num_threads()} (env BENCH_THREADS; neat-python is "
             "single-threaded). " + ("**Quick run (`--quick`): small sizes, smoke test only.** " if settings.quick
                                     else "") + INTRO]
    parts += [funcs[i](settings) for i in which]
    return "\n\n".join(parts)


def section() -> str:
    """For ``benchmarks/run_all.py`` (``make bench``): every section at full size."""
    return run_sections(Settings(), [1, 2, 3, 4, 5])


def main(argv: list[str] | None = None) -> int:
    from benchmarks import bench_neat_engine_scale as scale

    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_neat_engine", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--section", type=int, nargs="+", choices=[1, 2, 3, 4, 5], default=[1, 2, 3, 4, 5])
    p.add_argument("--quick", action="store_true", help="small sizes and 2 repeats: a smoke test, not figures")
    p.add_argument("--engines", nargs="+", default=list(sides.ENGINES), choices=sides.ENGINES)
    p.add_argument("--huge", action="store_true", help="section 4 also at P = 100,000 (memory permitting)")
    p.add_argument("--no-tensorneat", action="store_true", help="quote TensorNEAT's figures instead of running it")
    p.add_argument("--repeats", type=int, default=None, help="timed generations per side (default 5; quick 2)")
    p.add_argument("--child-scaling", nargs=3, metavar=("ENGINE", "P", "REPEATS"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_scaling:
        engine, popsize, repeats = args.child_scaling
        print(json.dumps(scale.scaling_child(engine, int(popsize), int(repeats))))
        return 0
    settings = Settings.quick_settings(args.engines) if args.quick else Settings(engines=args.engines)
    if args.huge:
        settings.scaling_sizes = (*settings.scaling_sizes, 100_000)
    if args.no_tensorneat:
        settings.tensorneat = False
    if args.repeats:
        settings.repeats = args.repeats
    print(run_sections(settings, args.section))
    return 0


if __name__ == "__main__":
    sys.exit(main())
