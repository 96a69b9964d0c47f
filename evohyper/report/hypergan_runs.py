"""The runs behind reports/hypergan_digits.md: one seed = a HyperGAN (beta > 0) and its beta = 0 ablation,
a deep ensemble of independently trained nets, an evolved population (SNES, direct encoding, through the
engine), CMA-ES over the trained generator's noise s (through the engine), and a latent interpolation.
Every source is scored by the same Ensemble API and metrics."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from evohyper.config import validate
from evohyper.decoders.direct import DirectDecoder
from evohyper.decoders.hypergan import HyperGANDecoder
from evohyper.engine.runner import build_search
from evohyper.ensembles import (Ensemble, GeneratorSource, HyperGANTraining, PoolSource, interpolate,
                                train_hypergan, train_independent)
from evohyper.ensembles import metrics as M
from evohyper_tasks.digits import DigitsTask

SIZES = (1, 5, 10, 100)
DRAWS = 5  # ensembles of each size < 100 are drawn 5 times (seeds 0..4) and their accuracy averaged
HIDDEN = 32
GEN_OPTS = {"noise": 16, "code": 16, "hidden": 64}
SETTINGS = {"hypergan_steps": 1500, "hypergan_samples": 16, "beta": 1.0, "lr": 1e-3,
            "independent_epochs": 30, "snes_popsize": 100, "snes_generations": 300,
            "cmaes_popsize": 16, "cmaes_generations": 30, "interp_points": 41}


def _engine(raw: dict[str, Any]) -> Any:
    search = build_search(validate(raw), None)
    result = search.run()
    return search, result


def score(source: Any, data: dict[str, tuple[torch.Tensor, torch.Tensor]], pool_size: int | None) -> dict[str, Any]:
    """Accuracy by size, and for the 100-member (or whole-pool) ensemble: diversity, entropy, ECE."""
    x, y = data["test"]
    acc = {}
    for n in SIZES:
        if pool_size is not None and n > pool_size:
            continue
        draws = 1 if n == pool_size else DRAWS
        acc[n] = sum(M.accuracy(Ensemble.from_source(source, n, d).predict_proba(x), y) for d in range(draws)) / draws
    n_big = min(100, pool_size or 100)
    ens = Ensemble.from_source(source, n_big, 0)
    member = ens.member_probs(x)
    probs = member.mean(0)
    return {"accuracy": acc, "member_accuracy": float((member.argmax(-1) == y).float().mean()),
            "diversity": M.weight_diversity(ens.members), "relative_spread": M.relative_spread(ens.members),
            "disagreement": M.disagreement(member), "ece": M.expected_calibration_error(probs, y),
            "ece_single": M.expected_calibration_error(member[0], y),
            "entropy": {k: M.mean_entropy(ens.predict_proba(v)) for k, v in data["inputs"].items()},
            "entropy_single": {k: M.mean_entropy(Ensemble(ens.members.select([0])).predict_proba(v))
                               for k, v in data["inputs"].items()}}


def run_seed(seed: int, work: Path) -> dict[str, Any]:
    torch.manual_seed(seed)
    task = DigitsTask()
    task.setup("cpu")
    target = task.target({"hidden": [HIDDEN]})
    x_test, y_test = task._split("test", torch.device("cpu"))
    data = {"test": (x_test, y_test),
            "inputs": {"test digits": x_test, "permuted pixels": M.permuted_pixels(x_test, seed=seed),
                       "uniform noise": M.uniform_noise(len(y_test), x_test.shape[1], seed=seed)}}
    out: dict[str, Any] = {"seed": seed, "seconds": {}, "sources": {}}

    gens = {}
    for label, beta in (("HyperGAN", SETTINGS["beta"]), ("HyperGAN, beta = 0", 0.0)):
        t = time.perf_counter()
        dec = HyperGANDecoder(target, init_seed=seed, beta=beta, samples=SETTINGS["hypergan_samples"], **GEN_OPTS)
        train_hypergan(dec, task, HyperGANTraining(steps=SETTINGS["hypergan_steps"], seed=seed, lr=SETTINGS["lr"]))
        out["seconds"][label] = time.perf_counter() - t
        gens[label] = dec
        out["sources"][label] = score(GeneratorSource(dec), data, None)

    t = time.perf_counter()
    indep = train_independent(task, target, n=100, epochs=SETTINGS["independent_epochs"], seed=seed)
    out["seconds"]["deep ensemble"] = time.perf_counter() - t
    out["sources"]["deep ensemble (independent nets)"] = score(indep, data, 100)

    t = time.perf_counter()
    raw = {"name": f"hypergan-report-snes-{seed}", "seed": seed, "task": {"name": "digits"},
           "network": {"hidden": [HIDDEN]}, "decoder": {"name": "direct"},
           "strategy": {"name": "snes", "popsize": SETTINGS["snes_popsize"], "stdev_init": 0.1},
           "budget": {"generations": SETTINGS["snes_generations"]}, "backend": {"name": "local"}}
    search, _ = _engine(raw)
    out["seconds"]["evolved population"] = time.perf_counter() - t
    evolved = PoolSource.from_search(search, DirectDecoder(target))
    out["sources"]["evolved population (SNES, direct)"] = score(evolved, data, len(evolved))

    # CMA-ES over the trained generator's noise s, through the engine (decoder loaded from its weights file)
    dec = gens["HyperGAN"]
    path = dec.save_weights(work / f"hypergan_{seed}.pt")
    t = time.perf_counter()
    raw = {"name": f"hypergan-report-cmaes-{seed}", "seed": seed, "task": {"name": "digits"},
           "network": {"hidden": [HIDDEN]}, "decoder": {"name": "hypergan", "weights": str(path), **GEN_OPTS},
           "strategy": {"name": "cmaes", "popsize": SETTINGS["cmaes_popsize"], "sigma0": 1.0},
           "budget": {"generations": SETTINGS["cmaes_generations"]}, "backend": {"name": "local"}}
    search, result = _engine(raw)
    out["seconds"]["CMA-ES over s"] = time.perf_counter() - t
    with torch.no_grad():
        best = dec.decode(torch.as_tensor(result.best_genotype).reshape(1, -1))
        prior = dec.sample(100, seed=seed + 1000)
        val_prior = task.evaluate(prior, 0).fitness
        out["cmaes"] = {"best_val_fitness": result.best_fitness,
                        "best_test_accuracy": float(task.test_metrics(best)["test_accuracy"][0]),
                        "prior_val_fitness_mean": float(torch.as_tensor(val_prior).mean()),
                        "prior_val_fitness_max": float(torch.as_tensor(val_prior).max()),
                        "prior_test_accuracy_mean": float(task.test_metrics(prior)["test_accuracy"].mean())}
        cma_pool = PoolSource.from_search(search, dec)
    out["sources"]["CMA-ES population over s"] = score(cma_pool, data, len(cma_pool))

    s0, s1 = dec.sample_noise(2, seed=seed + 2000)
    path_ = interpolate(dec, task, s0, s1, points=SETTINGS["interp_points"], seed=0)
    out["interpolation"] = {k: [float(v) for v in path_[k]] for k in ("alpha", "fitness", "test_accuracy")}
    return out


def run_all(seeds: list[int]) -> list[dict[str, Any]]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return [run_seed(s, Path(tmp)) for s in seeds]
    finally:
        torch.set_num_threads(before)
