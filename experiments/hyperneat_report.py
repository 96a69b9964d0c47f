"""`make reports` section: HyperNEAT on visual discrimination over several seeds, with the scaling test.

Each seed runs ``search_spaces/hyperneat_visual.yaml``; its champion CPPN (``best/genotype.json``) is
then re-decoded, without further evolution, on 33x33 and 55x55 substrates and scored on the same 75
trials with the boxes scaled (the paper's claim: the CPPN scales "without loss of function").
"""
from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from experiments.multi_seed import plot_curves, run_seeds
from experiments.neat_engine_label import engine_label
from experiments.pneat_report import END as PNEAT_END
from experiments.pneat_report import START as PNEAT_START
from experiments.pneat_report import splice

RESOLUTIONS = (11, 33, 55)


def load_champion(run_dir: Path) -> tuple[Any, Any, dict[str, Any]]:
    """The best genome of a NEAT run, its neat-python config and the run's resolved config."""
    import yaml

    from evohyper.families.neat import ini as _neat_config
    from evohyper.families.neat import neat_state as _neat_state

    exported = json.loads((run_dir / "best" / "genotype.json").read_text())
    config = _neat_config.config_from_text(exported["neat_config"])
    genome = _neat_state.genome_from_data(exported["genome"], config.genome_config)
    return genome, config, yaml.safe_load((run_dir / "config.yaml").read_text())


def score_at(genome: Any, run_config: dict[str, Any], resolution: int) -> dict[str, float]:
    """Fitness and metrics of one genome decoded on the ``resolution`` substrate (no evolution)."""
    from evohyper.families.hyperneat.decoder import HyperNEATDecoder
    from evohyper_tasks.visual_discrimination import VisualDiscriminationTask

    task = VisualDiscriminationTask(resolution=resolution)
    task.setup("cpu")
    options = {k: v for k, v in run_config["decoder"].items() if k != "name"}
    decoder = HyperNEATDecoder(task.target(run_config.get("network") or {}), **options)
    start = time.perf_counter()
    with torch.no_grad():
        result = task.evaluate(decoder.decode([genome]), 0)
    return {"fitness": float(result.fitness[0]), "mean_distance": float(result.metrics["mean_distance"][0]),
            "hit_rate": float(result.metrics["hit_rate"][0]), "seconds": time.perf_counter() - start}


def _pictures(genome: Any, run_config: dict[str, Any], out_dir: Path, slug: str) -> list[Path]:
    from evohyper.families.hyperneat.decoder import HyperNEATDecoder
    from evohyper.families.hyperneat.pictures import decoder_pictures, draw_weights
    from evohyper_tasks.visual_discrimination import VisualDiscriminationTask

    options = {k: v for k, v in run_config["decoder"].items() if k != "name"}
    paths = []
    for res in (11, 33):
        dec = HyperNEATDecoder(VisualDiscriminationTask(res).target({}), **options)
        if res == 11:
            paths += decoder_pictures(dec, genome, out_dir, prefix=f"{slug}_")
        else:
            with torch.no_grad():
                w = dec.decode([genome]).tensors["w0"][0]
            paths.append(draw_weights(w, [res, res], [res, res], out_dir / f"{slug}_weights_{res}.png",
                                      title=f"the same CPPN on the {res}x{res} substrate"))
    return paths


def _settings(config_path: Path) -> dict[str, Any]:
    """The decoder and strategy options of the config, as written there (for the report's text)."""
    import yaml

    raw = yaml.safe_load(Path(config_path).read_text())
    return {**{k: v for k, v in raw["decoder"].items() if k != "name"},
            **{k: v for k, v in raw["strategy"].items() if k != "name"}}


def hyperneat_visual_report(config_path: Path, seeds: list[int], out_dir: Path, slug: str = "hyperneat_visual",
                            overrides: list[str] = (), scaling_seeds: list[int] = (),
                            scaling_generations: int = 300) -> Path:
    started = time.perf_counter()
    rows, champions = [], []
    with tempfile.TemporaryDirectory() as tmp:
        results = run_seeds(config_path, seeds, list(overrides), Path(tmp))
        for res in results:
            run_dir = Path(res["summary"]["run_dir"])
            genome, neat_cfg, run_cfg = load_champion(run_dir)
            scores = {r: score_at(genome, run_cfg, r) for r in RESOLUTIONS}
            rows.append((res, scores, len(genome.nodes), sum(c.enabled for c in genome.connections.values())))
            champions.append((scores[11]["fitness"], res["seed"], genome, run_cfg))
        best = max(champions, key=lambda c: (c[0], -c[1]))
        pics = _pictures(best[2], best[3], out_dir, slug)
    png = plot_curves(results, out_dir / f"{slug}.png", "HyperNEAT, visual discrimination 11x11")
    fit = {r: np.array([s[r]["fitness"] for _, s, _, _ in rows]) for r in RESOLUTIONS}
    hits = {r: np.array([s[r]["hit_rate"] for _, s, _, _ in rows]) for r in RESOLUTIONS}
    dist = {r: np.array([s[r]["mean_distance"] for _, s, _, _ in rows]) for r in RESOLUTIONS}
    cmd = "make reports" if not sys.argv[1:] else "python -m experiments.make_reports " + \
        " ".join(shlex.quote(a) for a in sys.argv[1:])
    if scaling_seeds and os.environ.get("HYPERNEAT_SCALING_CACHED_ONLY") == "1":
        cmd = "HYPERNEAT_SCALING_CACHED_ONLY=1 " + cmd
    cfg_rel = config_path.relative_to(Path.cwd()) if config_path.is_absolute() else config_path
    lines = [
        "# HyperNEAT on visual discrimination: 11x11 evolution, 33x33 and 55x55 without further evolution", "",
        f"Config `{cfg_rel}` (overrides: {', '.join(overrides) or 'none'}), seeds {seeds}. "
        f"NEAT semantics are neat-python's (`DefaultGenome`, `DefaultReproduction`, `DefaultSpeciesSet`, "
        f"`DefaultStagnation`); {engine_label(config_path, overrides)} Every generation's CPPNs are compiled into "
        "tensors and queried at all "
        "14,641 coordinate pairs at once. Fitness is 10000 / (100 + Σ d²) over the 75 trials of "
        "Stanley et al. (2009) (d in cells of the 11x11 field); 100 means every trial marks the large "
        "box's centre. The champion of each seed (best 11x11 fitness) is then decoded by the *same* CPPN "
        "on 33x33 (1,185,921 connections) and 55x55 (9,150,625 connections) substrates and scored on the "
        "same trials with boxes scaled 3x and 5x. A trial whose highest output is shared by several nodes "
        "scores the farthest of them.", "",
        "CPPN inputs, decoder and NEAT settings (from the config): "
        + ", ".join(f"`{k}: {v}`" for k, v in _settings(config_path).items()) + ".", "",
        "## Champion scores at 11x11, 33x33 and 55x55", "",
        "| seed | generations | CPPN nodes / enabled links | fitness 11x11 | fitness 33x33 | fitness 55x55 "
        "| hit rate 11 / 33 / 55 | mean distance 11 / 33 / 55 (cells) | 55x55 decode + eval (s) |",
        "|---|---|---|---|---|---|---|---|---|"]
    for res, scores, nodes, links in rows:
        s = res["summary"]
        lines.append(
            f"| {res['seed']} | {s['generations']} | {nodes} / {links} | "
            + " | ".join(f"{scores[r]['fitness']:.2f}" for r in RESOLUTIONS)
            + " | " + " / ".join(f"{scores[r]['hit_rate']:.2f}" for r in RESOLUTIONS)
            + " | " + " / ".join(f"{scores[r]['mean_distance']:.2f}" for r in RESOLUTIONS)
            + f" | {scores[55]['seconds']:.1f} |")
    lines.append("| **mean ± std** | | | " + " | ".join(f"{fit[r].mean():.2f} ± {fit[r].std():.2f}"
                                                     for r in RESOLUTIONS)
                 + " | " + " / ".join(f"{hits[r].mean():.2f}" for r in RESOLUTIONS)
                 + " | " + " / ".join(f"{dist[r].mean():.2f}" for r in RESOLUTIONS) + " | |")
    drop33, drop55 = fit[33].mean() - fit[11].mean(), fit[55].mean() - fit[11].mean()
    solved = int((fit[11] >= 100.0 - 1e-9).sum())
    lines += ["", f"Seeds solving the task exactly at 11x11: {solved} of {len(seeds)}. Mean change of the "
              f"champions' fitness when re-decoded at 33x33: {drop33:+.2f}, at 55x55: {drop55:+.2f} "
              "(0 = scaled without loss of function).", "",
              "## Learning curves", "", f"![learning curves]({png.name})", "",
              f"## The best champion (seed {best[1]}, fitness {best[0]:.2f} at 11x11)", ""]
    lines += [f"![{p.stem}]({p.name})" for p in pics]
    if scaling_seeds:  # the paper's experiment (experiments/hyperneat_scaling.py; runs cached per seed)
        from experiments.hyperneat_scaling import run_all, scaling_section
        scaled = run_all(config_path, list(scaling_seeds), scaling_generations)
        lines += ["", *scaling_section(scaled, out_dir, list(scaling_seeds), scaling_generations)]
    lines += ["", f"Generated by `{cmd}` in {time.perf_counter() - started:.0f} s with Python "
              f"{platform.python_version()}, torch {torch.__version__} on {platform.machine()}. Reproduce one seed: "
              "`evohyper run " + " ".join([str(cfg_rel), "--set seed=N", *(f"--set {o}" for o in overrides)]) + "`.", ""]
    out = out_dir / f"{slug}.md"
    old = out.read_text() if out.is_file() else ""
    out.write_text("\n".join(lines))
    if PNEAT_START in old and PNEAT_END in old:   # the P-NEAT comparison (experiments/pneat_report.py) stays
        splice(out, old[old.index(PNEAT_START):old.index(PNEAT_END) + len(PNEAT_END)])
    return out
