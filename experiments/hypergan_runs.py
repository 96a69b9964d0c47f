"""The runs behind reports/hypergan_digits.md. One seed = a HyperGAN (beta > 0) and its beta = 0 ablation,
both trained by running ``search_spaces/digits_hypergan_train.yaml`` through the engine (gradient
strategy; the generator comes back from the run's ``best/decoder_weights.pt``), a deep ensemble of
independently trained nets, an evolved population (SNES, direct encoding, through the engine), CMA-ES
over the trained generator's noise s for the best single network (``digits_hypergan_cmaes.yaml``) and
for the best *set* of k networks (``digits_hypergan_cmaes_sets.yaml``), and a latent interpolation.
Every source is scored by the same Ensemble API and metrics."""
from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from evohyper.config import load_config, validate
from evohyper.decoders.direct import DirectDecoder
from evohyper.engine.runner import build_search, run
from evohyper.families.hypergan import Ensemble, GeneratorSource, PoolSource, interpolate, train_independent
from evohyper.families.hypergan import metrics as M
from evohyper.families.hypergan.decoder import HyperGANDecoder
from evohyper_tasks.digits import DigitsTask

SPACES = Path(__file__).resolve().parents[1] / "search_spaces"
CONFIGS = {"train": SPACES / "digits_hypergan_train.yaml", "cmaes": SPACES / "digits_hypergan_cmaes.yaml",
           "sets": SPACES / "digits_hypergan_cmaes_sets.yaml"}
SIZES = (1, 5, 10, 100)
DRAWS = 5  # ensembles of each size < 100 are drawn 5 times (seeds 0..4) and their accuracy averaged
HIDDEN = 32
GEN_OPTS = {"noise": 16, "code": 16, "hidden": 64}
# Engine overrides on top of the YAML files (the values the files hold, so the report states them).
SETTINGS = {"train_generations": 15, "train_steps_per_generation": 100, "beta": 1.0,
            "independent_epochs": 30, "snes_popsize": 100, "snes_generations": 300,
            "cmaes_popsize": 16, "cmaes_generations": 30, "set_sizes": (5, 10), "sets_popsize": 24,
            "sets_generations": 100, "random_sets": 20, "interp_points": 41}


def _engine(config: Any) -> Any:
    search = build_search(config if not isinstance(config, dict) else validate(config), None)
    result = search.run()
    return search, result


def train_generator(seed: int, beta: float, target: Any, work: Path) -> tuple[HyperGANDecoder, dict[str, Any]]:
    """Run digits_hypergan_train.yaml through the engine (gradient strategy, local backend, a real run
    directory) and load the generator it exports as ``best/decoder_weights.pt``."""
    config = load_config(CONFIGS["train"], [
        f"seed={seed}", f"name=hypergan-report-train-{seed}-beta{beta:g}", f"decoder.init_seed={seed}",
        f"decoder.beta={beta}", f"budget.generations={SETTINGS['train_generations']}",
        f"strategy.steps_per_generation={SETTINGS['train_steps_per_generation']}", f"output.runs_dir={work}",
        "backend.name=local", "output.progress=false", "output.tensorboard=false"])
    result, run_dir = run(config)
    weights = run_dir / "best" / "decoder_weights.pt"
    with open(run_dir / "metrics.csv") as f:  # the generation the best export kept (first best, as the engine)
        rows = list(csv.DictReader(f))
    best_generation = int(max(rows, key=lambda r: float(r["best"]))["generation"])
    options = {k: v for k, v in config.decoder.items() if k not in ("name", "weights")}
    dec = HyperGANDecoder(target, **options, weights=str(weights))
    return dec, {"weights": weights, "best_val_fitness": result.best_fitness, "generations": result.generations,
                 "best_generation": best_generation, "options": options, "steps": SETTINGS["train_generations"]
                 * SETTINGS["train_steps_per_generation"]}


def _nll(probs: torch.Tensor, y: torch.Tensor) -> float:
    return float(-probs.gather(1, y.view(-1, 1)).clamp_min(1e-12).log().mean())


def set_metrics(members: Any, data: dict[str, Any], val: tuple[torch.Tensor, torch.Tensor],
                s: torch.Tensor) -> dict[str, Any]:
    """A set of networks (from noise ``s [k, noise]``) as one ensemble: test accuracy and NLL, validation
    NLL, and diversity (per-layer norm std, relative spread, disagreement on the test set)."""
    x, y = data["test"]
    ens = Ensemble(members)
    member = ens.member_probs(x)
    probs = member.mean(0)
    div = M.weight_diversity(members)
    return {
        "noise_norm": float(s.norm(dim=1).mean()),
        "test_accuracy": M.accuracy(probs, y),
        "test_nll": _nll(probs, y),
        "val_nll": _nll(ens.predict_proba(val[0]), val[1]),
        "member_test_accuracy": float((member.argmax(-1) == y).float().mean()),
        "w0_norm_std": div["w0"]["norm_std"],
        "w1_norm_std": div["w1"]["norm_std"],
        "relative_spread": M.relative_spread(members) if len(members) > 1 else 0.0,
        "disagreement": M.disagreement(member),
    }


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}


@torch.no_grad()
def _baselines(
    dec: HyperGANDecoder,
    k: int,
    seed: int,
    prior: Any,
    prior_s: torch.Tensor,
    val_prior: Any,
    data: dict[str, Any],
    val: tuple[torch.Tensor, torch.Tensor],
) -> dict[str, dict[str, float]]:
    """Random prior sets (k draws of s ~ N(0, I), averaged over ``random_sets`` draws) and the k prior
    draws (of 100) with the best validation fitness, as one ensemble."""
    draws = [dec.sample_noise(k, seed=seed * 1000 + 100 + r) for r in range(SETTINGS["random_sets"])]
    rand = _mean([set_metrics(dec.decode_members(s), data, val, s) for s in draws])
    top = torch.as_tensor(val_prior).topk(k).indices
    return {
        f"random prior sets, k = {k}": rand,
        f"top-{k} of 100 prior draws (by validation)": set_metrics(prior.select(top), data, val, prior_s[top]),
    }


def search_sets(
    seed: int,
    k: int,
    weights: str,
    dec: HyperGANDecoder,
    prior: Any,
    prior_s: torch.Tensor,
    val_prior: Any,
    data: dict[str, Any],
    val: tuple[torch.Tensor, torch.Tensor],
) -> dict[str, dict[str, float]]:
    """CMA-ES for the best set of k networks (digits_hypergan_cmaes_sets.yaml: genotype = k noise
    vectors, fitness = the set's ensemble validation -cross-entropy), with the baselines of size k."""
    search, result = _engine(
        load_config(
            CONFIGS["sets"],
            [
                f"seed={seed}",
                f"name=hypergan-report-sets-{seed}-{k}",
                f"decoder.weights={weights}",
                f"decoder.set_size={k}",
                f"strategy.popsize={SETTINGS['sets_popsize']}",
                f"budget.generations={SETTINGS['sets_generations']}",
                "backend.name=local",
            ],
        )
    )
    with torch.no_grad():
        s = torch.as_tensor(result.best_genotype).reshape(k, -1)
        best = set_metrics(dec.decode_members(s), data, val, s)
    best["val_fitness"] = result.best_fitness
    return {f"CMA-ES best set, k = {k}": best, **_baselines(dec, k, seed, prior, prior_s, val_prior, data, val)}


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
    return {
        "accuracy": acc,
        "member_accuracy": float((member.argmax(-1) == y).float().mean()),
        "diversity": M.weight_diversity(ens.members),
        "relative_spread": M.relative_spread(ens.members),
        "disagreement": M.disagreement(member),
        "ece": M.expected_calibration_error(probs, y),
        "ece_single": M.expected_calibration_error(member[0], y),
        "entropy": {k: M.mean_entropy(ens.predict_proba(v)) for k, v in data["inputs"].items()},
        "entropy_single": {
            k: M.mean_entropy(Ensemble(ens.members.select([0])).predict_proba(v)) for k, v in data["inputs"].items()
        },
    }


def run_seed(seed: int, work: Path) -> dict[str, Any]:
    torch.manual_seed(seed)
    task = DigitsTask()
    task.setup("cpu")
    target = task.target({"hidden": [HIDDEN]})
    x_test, y_test = task.split("test", torch.device("cpu"))
    data = {
        "test": (x_test, y_test),
        "inputs": {
            "test digits": x_test,
            "permuted pixels": M.permuted_pixels(x_test, seed=seed),
            "uniform noise": M.uniform_noise(len(y_test), x_test.shape[1], seed=seed),
        },
    }
    out: dict[str, Any] = {"seed": seed, "seconds": {}, "sources": {}}

    gens, out["training"] = {}, {}
    for label, beta in (("HyperGAN", SETTINGS["beta"]), ("HyperGAN, beta = 0", 0.0)):
        t = time.perf_counter()
        gens[label], out["training"][label] = train_generator(seed, beta, target, work)
        out["seconds"][label] = time.perf_counter() - t
        out["sources"][label] = score(GeneratorSource(gens[label]), data, None)

    t = time.perf_counter()
    indep = train_independent(task, target, n=100, epochs=SETTINGS["independent_epochs"], seed=seed)
    out["seconds"]["deep ensemble"] = time.perf_counter() - t
    out["sources"]["deep ensemble (independent nets)"] = score(indep, data, 100)

    t = time.perf_counter()
    raw = {
        "name": f"hypergan-report-snes-{seed}",
        "seed": seed,
        "task": {"name": "digits"},
        "network": {"hidden": [HIDDEN]},
        "decoder": {"name": "direct"},
        "strategy": {"name": "snes", "popsize": SETTINGS["snes_popsize"], "stdev_init": 0.1},
        "budget": {"generations": SETTINGS["snes_generations"]},
        "backend": {"name": "local"},
    }
    search, _ = _engine(raw)
    out["seconds"]["evolved population"] = time.perf_counter() - t
    evolved = PoolSource.from_search(search, DirectDecoder(target))
    out["sources"]["evolved population (SNES, direct)"] = score(evolved, data, len(evolved))

    # CMA-ES over the trained generator's noise s, through the engine (decoder loaded from its weights file)
    dec, weights = gens["HyperGAN"], out["training"]["HyperGAN"]["weights"]
    t = time.perf_counter()
    search, result = _engine(
        load_config(
            CONFIGS["cmaes"],
            [
                f"seed={seed}",
                f"name=hypergan-report-cmaes-{seed}",
                f"decoder.weights={weights}",
                f"strategy.popsize={SETTINGS['cmaes_popsize']}",
                f"budget.generations={SETTINGS['cmaes_generations']}",
            ],
        )
    )
    out["seconds"]["CMA-ES over s"] = time.perf_counter() - t
    x_val, y_val = task.split("val", torch.device("cpu"))
    with torch.no_grad():
        best = dec.decode(torch.as_tensor(result.best_genotype).reshape(1, -1))
        prior_s = dec.sample_noise(100, seed=seed + 1000)
        prior = dec.decode_members(prior_s)
        val_prior = task.evaluate(prior, 0).fitness
        out["cmaes"] = {
            "best_val_fitness": result.best_fitness,
            "best_test_accuracy": float(task.test_metrics(best)["test_accuracy"][0]),
            "prior_val_fitness_mean": float(torch.as_tensor(val_prior).mean()),
            "prior_val_fitness_max": float(torch.as_tensor(val_prior).max()),
            "prior_test_accuracy_mean": float(task.test_metrics(prior)["test_accuracy"].mean()),
        }
        cma_pool = PoolSource.from_search(search, dec)
        best_s = torch.as_tensor(result.best_genotype).reshape(1, -1)
        out["sets"] = {"single best network (CMA-ES, k = 1)": set_metrics(best, data, (x_val, y_val), best_s)}
    out["sources"]["CMA-ES population over s"] = score(cma_pool, data, len(cma_pool))
    for k in SETTINGS["set_sizes"]:
        t = time.perf_counter()
        out["sets"].update(search_sets(seed, k, str(weights), dec, prior, prior_s, val_prior, data, (x_val, y_val)))
        out["seconds"][f"CMA-ES sets + baselines, k = {k}"] = time.perf_counter() - t

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
