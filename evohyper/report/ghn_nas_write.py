"""Markdown and pictures for ``reports/ghn_nas.md`` from the results of ``ghn_nas.run``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evohyper.nas.space import graph_from_json

METHODS = (("evolution", "regularized evolution, GHN fitness"), ("ghn_random", "random search, GHN fitness"),
           ("random_trained", "random cells, trained (no GHN)"))


def draw_cells(cells: list[tuple[str, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    fig, axes = plt.subplots(1, len(cells), figsize=(4.2 * len(cells), 4.2))
    for ax, (title, data) in zip(np.atleast_1d(axes), cells):
        g = graph_from_json(data)
        depth = {}
        for v in nx.topological_sort(g):
            depth[v] = max((depth[u] + 1 for u in g.predecessors(v)), default=0)
        for v in g:
            g.nodes[v]["layer"] = depth[v]
        pos = nx.multipartite_layout(g, subset_key="layer", align="horizontal")
        pos = {v: (x, -y) for v, (x, y) in pos.items()}
        colors = ["#bbb" if g.nodes[v]["op"] in ("stem", "head") else "#8cf" if "conv" in g.nodes[v]["op"]
                  else "#fc8" for v in g]
        nx.draw_networkx(g, pos, ax=ax, labels={v: g.nodes[v]["op"] for v in g}, node_color=colors,
                         node_size=1800, font_size=7, arrows=True)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def scatter(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = res["corr"]
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4))
    for ax, key, label, tau, rho in ((axes[0], "pred", "validation accuracy", c["tau"], c["rho"]),
                                     (axes[1], "pred_loss", "validation cross-entropy", c["tau_loss"], c["rho_loss"])):
        ax.scatter(c[key], c["val"], s=14)
        ax.set_xlabel(f"{label}, GHN-predicted weights")
        ax.set_ylabel("validation accuracy, trained from scratch")
        ax.set_title(f"{len(c['val'])} cells: tau = {tau:.2f}, rho = {rho:.2f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _finetune_lines(c: dict, s: dict) -> list[str]:
    rows = c.get("finetune", [])
    if not rows:
        return []
    L = ["Exploratory: k Adam steps on the training split for each of the cells before scoring (all cells in "
         "one batched loss, `evohyper/nas/finetune.py`), from the GHN's weights or, for scale, from He "
         "initialisation (the from-scratch recipe cut to k steps, another init seed):\n",
         "| start | steps | lr | Kendall tau (accuracy) | seconds for all cells |", "|---|---|---|---|---|"]
    for r in rows:
        L.append(f"| {'GHN-predicted' if r['start'] == 'ghn' else 'He init'} | {r['steps']} | {r['lr']:g} | "
                 f"{r['tau']:.3f} | {r['seconds']:.1f} |")
    L.append("")
    L.append(f"The fine-tuning learning rate {s['finetune_lr']:g} was chosen on these same {len(c['val'])} cells "
             "(a disclosed sweep on the first engine run: lr 1e-2 lowered tau to 0.11-0.40 at 5-50 steps; lr "
             "1e-3 gave 0.46 / 0.50 / 0.51 at 5 / 20 / 50 steps, lr 3e-4 0.51 at 20), so any gain here is within "
             "selection noise; the He-init rows show what the same number of steps buys without a GHN.\n")
    return L


def _noise_lines(c: dict, s: dict) -> list[str]:
    runs = c.get("tau_runs") or []
    if len(runs) < 2:
        return []
    per = ", ".join(f"{t:.3f} (training seed {i})" for i, t in enumerate(runs))
    return [f"The reference's noise: each single run of {s['seeds_per_cell']} seeds (the earlier reports' "
            f"reference; seed 0 is exactly their recipe) gives tau {per} against the GHN's accuracy; two "
            f"independent runs agree with each other only to tau = {c['tau_ref_vs_ref']:.3f}, so no "
            "predictor can be expected to reach much more than that against one run.\n"]


def _selection_lines(sel: dict | None) -> list[str]:
    """The variants compared on the selection cells (another sample seed) before this run."""
    if not sel:
        return []
    L = ["## How the settings were chosen\n", sel["text"] + "\n",
         "| variant | overrides of `ghn_train_digits.yaml` | GHN training s | tau vs ref " + " | tau vs ref ".join(
             sel["refs"]) + " |", "|---|---|---|" + "---|" * len(sel["refs"])]
    for v in sel["variants"]:
        L.append(f"| {v['name']} | {' '.join(v['overrides']) or '(none)'} | {v['train_seconds']:.0f} | "
                 + " | ".join(f"{v['taus'].get(r, float('nan')):.3f}" for r in sel["refs"]) + " |")
    L += ["", *sel.get("notes", []), ""]
    return L


def write(res: dict, out_dir: Path, command: str, total_seconds: float) -> Path:
    s, c, g = res["settings"], res["corr"], res["ghn"]
    d = g["decoder"]
    slug = "ghn_nas"
    scatter(res, out_dir / f"{slug}_scatter.png")
    best = [(f"{m} (seed {row['seed']}): val {row[m]['best_val']:.3f}", row[m]["best_cell"])
            for m in ("evolution",) for row in res["search"]]
    best.append(("best random trained cell (seed %d): val %.3f" % (res["search"][0]["seed"],
                 res["search"][0]["random_trained"]["best_val"]), res["search"][0]["random_trained"]["best_cell"]))
    draw_cells(best, out_dir / f"{slug}_cells.png")
    (out_dir / f"{slug}.json").write_text(json.dumps(res, indent=1))
    n = len(c["val"])
    L = [f"# Graph-hypernetwork NAS on digits (8x8)\n",
         f"Generated by `{command}` in {total_seconds:.0f} s (2-core CPU shared with other jobs, one torch thread). "
         f"Raw numbers: `reports/{slug}.json`. Everything runs through the engine (`build_search` / `run`, "
         "local backend) from the shipped configs.\n",
         "## Setup\n",
         f"* Space: cells of {d['nodes']} nodes (stem 3x3 conv, {d['nodes'] - 2} op nodes from conv3x3, conv5x5, "
         f"dwconv3x3, maxpool3x3, avgpool3x3, identity with 1-{d['max_inputs']} inputs each, head = 2x2 average "
         f"pool + linear), {d['channels']} channels (`evohyper/nas/space.py`, executor `evohyper/nas/executor.py`, "
         "mixed populations `evohyper/nas/phenotypes.py`).",
         f"* GHN (decoder `ghn`, `evohyper/decoders/ghn.py` over `evohyper/nas/ghn.py`): hidden {d['hidden']}, "
         f"{d.get('passes', 1)} round(s) of one forward + one backward gated (GRU) message pass, "
         + (f"virtual edges up to distance {d['virtual_edges']} (weighted 1/distance, own MLP). "
            if d.get("virtual_edges") else "no virtual edges. ") +
         f"Trained by the `gradient` strategy with "
         f"`{g['config']}` (seed {g['seed']}{', overrides ' + str(g['overrides']) if g['overrides'] else ''}): "
         f"{g['steps']} Adam steps (lr {g['strategy'].get('lr')}, grad-norm clip "
         f"{g['strategy'].get('clip_grad_norm')}) x {d['graphs_per_step']} sampled cells x "
         f"{g['strategy'].get('batch_size')} images, in {g['seconds']:.0f} s; training loss per generation "
         f"{g['loss'][0]:.2f} -> {g['loss'][-1]:.2f}; mean validation accuracy of its {d['score_graphs']} fixed "
         f"score cells {g['score_accuracy'][0]:.3f} -> {g['score_accuracy'][-1]:.3f}. The trained GHN is "
         f"`{s['weights_out']}`, which the search configs load (`decoder.weights`).",
         f"* From scratch: He init, Adam lr 1e-2, {s['scratch_steps']} steps of 64 samples, "
         f"{s['seeds_per_cell']} seeds per cell averaged (trained together as one batched group, "
         "`evohyper/nas/training.py`); accuracy on the fixed validation split (359 samples). For the "
         f"correlation set, {s.get('ref_repeats', 1)} such independent runs (training seeds 0..."
         f"{s.get('ref_repeats', 1) - 1}, so {s['seeds_per_cell'] * s.get('ref_repeats', 1)} seeds per cell) are "
         "averaged to lower the reference's noise; the searches' retrainings use one run.\n",
         "## Does the GHN rank cells like training does?\n",
         f"Over **{n} cells** sampled with seed {s['corr_seed']}, against validation accuracy after training "
         "from scratch:\n",
         "| GHN score (predicted weights, full validation set) | Kendall tau | Spearman rho |",
         "|---|---|---|",
         f"| validation accuracy | **{c['tau']:.3f}** (p = {c['tau_p']:.1e}) | {c['rho']:.3f} (p = {c['rho_p']:.1e}) |",
         f"| minus validation cross-entropy | **{c['tau_loss']:.3f}** (p = {c['tau_loss_p']:.1e}) | "
         f"{c['rho_loss']:.3f} (p = {c['rho_loss_p']:.1e}) |",
         "",
         f"Goal was tau >= 0.5: **{'met' if max(c['tau'], c['tau_loss']) >= 0.5 else 'not met'}** "
         f"(best of the two scores: {max(c['tau'], c['tau_loss']):.3f}). Scoring all {n} cells with the GHN "
         f"took {c['pred_seconds']:.2f} s; training them took {c['scratch_seconds']:.0f} s.\n",
         *_noise_lines(c, s),
         *_finetune_lines(c, s),
         f"GHN-predicted accuracy: mean {np.mean(c['pred']):.3f} (range {min(c['pred']):.3f}..{max(c['pred']):.3f}); "
         f"trained: mean {np.mean(c['val']):.3f} (range {min(c['val']):.3f}..{max(c['val']):.3f}).\n",
         f"![scatter]({slug}_scatter.png)\n",
         "## Search with GHN fitness vs. random trained cells\n",
         f"Each search (`{res['search'][0]['evolution']['config']}`, "
         f"`{res['search'][0]['ghn_random']['config']}`; fitness = the task's `{res['search_fitness']}` with "
         f"GHN-predicted weights) scores {s['search_evals']} cells, then trains its top {s['top_k']} distinct "
         f"cells from scratch and keeps the best by validation accuracy. The baseline trains {s['top_k']} randomly "
         "sampled cells (the same number of trainings) and keeps the best. Test accuracy is on the held-out test "
         f"split. Seeds {s['search_seeds']} (the config's `seed`). GHN training ({g['seconds']:.0f} s) is a "
         "one-off cost shared by both GHN searches and not in the rows.\n",
         "| method | seed | GHN evaluations | trainings | seconds (search + training) | best val | its test |",
         "|---|---|---|---|---|---|---|"]
    for m, label in METHODS:
        for row in res["search"]:
            r = row[m]
            L.append(f"| {label} | {row['seed']} | {r['evaluations']} | {r['trainings']} | "
                     f"{r['search_seconds']:.1f} + {r['train_seconds']:.1f} | {r['best_val']:.3f} | {r['best_test']:.3f} |")
    L.append("")
    for m, label in METHODS:
        v = [row[m]["best_val"] for row in res["search"]]
        t = [row[m]["best_test"] for row in res["search"]]
        L.append(f"* {label}: best val {np.mean(v):.3f} ± {np.std(v):.3f}, test {np.mean(t):.3f} ± {np.std(t):.3f} "
                 f"(mean ± std over seeds)")
    L.append(f"* For scale: the best of all {n} trained cells of the correlation set reached val "
             f"{max(c['val']):.3f} ({c['scratch_seconds']:.0f} s of training).\n")
    L += ["## Best cells\n", "Blue: convolutions; orange: pools / identity; grey: stem and head.\n",
          f"![cells]({slug}_cells.png)\n",
          "## Caveats\n",
          "* Tiny cells (8 channels, 8x8 inputs) and brief from-scratch training (a few seconds per cell): "
          "the trained accuracies are a short-budget proxy, with seed noise of the order of a point, which caps "
          "any ranking's tau.",
          "* Settings history (disclosed so the figures are not read as picked): earlier runs with the GHN's own "
          "training loop measured tau = 0.432 (400 steps, 2 seeds per cell) and 0.386 (800 steps, 3 seeds per "
          "cell) on the same 60 cells with the accuracy score. The first run through the engine (2000 steps, "
          "this report's settings) measured tau = 0.484 (accuracy score) and 0.149 (cross-entropy score, added "
          "because predicted accuracies saturate near 0.95); its searches used the cross-entropy as fitness "
          "and found best val 0.952 ± 0.014 (evolution) and 0.960 ± 0.005 (random search) against 0.948 ± "
          "0.009 for random trained cells. Because the cross-entropy ranked so much worse, the search configs "
          "were then switched to accuracy fitness; the final run (this report) also adds the exploratory "
          "fine-tuning table, and reproduced the GHN and every search figure of the run before it exactly (tau 0.484). This run (issue: GHN-2 ideas, "
          "see the next section): hidden 32 -> 64, chosen on other cells, and the correlation set's reference "
          "averaged over two independent from-scratch runs; everything else unchanged. "
          + (f"Against the earlier reference (one run, training seed 0) this GHN gives tau "
             f"{c['tau_runs'][0]:.3f} (the previous GHN: 0.484), against the averaged one {c['tau']:.3f}: "
             "no gain beyond the noise." if c.get("tau_runs") else ""),
          f"* Seeds: GHN training {g['seed']} (config `seed`, also `decoder.init_seed`), correlation cells "
          f"{s['corr_seed']}, searches {s['search_seeds']} (config `seed`), random baseline cells 50000 + seed, "
          "from-scratch training seeds 0..ref_repeats-1 (correlation) or the search seed; fine-tuning data seed 123, He init seed 7.",
          "* The GHN has GHN-2's virtual edges and message-passing rounds as options (`virtual_edges`, "
          "`passes`) and a meta-batch of `graphs_per_step` architectures per step, but not GHN-2's meta-batch "
          "of architecture *sizes* (all cells here have the same node count). The searches score "
          "predicted weights without fine-tuning; fine-tuning appears only in the exploratory table above.",
          "", *_selection_lines(res.get("selection"))]
    path = out_dir / f"{slug}.md"
    path.write_text("\n".join(L))
    return path
