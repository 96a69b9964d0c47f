"""The gym task against the physical limit: env steps/s of a full evaluation vs raw stepping.

HalfCheetah-v5 (never terminates, so every variant steps exactly P x max_steps times), population
P = 64, one episode each, 1,000 steps, one torch thread:

* raw loop (random): the same 64 environment objects the task caches, reset with the task's episode
  seeds, stepped one by one with precomputed uniform random actions (as the issue asks);
* raw loop (policy's actions): the same, with the very actions a policy's evaluation chose, recorded
  beforehand, so the physics is the same trajectory (MuJoCo's step cost depends on the state:
  contacts, solver iterations); the replayed returns are asserted equal to the evaluation's fitness;
* raw SyncVectorEnv (random): ``gymnasium.vector.SyncVectorEnv`` (autoreset disabled, no copies) on
  64 other copies with the random actions: whether the vector API would step faster (it cannot mask
  finished episodes, which is why the task does not use it);
* evaluate: ``GymTask.evaluate`` with a random linear and a random 64-64 MLP policy (one batched
  forward per step, action clipping, masking, bookkeeping), seed 0 every time.

Repeats alternate the variants so that a load change on this shared machine hits all of them.
Run: ``.venv/bin/python -m benchmarks.bench_gym [--repeats 3] [--steps 1000] [--population 64]``.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from evohyper.decoders.direct import DirectDecoder
from evohyper_tasks.gym import GymTask


def raw_loop(envs, actions, seeds) -> tuple[float, np.ndarray]:
    """Seconds to step ``envs`` through ``actions`` ``[T, n, ...]``, and the returns."""
    for env, s in zip(envs, seeds):
        env.reset(seed=s)
    steps = [env.step for env in envs]
    returns = np.zeros(len(envs))
    start = time.perf_counter()
    for a in actions:
        for i, step in enumerate(steps):
            returns[i] += step(a[i])[1]
    return time.perf_counter() - start, returns


def raw_vector(vec, actions, seeds) -> float:
    vec.reset(seed=list(seeds))
    start = time.perf_counter()
    for a in actions:
        vec.step(a)
    return time.perf_counter() - start


def recorded_actions(task: GymTask, phenotypes) -> tuple[np.ndarray, torch.Tensor]:
    """The actions ``[T, P, ...]`` one evaluation (seed 0) took, and its fitness."""
    taken = []

    def record(outputs: torch.Tensor) -> np.ndarray:
        taken.append(GymTask.actions(task, outputs))
        return taken[-1]

    task.actions = record  # an instance attribute shadows the method for this one call
    try:
        fitness = task.evaluate(phenotypes, seed=0).fitness[:, 0]
    finally:
        del task.actions
    return np.stack(taken), fitness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="HalfCheetah-v5")
    parser.add_argument("--population", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    import gymnasium
    from gymnasium.vector import AutoresetMode, SyncVectorEnv

    P, T = args.population, args.steps
    task = GymTask(env=args.env, max_steps=T)
    policies = {}
    for name, hidden in (("linear", []), ("mlp 64-64", [64, 64])):
        decoder = DirectDecoder(task.target({"hidden": hidden}))
        g = torch.Generator().manual_seed(0)
        policies[name] = decoder.decode(0.1 * torch.randn(P, decoder.genome_size, generator=g))
    start = time.perf_counter()
    envs = task.environments(P)
    created = time.perf_counter() - start
    space = envs[0].action_space
    rng = np.random.default_rng(0)
    actions = rng.uniform(space.low, space.high, size=(T, P, *space.shape)).astype(space.dtype)
    seeds = task.episode_seeds(0) * P
    vec = SyncVectorEnv([lambda: gymnasium.make(args.env, max_episode_steps=-1, disable_env_checker=True)] * P,
                        copy=False, autoreset_mode=AutoresetMode.DISABLED)
    replays = {}
    for name, ph in policies.items():
        replays[name], fitness = recorded_actions(task, ph)
        _, returns = raw_loop(envs, replays[name], seeds)
        np.testing.assert_allclose(returns, fitness.numpy(), rtol=1e-9, err_msg="replay != evaluation")
    times: dict[str, list[float]] = {"raw loop (random)": [], "raw SyncVectorEnv (random)": []}
    for _ in range(args.repeats):
        times["raw loop (random)"].append(raw_loop(envs, actions, seeds)[0])
        times["raw SyncVectorEnv (random)"].append(raw_vector(vec, actions, seeds))
        for name, ph in policies.items():
            times.setdefault(f"raw loop ({name} actions)", []).append(raw_loop(envs, replays[name], seeds)[0])
            start = time.perf_counter()
            result = task.evaluate(ph, seed=0)
            times.setdefault(f"evaluate ({name})", []).append(time.perf_counter() - start)
            assert result.sample_forwards == P * T, "HalfCheetah never terminates: every step is live"
    raw = statistics.median(times["raw loop (random)"])
    print(f"{args.env}: P={P}, E=1, {T} steps, torch threads {torch.get_num_threads()}; "
          f"making {P} envs took {created:.2f} s; ratios vs raw loop (random)")
    for name in policies:
        raw_same = statistics.median(times[f"raw loop ({name} actions)"])
        print(f"evaluate ({name}) vs raw stepping of its own actions: "
              f"{raw_same / statistics.median(times[f'evaluate ({name})']):.1%} (medians)")
    fastest = min(times["raw loop (random)"])
    print(f"{'variant':<34} {'median s':>9} {'steps/s':>9} {'vs raw':>7} {'min s':>7} {'vs raw':>7}   samples (s)")
    for name, samples in times.items():
        med, low = statistics.median(samples), min(samples)
        print(f"{name:<34} {med:9.3f} {P * T / med:9.0f} {raw / med:7.1%} {low:7.3f} {fastest / low:7.1%}   "
              + ", ".join(f"{s:.3f}" for s in samples))


if __name__ == "__main__":
    main()
