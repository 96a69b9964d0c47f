"""Writes reports/agent_embeddings.md and its plots from the cached stages of ``experiments/agent_embeddings.py``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments.agent_embeddings_spec import ARMS, DATASET, PAIRS, POINTS, SAMPLES, SEARCH, SEEDS, VAE  # noqa: E402

#: Chang et al. 2019, Table 1 (mean +- std of survival time, 200-step CartPole episodes)
PAPER_TRAINING = [(21.8, 11.5), (69.7, 14.2), (132.6, 13.1), (184.9, 16.3)]
PAPER_TRAINING_ALL = (106.7, 73.3)
PAPER_SAMPLED = [(11.0, 9.7), (77.3, 46.5), (127.0, 55.3), (116.4, 58.6)]
PAPER_SAMPLED_ALL = (136.7, 42.8)
GROUP_NAMES = ["1-50", "51-100", "101-150", "151-200"]


def _pm(s: dict[str, float]) -> str:
    return f"{s['mean']:.1f} ± {s['std']:.1f}"


def _curves(runs: dict[str, Any], arm: str, grid: np.ndarray) -> np.ndarray:
    """Best-so-far per seed on the evaluation grid ``[seeds, len(grid)]`` (step interpolation)."""
    out = []
    for seed in SEEDS:
        r = runs[f"{arm}_{seed}"]
        ev, best = np.asarray(r["evaluations"]), np.asarray(r["best_so_far"])
        idx = np.searchsorted(ev, grid, side="right") - 1
        out.append(np.where(idx >= 0, best[np.clip(idx, 0, None)], np.nan))
    return np.asarray(out)


def _evals_to(runs: dict[str, Any], arm: str, threshold: float) -> list[int | None]:
    out = []
    for seed in SEEDS:
        r = runs[f"{arm}_{seed}"]
        hit = [e for e, b in zip(r["evaluations"], r["best_so_far"]) if b >= threshold]
        out.append(hit[0] if hit else None)
    return out


def plot_samples(table: dict[str, Any], path: Path) -> None:
    fig, axes = plt.subplots(1, 4, figsize=(13, 3), sharey=True)
    bins = np.linspace(0, 200, 41)
    for g, ax in enumerate(axes):
        ax.hist(table["sampled_survival"][g], bins=bins, color="C0", alpha=0.8)
        ax.set_title(f"conditioned on {GROUP_NAMES[g]}")
        ax.set_xlabel("survival time (mean of 10 episodes)")
    axes[0].set_ylabel(f"generated networks (of {SAMPLES})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_interpolation(interp: dict[str, Any], path: Path) -> None:
    alpha = np.asarray(interp["alpha"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, name, title in ((axes[0], "latent", "latent space (agent embeddings)"),
                            (axes[1], "weight", "weight space (direct weights)")):
        s = np.asarray(interp[name])
        for row in s:
            ax.plot(alpha, row, color="C0" if name == "latent" else "C3", alpha=0.3, lw=1)
        ax.plot(alpha, s.mean(axis=0), color="k", lw=2, label="mean of pairs")
        ax.set_title(f"{title}\nmean |step| {interp[f'{name}_mean_abs_step']:.1f} steps")
        ax.set_xlabel("interpolation coefficient (0: a 1-50 agent, 1: a 151-200 agent)")
        ax.legend(loc="upper left")
    axes[0].set_ylabel("survival time (of 200)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_search(runs: dict[str, Any], offset: int, path: Path) -> None:
    total = SEARCH["popsize"] * SEARCH["generations"]
    grid = np.arange(SEARCH["popsize"], total + 1, SEARCH["popsize"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for i, arm in enumerate(ARMS):
        c = _curves(runs, arm, grid)
        for ax, shift in ((axes[0], 0), (axes[1], offset if arm.startswith("latent") else 0)):
            x = grid + shift
            ax.plot(x, np.nanmedian(c, axis=0), color=f"C{i}", lw=2, label=ARMS[arm]["label"],
                    marker="o" if arm.startswith("latent") else None, ms=3)
            ax.fill_between(x, np.nanmin(c, axis=0), np.nanmax(c, axis=0), color=f"C{i}", alpha=0.15)
    axes[0].set_title("search evaluations only")
    axes[1].set_title("latent arms charged the data set's evaluations")
    axes[1].set_xscale("log")
    for ax in axes:
        ax.set_xlabel("evaluations (networks scored, 5 episodes each in the search)")
        ax.set_ylabel("best mean return so far (of 500)")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(res: dict[str, Any], out_dir: Path, command: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    data, gen, table, interp, runs = (res[k] for k in ("dataset", "generator", "table1", "interpolation", "search"))
    training = gen["training"]
    plot_samples(table, out_dir / "agent_embeddings_samples.png")
    plot_interpolation(interp, out_dir / "agent_embeddings_interpolation.png")
    data_evals = data["search_evaluations"] + data["rescored_networks"]
    data_episodes = data["search_episodes"] + data["rescoring_episodes"]
    plot_search(runs, data_evals, out_dir / "agent_embeddings_search.png")
    n_weights = int(sum(np.prod(v) for v in data["target_shapes"].values()))
    L: list[str] = []
    add = L.append
    add("# Agent embeddings: a conditional VAE over evolved cart-pole networks, as a decoder\n")
    add("Chang, Kwiatkowski, Chen & Lipson, \"Agent Embeddings: A Latent Representation for Pole-Balancing "
        "Networks\" (AAMAS 2019), reproduced in shape with the engine (issue 24 item 3): the engine makes the data set "
        "of networks, trains a VAE conditioned on the survival group, and exposes its generator as the "
        "`agent_embedding` decoder, whose genotype is the latent code.\n")
    add(f"Regenerate: `{command}` (stages cached under `experiments/out/agent_embeddings/`; a stage whose file "
        "exists is skipped, so delete the directory to start over). Code: `evohyper/families/embeddings/` "
        "(`dataset.py`, `vae.py`, `decoder.py`), `experiments/agent_embeddings.py` (runs), "
        "`experiments/agent_embeddings_report.py` (this file).\n")
    add("## Setup\n")
    shapes = ", ".join(f"{k} {tuple(v)}" for k, v in data["target_shapes"].items())
    add(f"- **Networks.** The cart-pole task's MLP 4-{'-'.join(map(str, DATASET.hidden))}-1 (tanh hidden, one output "
        f"whose sign is the push): {shapes}, {n_weights} weights. "
        "The paper's CartPoleNet is its own small policy network trained by reinforcement learning; we did not "
        "reproduce its exact architecture or training (see *Deviations*).")
    add(f"- **Data set.** {len(data['runs'])} engine searches (strategies in turn: "
        f"{', '.join(sorted({r['strategy']['name'] for r in data['runs']}))}; popsize {DATASET.popsize}, "
        f"{DATASET.generations} generations, {DATASET.search_episodes} episodes per evaluation, 200-step episodes, "
        f"direct decoder), every evaluated network kept: a pool of {data['pool_networks']:,} networks "
        f"(group counts {data['pool_group_counts']}). **Survival time** = mean episode length over "
        f"{DATASET.score_episodes} fixed start states (seed {DATASET.score_seed}, the same for every network), "
        f"re-scored in batched calls; group = the paper's bin of that mean. Balanced to {DATASET.per_group:,} per "
        f"group: **{data['networks']:,} networks**, made in **{data['seconds']:.0f} s** on one core. Evaluations "
        f"spent: {data['search_evaluations']:,} by the searches + {data['rescored_networks']:,} re-scorings = "
        f"**{data_evals:,} network evaluations** ({data_episodes:,} episodes).")
    add(f"- **VAE.** Encoder and generator MLPs {list(VAE['hidden'])} (ReLU), latent size {VAE['latent']}, condition "
        f"= one-hot group, weights standardised per weight; loss = summed squared error of the standardised weights + "
        f"{VAE['beta']:g} x KL(q(z|w,c) || N(0, I)); Adam lr {VAE['lr']:g}, batch {VAE['batch']}, "
        f"{VAE['epochs']} epochs, seed {VAE['seed']}. Trained in **{training['seconds']:.0f} s** on one core; final "
        f"epoch: reconstruction {training['history'][-1]['recon']:.2f}, KL {training['history'][-1]['kl']:.2f} "
        f"(first epoch {training['history'][0]['recon']:.2f} / {training['history'][0]['kl']:.2f}); mean "
        f"reconstruction error of the training set from the encoder mean {training['reconstruction_error']:.2f} "
        f"(summed over {n_weights} standardised weights; 1 per weight = no better than the mean network).\n")
    add("## Table 1: survival time of the training set and of generated networks, per group\n")
    add(f"Generated: {SAMPLES} networks per group, z ~ N(0, I) through the generator conditioned on the group, each "
        f"scored like the training set (mean of the same {DATASET.score_episodes} episodes of 200 steps).\n")
    add("| group | training (ours) | training (paper) | generated (ours) | generated (paper) |")
    add("|---|---|---|---|---|")
    for g in range(4):
        add(f"| {GROUP_NAMES[g]} | {_pm(table['training'][g])} | {PAPER_TRAINING[g][0]} ± {PAPER_TRAINING[g][1]} | "
            f"{_pm(table['sampled'][g])} | {PAPER_SAMPLED[g][0]} ± {PAPER_SAMPLED[g][1]} |")
    add(f"| combined | {_pm(table['training_combined'])} | {PAPER_TRAINING_ALL[0]} ± {PAPER_TRAINING_ALL[1]} | "
        f"{_pm(table['sampled_combined'])} | {PAPER_SAMPLED_ALL[0]} ± {PAPER_SAMPLED_ALL[1]} |\n")
    add("![generated networks' survival per condition](agent_embeddings_samples.png)\n")
    add("## Figure 7: interpolating between a 1-50 agent and a 151-200 agent\n")
    add(f"{PAIRS} pairs (a random group-1 agent, a random group-4 agent from the data set), {POINTS} points per line. "
        "Latent: the two agents' encoder means (each under its own group), the code and the one-hot condition "
        "moved together linearly, decoded by the generator. Weight space: the two agents' weights mixed linearly. "
        "Every point is scored on the same 10 episodes.\n")
    add("| measure | latent space | weight space |")
    add("|---|---|---|")
    rows = [("mean absolute change of survival between consecutive points (steps)", "mean_abs_step", ".1f"),
            ("largest single change along a line (steps)", "max_abs_step", ".1f"),
            ("total variation / net change, summed over pairs (1 = every line monotone)", "variation_ratio", ".2f"),
            ("fraction of steps that do not decrease survival", "monotone_fraction", ".2f")]
    for label, key, fmt in rows:
        add(f"| {label} | {interp['latent_' + key]:{fmt}} | {interp['weight_' + key]:{fmt}} |")
    lat, wt = np.asarray(interp["latent"]), np.asarray(interp["weight"])
    add(f"\nEndpoints: the agents themselves score {np.mean(interp['agents']['start']):.1f} and "
        f"{np.mean(interp['agents']['end']):.1f} on average (weight-space line: {wt[:, 0].mean():.1f} -> "
        f"{wt[:, -1].mean():.1f}); their reconstructions through the latent code score {lat[:, 0].mean():.1f} -> "
        f"{lat[:, -1].mean():.1f}.\n")
    add("![latent vs weight interpolation](agent_embeddings_interpolation.png)\n")
    add("## Latent-space search vs direct-weight search (CMA-ES, equal evaluations)\n")
    total = SEARCH["popsize"] * SEARCH["generations"]
    add(f"CartPole-v1 as the engine ships it: **500-step episodes** (the data set's agents were scored on 200 "
        f"steps, so the question is whether the latent space reaches beyond its data), {SEARCH['episodes']} episodes "
        f"per evaluation, fitness = mean return. CMA-ES (`strategy: cmaes`), popsize {SEARCH['popsize']}, "
        f"{SEARCH['generations']} generations = {total} evaluations, seeds {SEEDS}. Latent arms: `agent_embedding` "
        f"decoder ({VAE['latent']} genes), x0 = 0, sigma0 = 1 (the prior); direct arm: `direct` decoder "
        f"({n_weights} genes), x0 = 0, sigma0 = 0.5.\n")
    add("| arm | best after 1 generation (median) | best at the end (median, min-max) | evaluations to a mean "
        "return >= 475 (per seed) | + data set |")
    add("|---|---|---|---|---|")
    for arm in ARMS:
        first = [runs[f"{arm}_{s}"]["best_so_far"][0] for s in SEEDS]
        final = [runs[f"{arm}_{s}"]["best_so_far"][-1] for s in SEEDS]
        hits = _evals_to(runs, arm, 475.0)
        hit_text = ", ".join("-" if h is None else str(h) for h in hits)
        extra = ("+ " + f"{data_evals:,}") if arm.startswith("latent") else "0"
        add(f"| {ARMS[arm]['label']} | {np.median(first):.1f} | {np.median(final):.1f} ({min(final):.1f}-"
            f"{max(final):.1f}) | {hit_text} | {extra} |")
    add(f"\n(- = not reached within {total} evaluations.) With the data set's cost charged, each latent run has spent "
        f"{data_evals:,} network evaluations before its first generation.\n")
    add("![search curves](agent_embeddings_search.png)\n")
    L.extend(findings(res, data_evals))
    path = out_dir / "agent_embeddings.md"
    path.write_text("\n".join(L) + "\n")
    return path


def _shares(res: dict[str, Any], group: int) -> str:
    """Which searches a group's networks came from, as percentages by strategy (from the data set's run ids)."""
    from collections import Counter

    from evohyper.families.embeddings import load_dataset
    from experiments.agent_embeddings_spec import OUT

    data, info = load_dataset(OUT / "dataset.pt")
    names = {r["run"]: r["strategy"]["name"] + (f" sigma0 {r['strategy']['sigma0']}" if "sigma0" in r["strategy"]
                                                else "") for r in info["runs"]}
    runs = data["run"][data["group"] == group].tolist()
    counts = Counter(names[r] for r in runs)
    return ", ".join(f"{k} {100 * v / len(runs):.0f}%" for k, v in counts.most_common())


def findings(res: dict[str, Any], data_evals: int) -> list[str]:
    """What the numbers say. Every figure quoted is read from the results; the wording that depends on a comparison
    (which way it went) is chosen by the comparison."""
    table, interp, runs, gen = res["table1"], res["interpolation"], res["search"], res["generator"]
    tr, sa = [t["mean"] for t in table["training"]], [t["mean"] for t in table["sampled"]]
    lat = np.asarray(interp["latent"])
    monotone = all(b > a for a, b in zip(sa, sa[1:]))
    hits = {arm: [h for h in _evals_to(runs, arm, 475.0)] for arm in ARMS}
    direct = [h for h in hits["direct"] if h is not None]
    latent = [h for h in hits["latent_g4"] if h is not None]
    smoother = interp["latent_mean_abs_step"] < interp["weight_mean_abs_step"]
    L = ["## Findings\n"]
    L.append(f"- **The training set has the paper's shape.** Group means {', '.join(f'{m:.1f}' for m in tr)} against "
             f"the paper's {', '.join(str(p[0]) for p in PAPER_TRAINING)}, with similar spreads; ours is balanced "
             f"(equal groups), so its combined mean sits near the middle as the paper's does.")
    L.append(f"- **Conditioning steers the generator{' monotonically' if monotone else ''}, but it does not make bad "
             f"networks.** Generated survival rises with the condition ({', '.join(f'{m:.1f}' for m in sa)} for groups "
             f"1-4){'' if monotone else ' (not monotonically)'}, yet networks generated for the 1-50 group survive "
             f"{sa[0]:.1f} steps on average, where the paper's survive {PAPER_SAMPLED[0][0]}. Our reading of why: the "
             f"generator emits the conditional *mean* network for a code, and our VAE keeps only part of a network "
             f"(reconstruction error {gen['training']['reconstruction_error']:.1f} of 49 standardised weights, KL "
             f"{gen['training']['history'][-1]['kl']:.1f} nats in all, under 1.5 nats per latent dimension: the code carries "
             f"little). Our 1-50 networks come from every search (by strategy: {_shares(res, 0)}), mostly early, "
             f"unconverged populations whose weights are nearly independent numbers that no 8-number code can hold; "
             f"what makes them fail is their detail, and the smoothed network the generator returns balances better. "
             f"The interpolation's endpoints show it directly: the 1-50 agents score "
             f"{np.mean(interp['agents']['start']):.1f}, their reconstructions {lat[:, 0].mean():.1f}. Whatever the "
             f"paper's bad agents were, its generator could model them. At the top our generated 151-200 networks "
             f"({sa[3]:.1f}) beat the paper's ({PAPER_SAMPLED[3][0]}): our good networks come from converged search "
             f"populations (by strategy: {_shares(res, 3)}), tight clusters the VAE reproduces well. The "
             f"combined figures agree ({table['sampled_combined']['mean']:.1f} vs {PAPER_SAMPLED_ALL[0]}) by "
             f"coincidence, not because the groups do.")
    L.append(f"- **Figure 7 is {'reproduced' if smoother else 'not reproduced'}.** Survival changes "
             f"{'less' if smoother else 'more'} between consecutive points along latent lines than along weight lines "
             f"(mean |step| {interp['latent_mean_abs_step']:.1f} vs {interp['weight_mean_abs_step']:.1f} steps; total "
             f"variation over net change {interp['latent_variation_ratio']:.2f} vs "
             f"{interp['weight_variation_ratio']:.2f})."
             + ("" if smoother else " Weight-space lines between our agents are mostly flat, then rise steeply near "
                "the good agent; latent lines start from the (better) reconstruction of the bad agent and jump "
                "between codes that decode to balancing and to failing networks. A possible reason besides the "
                "generator's limits: most of our searches start at the same point (x0 = 0), so a bad and a good agent "
                "may share a basin in weight space, which would make weight-space lines smoother than between "
                "independently trained agents; we did not test it."))
    L.append(f"- **Latent search is fast only if the data set is free.** Conditioned on the best group, CMA-ES in the "
             f"{VAE['latent']}-number latent space found a 500-step balancer (mean return >= 475 over 5 episodes) in "
             f"a median of {np.median(latent):.0f} evaluations ({len(latent)} of {len(SEEDS)} seeds), mostly in its "
             f"first generation: the generator's prior already puts most of its mass on balancers, and they balance "
             f"500 steps though the data set only knew 200. Direct CMA-ES over the 49 weights needed a median of "
             f"{np.median(direct):.0f} ({len(direct)} of {len(SEEDS)} seeds). Charged the {data_evals:,} evaluations "
             f"that made the data set, the latent search costs about {data_evals / max(np.median(direct), 1):.0f}x the "
             f"direct search; the generator pays for itself only when reused across that many searches. Single-pole "
             f"cart-pole is too easy to say more (the direct search solves it in a few hundred evaluations).")
    L.append("\n## Deviations from the paper\n")
    L.append("- We could read the paper's abstract and Table 1 / Figure 7 numbers as the issue quotes them, not its "
             "method section: CartPoleNet's exact architecture, how its networks were trained and the VAE's sizes are "
             "not reproduced. Ours: the engine's 4-8-1 tanh cart-pole MLP (one output, its sign the push), networks "
             "from evolution (CMA-ES, SNES, GA, random search through the engine), a VAE of our own sizes.")
    L.append(f"- Survival time is the mean over {DATASET.score_episodes} fixed start states, not one episode; "
             f"{DATASET.per_group:,} networks per group ({4 * DATASET.per_group:,} in all) rather than 74,000.")
    L.append("- Latent interpolation moves the one-hot condition with the code (the two agents are encoded under "
             "their own groups); the paper's exact construction is not known to us.")
    L.append("- 'Combined' is the pooled mean and std of all networks of the four groups; what the paper's combined "
             "generated figure pools is not known to us (its mean, 136.7, is above every group's mean).")
    return L
