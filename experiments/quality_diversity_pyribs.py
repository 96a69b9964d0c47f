"""The reference side of the LunarLander comparison: pyribs' own lunar-lander tutorial loop (CMA-ME), as the
tutorial and its Dask example (``examples/lunar_lander.py``, pyribs 0.12) write it.

* ``simulate``: the tutorial's rollout, gymnasium directly (``gym.make("LunarLander-v3")``, its default time
  limit), the linear argmax policy ``argmax(model @ obs)`` with ``model`` pyribs' ``(4, 8)`` matrix, the
  impact x-position and y-velocity at the first leg contact (or the last x and the lowest y-velocity).
* ``create_scheduler``: a 50 x 50 ``GridArchive`` over [-1, 1] x [-3, 0] with ``qd_score_offset=-600`` (the
  tutorial's), 5 ``EvolutionStrategyEmitter`` (CMA-ES, ``ranker="2imp"``) of batch 30 around the zero model
  with ``sigma0=1.0``, seeded as the example seeds them (archive ``seed``, emitters ``seed + i``).
* ``run``: the tutorial's loop: a Dask ``Client`` on a ``LocalCluster`` of ``workers`` single-threaded worker
  processes, ``client.map(simulate)`` over each batch, ``client.gather``, ``scheduler.tell``. The clock starts
  before the cluster starts, as the tutorial's ``start_time`` does; the loop alone is timed too.

Run as a module it writes one run's JSON (``curve``: per iteration the evaluations, seconds since the loop
started, QD score, coverage, best objective; ``loop_seconds``, ``setup_seconds``) and ``archive.npz`` (the
elites' ``solutions``, ``objectives``, ``measures``): ``python -m experiments.quality_diversity_pyribs --seed 0
--iterations 100 --workers 2 --out DIR``. The driver (``experiments/quality_diversity.py``) calls it in its own
process, as it calls ``evohyper run`` for our side, so both sides pay their imports and start-up alike.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ENV_SEED = 52
QD_SCORE_OFFSET = -600.0
RANGES = ((-1.0, 1.0), (-3.0, 0.0))
DIMS = (50, 50)


def simulate(model: np.ndarray, seed: int | None = None) -> tuple[float, float, float]:
    """pyribs' tutorial rollout: (total reward, impact x-position, impact y-velocity) of one linear policy."""
    import gymnasium as gym

    env = gym.make("LunarLander-v3")
    action_dim = env.action_space.n
    obs_dim = env.observation_space.shape[0]
    model = model.reshape((action_dim, obs_dim))
    total_reward = 0.0
    impact_x_pos = impact_y_vel = None
    all_y_vels = []
    obs, _ = env.reset(seed=seed)
    done = False
    while not done:
        action = np.argmax(model @ obs)
        obs, reward, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
        total_reward += reward
        x_pos, y_vel = obs[0], obs[3]
        all_y_vels.append(y_vel)
        if impact_x_pos is None and (bool(obs[6]) or bool(obs[7])):
            impact_x_pos, impact_y_vel = x_pos, y_vel
    if impact_x_pos is None:
        impact_x_pos, impact_y_vel = x_pos, min(all_y_vels)
    env.close()
    return float(total_reward), float(impact_x_pos), float(impact_y_vel)


def create_scheduler(seed: int | None, n_emitters: int = 5, sigma0: float = 1.0, batch_size: int = 30) -> Any:
    """The tutorial's CMA-ME: archive, emitters, scheduler (seeded as pyribs' Dask example seeds them)."""
    from ribs.archives import GridArchive
    from ribs.emitters import EvolutionStrategyEmitter
    from ribs.schedulers import Scheduler

    initial_model = np.zeros((4, 8))
    archive = GridArchive(solution_dim=initial_model.size, dims=list(DIMS), ranges=list(RANGES), seed=seed,
                          qd_score_offset=QD_SCORE_OFFSET)
    seeds = [None] * n_emitters if seed is None else [seed + i for i in range(n_emitters)]
    emitters = [EvolutionStrategyEmitter(archive, x0=initial_model.flatten(), sigma0=sigma0, ranker="2imp",
                                         batch_size=batch_size, seed=s) for s in seeds]
    return Scheduler(archive, emitters)


def run(seed: int, iterations: int, workers: int, env_seed: int = ENV_SEED, progress: bool = True) -> dict[str, Any]:
    """The tutorial's loop on a Dask ``LocalCluster``; returns the curve, timings and the final archive."""
    from dask.distributed import Client, LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(processes=True, n_workers=workers, threads_per_worker=1, dashboard_address=None)
    client = Client(cluster)
    setup = time.perf_counter() - started
    scheduler = create_scheduler(seed)
    archive = scheduler.archive
    curve: dict[str, list[float]] = {k: [] for k in ("evaluations", "seconds", "qd_score", "coverage", "best")}
    evaluations = 0
    loop_start = time.perf_counter()
    try:
        for itr in range(1, iterations + 1):
            sols = scheduler.ask()
            futures = client.map(lambda model: simulate(model, env_seed), sols)
            results = client.gather(futures)
            objs, meas = [], []
            for obj, impact_x_pos, impact_y_vel in results:
                objs.append(obj)
                meas.append([impact_x_pos, impact_y_vel])
            scheduler.tell(objs, meas)
            evaluations += len(sols)
            now = time.perf_counter() - loop_start
            stats = archive.stats
            curve["evaluations"].append(evaluations)
            curve["seconds"].append(now)
            curve["qd_score"].append(float(stats.qd_score))
            curve["coverage"].append(float(stats.coverage))
            curve["best"].append(float(stats.obj_max) if stats.obj_max is not None else float("nan"))
            if progress and (itr % 10 == 0 or itr == iterations):
                print(f"[pyribs-dask] seed {seed} iteration {itr}/{iterations}: QD score {stats.qd_score:.0f}, "
                      f"coverage {stats.coverage:.3f}, {now:.0f} s", flush=True)
    finally:
        loop_seconds = time.perf_counter() - loop_start
        client.close()
        cluster.close()
    data = archive.data(["solution", "objective", "measures"])
    return {"curve": curve, "loop_seconds": loop_seconds, "setup_seconds": setup, "evaluations": evaluations,
            "archive": {"solutions": np.asarray(data["solution"]), "objectives": np.asarray(data["objective"]),
                        "measures": np.asarray(data["measures"])}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--iterations", type=int, required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", type=Path, required=True, help="directory for run.json and archive.npz")
    args = p.parse_args(argv)
    started = time.perf_counter()
    out = run(args.seed, args.iterations, args.workers)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / "archive.npz", **out.pop("archive"))
    out.update(seed=args.seed, iterations=args.iterations, workers=args.workers,
               process_seconds=time.perf_counter() - started)
    tmp = args.out / "pyribs.json.tmp"
    tmp.write_text(json.dumps(out))
    os.replace(tmp, args.out / "pyribs.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
