"""The runs behind reports/agent_embeddings.md (issue 24 item 3): Chang et al., "Agent Embeddings: A Latent
Representation for Pole-Balancing Networks" (AAMAS 2019), reproduced in shape with the engine.

Stages, each cached under ``experiments/out/agent_embeddings/`` (ignored by git) and skipped when its file
exists, so an interrupted run resumes at the stage it was in:

1. ``dataset.pt``: evolved 4-8-1 tanh CartPole networks with their survival times (200-step episodes), balanced
   over the paper's four groups (``evohyper.families.embeddings.dataset``; engine searches).
2. ``generator.pt``: the conditional VAE trained on it (``vae.py``), saved as tensors + JSON sidecar: the file the
   ``agent_embedding`` decoder loads (``search_spaces/cartpole_agent_embedding.yaml``).
3. ``table1.json``: survival of the training set per group and of ``SAMPLES`` generated networks per group.
4. ``interpolation.json``: survival along straight lines between a 1-50 agent and a 151-200 agent, in latent
   space and in weight space (``PAIRS`` pairs, ``POINTS`` points each).
5. ``search_<arm>_<seed>.json``: CMA-ES in the latent space (``agent_embedding``) vs CMA-ES on the direct weights,
   CartPole-v1 (500-step episodes), equal evaluations, ``SEEDS``.

``python -m experiments.agent_embeddings`` (or ``python -m experiments.make_reports agent_embeddings``) runs what is
missing and writes the report (``experiments/agent_embeddings_report.py``).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from evohyper.config import validate
from evohyper.engine.runner import build_search
from evohyper.families.embeddings import (
    GROUPS,
    SurvivalScorer,
    load_dataset,
    load_generator,
    make_dataset,
    network_of,
    save_generator,
    train_vae,
)
from experiments.agent_embeddings_spec import (
    ARMS,
    DATASET,
    OUT,
    PAIRS,
    POINTS,
    ROOT,
    SAMPLES,
    SEARCH,
    SEEDS,
    VAE,
)


def log(text: str) -> None:
    print(text, flush=True)


def _json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


# ----------------------------------------------------------------------------- stages
def stage_dataset() -> dict[str, Any]:
    path = OUT / "dataset.pt"
    if path.is_file():
        return load_dataset(path)[1]
    log("[agent_embeddings] stage 1: data set")
    return make_dataset(DATASET, build_search, path, log=log)


def stage_generator(info: dict[str, Any]) -> dict[str, Any]:
    path = OUT / "generator.pt"
    if path.is_file():
        return load_generator(path)[1]
    log("[agent_embeddings] stage 2: conditional VAE")
    data, _ = load_dataset(OUT / "dataset.pt")
    torch.set_num_threads(1)
    start = time.perf_counter()
    vae, history = train_vae(data["weights"], data["group"], log=log, **VAE)
    seconds = time.perf_counter() - start
    target = SurvivalScorer(DATASET).target
    save_generator(vae, path, {"network": network_of(target), "group_ranges": [list(g) for g in GROUPS],
                               "training": {**VAE, "hidden": list(VAE["hidden"]), "seconds": round(seconds, 1),
                                            "networks": int(len(data["weights"])), "history": history,
                                            "reconstruction_error": vae.reconstruction_error(data["weights"],
                                                                                             data["group"])},
                               "dataset": str(OUT / "dataset.pt")})
    return load_generator(path)[1]


def _stats(x: torch.Tensor) -> dict[str, float]:
    x = x.double()
    return {"mean": float(x.mean()), "std": float(x.std()), "n": int(len(x))}


def stage_table1() -> dict[str, Any]:
    path = OUT / "table1.json"
    if path.is_file():
        return json.loads(path.read_text())
    log("[agent_embeddings] stage 3: Table 1 (training set vs generated networks per group)")
    data, _ = load_dataset(OUT / "dataset.pt")
    vae, _ = load_generator(OUT / "generator.pt")
    scorer = SurvivalScorer(DATASET)
    gen = torch.Generator().manual_seed(2019)
    out: dict[str, Any] = {"training": [], "sampled": [], "samples_per_group": SAMPLES, "sampled_survival": []}
    sampled_all = []
    for g in range(len(GROUPS)):   # a loop over the four groups; each is one batched generate + score
        out["training"].append(_stats(data["survival"][data["group"] == g]))
        with torch.no_grad():
            w = vae.generate(torch.randn(SAMPLES, vae.latent, generator=gen), g)
        s = scorer(w)
        sampled_all.append(s)
        out["sampled"].append(_stats(s))
        out["sampled_survival"].append(s.tolist())
        log(f"[table1] group {g + 1}: training {out['training'][-1]['mean']:.1f} +- {out['training'][-1]['std']:.1f}, "
            f"sampled {out['sampled'][-1]['mean']:.1f} +- {out['sampled'][-1]['std']:.1f}")
    out["training_combined"] = _stats(data["survival"])
    out["sampled_combined"] = _stats(torch.cat(sampled_all))
    _json(path, out)
    return out


def stage_interpolation() -> dict[str, Any]:
    path = OUT / "interpolation.json"
    if path.is_file():
        return json.loads(path.read_text())
    log("[agent_embeddings] stage 4: interpolation in latent space vs weight space")
    data, _ = load_dataset(OUT / "dataset.pt")
    vae, _ = load_generator(OUT / "generator.pt")
    scorer = SurvivalScorer(DATASET)
    gen = torch.Generator().manual_seed(7)
    lo, hi = torch.nonzero(data["group"] == 0).flatten(), torch.nonzero(data["group"] == len(GROUPS) - 1).flatten()
    a_idx = lo[torch.randperm(len(lo), generator=gen)[:PAIRS]]
    b_idx = hi[torch.randperm(len(hi), generator=gen)[:PAIRS]]
    wa, wb = data["weights"][a_idx], data["weights"][b_idx]
    alpha = torch.linspace(0, 1, POINTS)
    with torch.no_grad():
        za, _ = vae.encode(wa, 0)
        zb, _ = vae.encode(wb, len(GROUPS) - 1)
        # every pair's line at once: [PAIRS, POINTS, ...] flattened to one batch
        t = alpha.view(1, -1, 1)
        z = (1 - t) * za[:, None] + t * zb[:, None]
        c = torch.zeros(PAIRS, POINTS, len(GROUPS))
        c[..., 0], c[..., -1] = 1 - alpha, alpha              # the condition moves with the code
        w_latent = vae.generate(z.reshape(-1, vae.latent), c.reshape(-1, len(GROUPS)))
        w_weight = ((1 - t) * wa[:, None] + t * wb[:, None]).reshape(-1, wa.shape[1])
    s_latent = scorer(w_latent).reshape(PAIRS, POINTS)
    s_weight = scorer(w_weight).reshape(PAIRS, POINTS)
    out = {"alpha": alpha.tolist(), "latent": s_latent.tolist(), "weight": s_weight.tolist(),
           "agents": {"start": data["survival"][a_idx].tolist(), "end": data["survival"][b_idx].tolist()}}
    for name, s in (("latent", s_latent), ("weight", s_weight)):
        steps = (s[:, 1:] - s[:, :-1]).abs()
        out[f"{name}_mean_abs_step"] = float(steps.mean())
        out[f"{name}_max_abs_step"] = float(steps.max(dim=1).values.mean())
        # total variation over the net change, summed over pairs: 1 when every line is monotone, larger when wiggly
        out[f"{name}_variation_ratio"] = float(steps.sum() / (s[:, -1] - s[:, 0]).abs().sum().clamp_min(1))
        out[f"{name}_monotone_fraction"] = float(((s[:, 1:] - s[:, :-1]) >= 0).double().mean())
    log(f"[interp] mean |step| latent {out['latent_mean_abs_step']:.1f} vs weight {out['weight_mean_abs_step']:.1f}")
    _json(path, out)
    return out


def search_config(arm: str, seed: int) -> dict[str, Any]:
    spec = ARMS[arm]
    decoder = dict(spec["decoder"])
    if decoder["name"] == "agent_embedding":
        decoder["generator"] = str(OUT / "generator.pt")
    return {"name": f"agent-embeddings-{arm}-{seed}", "seed": seed,
            "task": {"name": "cartpole", "episodes": SEARCH["episodes"], "max_steps": SEARCH["max_steps"]},
            "network": {"hidden": list(DATASET.hidden)}, "decoder": decoder,
            "strategy": {"name": "cmaes", "popsize": SEARCH["popsize"], "sigma0": spec["sigma0"]},
            "budget": {"generations": SEARCH["generations"]}, "backend": {"name": "local"},
            "output": {"progress": False, "tensorboard": False}}


def stage_search() -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for arm in ARMS:
        for seed in SEEDS:
            path = OUT / f"search_{arm}_{seed}.json"
            if not path.is_file():
                start = time.perf_counter()
                search = build_search(validate(search_config(arm, seed)), None)
                result = search.run()
                _json(path, {"arm": arm, "seed": seed, "best": result.best_fitness,
                             "evaluations": [r.evaluations for r in search.history],
                             "best_so_far": [r.best_so_far for r in search.history],
                             "seconds": time.perf_counter() - start, "config": search_config(arm, seed)})
                log(f"[search] {arm} seed {seed}: best {result.best_fitness:.1f} "
                    f"({time.perf_counter() - start:.0f} s)")
            runs[f"{arm}_{seed}"] = json.loads(path.read_text())
    return runs


def run_all() -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    dataset = stage_dataset()
    generator = stage_generator(dataset)
    return {"dataset": dataset, "generator": generator, "table1": stage_table1(),
            "interpolation": stage_interpolation(), "search": stage_search()}


def agent_embeddings_report(out_dir: Path, command: str = "python -m experiments.agent_embeddings") -> Path:
    from experiments.agent_embeddings_report import write_report

    return write_report(run_all(), Path(out_dir), command)


if __name__ == "__main__":
    sys.exit(0 if agent_embeddings_report(ROOT / "reports") else 1)
