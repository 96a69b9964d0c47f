"""Control on HalfCheetah-v5: the gym task against the physical limit, and against EvoTorch's GymNE.

1. Physical limit (1 and 2 Ray actors). Population P = 64, one 1,000-step episode each (HalfCheetah
   never terminates, so every variant steps exactly P x 1,000 times), observation normalisation on
   (a fixed merged state, sent with every call as in a run). *evaluate*: ``RayBackend.evaluate`` of 64
   genotypes, timed at the driver (genotypes out, decode, the batched episode loop, results back).
   *raw*: the same number of Ray actors, each stepping its chunk's environments (the task's own cached
   environment objects, reset with the same seeds) through the very actions that chunk's policies
   took (recorded beforehand), timed inside the actors: pure MuJoCo stepping of the same trajectories
   (the replayed returns are asserted equal to the evaluation's fitness). Target: evaluate >= 85% of
   raw env steps/s. Linear and 64-64 MLP policies.
2. Peer. evohyper ``pgpe`` (``RayBackend``) vs EvoTorch ``GymNE`` + ``PGPE`` with the same linear policy,
   population 64, 1,000-step episodes, observation normalisation on both sides, the same PGPE
   settings (EvoTorch's own PGPE class on both sides: ClipUp, centre learning rate, max speed,
   radius, stdev learning rate, centered ranking, symmetric sampling) and the same number of actors.
   Env steps/s from the generations of a fixed-wall-clock run per side and actor count (target
   evohyper >= 1.5x), and the mean population return reached at equal wall-clock (2 actors).

Same computation: the two sides' policies give the same actions for the same observations and
parameters (checked on 1,000 observations, to float32 rounding: EvoTorch's ``nn.Linear`` on a vector
and our batched GEMM may round the last bit differently), and the same returns on a short horizon
with deterministic starts (``reset_noise_scale: 0``). Over 1,000 steps those last-bit differences
grow chaotically (MuJoCo contacts), so individual long returns cannot be compared; and GymNE resets
its environments unseeded and updates its normalisation statistics at every step (float32), where we
freeze them per generation (float64, merged over actors), so learning curves compare statistically.

Run: ``python -m benchmarks.run_all --only control`` (or ``python -m benchmarks.bench_control``).
"""
from __future__ import annotations

import logging
import statistics
import time
from typing import Any

import numpy as np
import torch

from benchmarks.report import add_summary
from benchmarks.timing import fmt_ratio, met, progress, table

ENV = "HalfCheetah-v5"
P, T = 64, 1000
REPEATS = 3
LIMIT_TARGET, PEER_TARGET = 0.85, 1.5
PGPE = {"popsize": P, "center_learning_rate": 0.0375, "max_speed": 0.05, "radius_init": 0.75,
        "stdev_learning_rate": 0.1}
PEER_SECONDS = 150.0   # wall-clock per side for the learning comparison (2 actors)
STEPS_GENERATIONS = 2  # timed generations per side at 1 actor
ACTION_TOL, RETURN_TOL = 1e-5, 1e-5  # same computation: float32 rounding of two GEMM kernels, 5 steps


# ----------------------------------------------------------------------------- helpers
def _task(max_steps: int | None = None, normalization: bool = True, **kwargs: Any):
    from evohyper_tasks.gym import GymTask

    return GymTask(env=ENV, max_steps=max_steps or T, observation_normalization=normalization, **kwargs)


def _spec(hidden: list[int]):
    from evohyper.config import ComponentsSpec

    return ComponentsSpec(task={"name": "gym", "env": ENV, "max_steps": T, "observation_normalization": True},
                          decoder={"name": "direct"}, network={"hidden": hidden})


def _raw_stepper_class() -> Any:
    """A Ray actor stepping environments through given actions (the raw side of the limit); defined in
    a function so that Ray ships it by value (the workers need not import ``benchmarks``). ``num_cpus=0``:
    it runs while the backend's actors (1 CPU each) wait, never at the same time."""
    import ray

    class RawStepper:
        def __init__(self, n: int):
            from evohyper_tasks.gym import GymTask

            torch.set_num_threads(1)
            self.task = GymTask(env=ENV, max_steps=T)
            self.envs = self.task.environments(n)

        def run(self, actions: np.ndarray, seed: int) -> tuple[float, list[float]]:
            seeds = self.task.episode_seeds(seed)
            for env in self.envs:
                env.reset(seed=seeds[0])
            steps = [env.step for env in self.envs]
            returns = np.zeros(len(self.envs))
            start = time.perf_counter()
            for a in actions:
                for i, step in enumerate(steps):
                    returns[i] += step(a[i])[1]
            return time.perf_counter() - start, returns.tolist()

    return ray.remote(num_cpus=0)(RawStepper)


def _recorded(hidden: list[int], genotypes: torch.Tensor, state: dict, seed: int) -> tuple[np.ndarray, torch.Tensor]:
    """The actions ``[T, P, act]`` an in-process evaluation took (normalised with ``state``), and its fitness."""
    from evohyper.decoders.direct import DirectDecoder
    from evohyper_tasks.gym import GymTask

    task = _task()
    task.load_evaluation_state(state)
    taken = []
    task.actions = lambda out: taken.append(GymTask.actions(task, out)) or taken[-1]
    fitness = task.evaluate(DirectDecoder(task.target({"hidden": hidden})).decode(genotypes), seed).fitness[:, 0]
    return np.stack(taken), fitness


def _limit(actors: int, hidden: list[int]) -> dict[str, Any]:
    import ray

    from evohyper.api.evaluation_state import merge_evaluation_state
    from evohyper.config.build import build
    from evohyper.engine.backends.ray import RayBackend
    from evohyper.engine.backends.ray.wire import split_bounds

    spec = _spec(hidden)
    genome = build(spec).decoder.genome_size
    genotypes = 0.1 * torch.randn(P, genome, generator=torch.Generator().manual_seed(0))
    with RayBackend(spec, num_actors=actors, num_cpus_per_actor=1, timeout_s=600) as backend:
        state = merge_evaluation_state(None, backend.evaluate(genotypes, 1).state)  # a realistic state
        actions, fitness = _recorded(hidden, genotypes, state, seed=0)
        bounds = split_bounds(P, actors)
        steppers = [_raw_stepper_class().remote(b - a) for a, b in bounds]
        refs = [ray.put(actions[:, a:b]) for a, b in bounds]
        replayed = [r for _, r in ray.get([s.run.remote(ref, 0) for s, ref in zip(steppers, refs)])]
        np.testing.assert_allclose(np.concatenate(replayed), fitness.numpy(), rtol=1e-9,
                                   err_msg="raw replay of the recorded actions != the evaluation's fitness")
        raw, ours = [], []
        for _ in range(REPEATS):   # alternate, so that a load change hits both
            walls = ray.get([s.run.remote(ref, 0) for s, ref in zip(steppers, refs)])
            raw.append(max(w for w, _ in walls))           # the actors step in parallel
            start = time.perf_counter()
            result = backend.evaluate(genotypes, 0, state)
            ours.append(time.perf_counter() - start)
            assert torch.equal(result.fitness, fitness.double()), "evaluate differs from the recorded evaluation"
            assert result.env_steps == P * T
        for s in steppers:
            ray.kill(s)
    raw_m, ours_m = statistics.median(raw), statistics.median(ours)
    progress(f"  limit {actors} actor(s), hidden {hidden}: raw {P * T / raw_m:.0f} steps/s, evaluate "
             f"{P * T / ours_m:.0f} steps/s ({raw_m / ours_m:.1%})")
    return {"actors": actors, "hidden": hidden, "raw": raw, "ours": ours, "ratio": raw_m / ours_m}


# ----------------------------------------------------------------------------- the peer
def _gymne(actors: int | None, normalization: bool = True, episode_length: int | None = None, **kwargs: Any):
    from evotorch.neuroevolution import GymNE

    return GymNE(env=ENV, network="Linear(obs_length, act_length)", observation_normalization=normalization,
                 num_actors=actors, episode_length=episode_length or T, **kwargs)


def _same_computation() -> dict[str, float]:
    """Actions for the same observations and parameters, and short-horizon returns, of both sides."""
    from evohyper.decoders.direct import DirectDecoder

    horizon, n = 5, 8
    problem = _gymne(None, normalization=False, episode_length=horizon, env_config={"reset_noise_scale": 0.0})
    task = _task(max_steps=horizon, normalization=False, env_kwargs={"reset_noise_scale": 0.0})
    obs_dim, act_dim = task.obs_dim, task.act_dim
    x = 0.3 * torch.randn(n, problem.solution_length, generator=torch.Generator().manual_seed(3))
    w = x[:, :act_dim * obs_dim].reshape(n, act_dim, obs_dim)     # nn.Linear: weight [out, in], then bias
    ours = torch.cat([w.transpose(1, 2).reshape(n, -1), x[:, act_dim * obs_dim:]], dim=1)
    phenotypes = DirectDecoder(task.target({"hidden": []})).decode(ours)
    obs = np.random.default_rng(0).normal(size=(1000, obs_dim))
    act_diff = 0.0
    for i in range(n):
        theirs = problem.to_policy(x[i], clip_actions=False)(torch.as_tensor(obs, dtype=torch.float32)).detach()
        mine = phenotypes.select([i]).forward(torch.as_tensor(obs, dtype=torch.float32))[0]
        act_diff = max(act_diff, float((theirs - mine).abs().max()))
    batch = problem.generate_batch(n)
    batch.set_values(x)
    problem.evaluate(batch)
    theirs = batch.evals[:, 0].double()
    mine = task.evaluate(phenotypes, seed=0).fitness[:, 0]
    ret_diff = float(((theirs - mine).abs() / mine.abs().clamp_min(1.0)).max())
    assert act_diff <= ACTION_TOL, f"GymNE and evohyper policies act differently: {act_diff:.2e} > {ACTION_TOL:g}"
    assert ret_diff <= RETURN_TOL, f"GymNE and evohyper returns differ: {ret_diff:.2e} > {RETURN_TOL:g} (relative)"
    return {"action": act_diff, "return": ret_diff, "horizon": horizon}


def _evohyper_run(actors: int, seconds: float | None, generations: int | None) -> dict[str, Any]:
    from evohyper.config import validate
    from evohyper.engine.runner import build_search

    budget = {"seconds": seconds} if seconds else {"generations": generations}
    # EvoTorch evaluates in its main process when asked for 1 actor; so do we (the local backend)
    backend = {"name": "local"} if actors == 1 else \
        {"name": "ray", "num_actors": actors, "num_cpus_per_actor": 1, "timeout_s": 600}
    config = validate({"name": "bench-control", "seed": 0,
                       "task": {"name": "gym", "env": ENV, "max_steps": T, "observation_normalization": True},
                       "network": {"hidden": []}, "strategy": {"name": "pgpe", **PGPE}, "budget": budget,
                       "backend": backend})
    search = build_search(config, None)
    curve, start = [], None

    class Clock:
        def on_start(self, s):
            nonlocal start
            start = time.perf_counter()

        def on_generation(self, s, record):
            curve.append((time.perf_counter() - start, record.env_steps, record.mean))

        def on_end(self, s, result):
            pass

    search.observers.append(Clock())
    search.run()
    return {"curve": curve}


def _evotorch_run(actors: int, seconds: float | None, generations: int | None) -> dict[str, Any]:
    from evotorch.algorithms import PGPE as EvoTorchPGPE

    problem = _gymne(actors)
    searcher = EvoTorchPGPE(problem, popsize=P, center_learning_rate=PGPE["center_learning_rate"],
                            stdev_learning_rate=PGPE["stdev_learning_rate"], radius_init=PGPE["radius_init"],
                            optimizer="clipup", optimizer_config={"max_speed": PGPE["max_speed"]})
    searcher.step()  # untimed first generation: it starts the actors (our backend starts them in its constructor)
    curve, start, steps = [], time.perf_counter(), 0
    while (seconds and time.perf_counter() - start < seconds) or (generations and len(curve) < generations):
        searcher.step()
        steps += P * T   # HalfCheetah never terminates: every episode is T steps
        curve.append((time.perf_counter() - start, steps, float(searcher.status["mean_eval"])))
    if problem.actors:
        problem.kill_actors()
    return {"curve": curve}


def _steps_per_s(curve: list[tuple[float, int, float]], skip: int = 1) -> float:
    """Env steps/s over the generations after the first ``skip`` (warm-up: actor start, first compile)."""
    (t0, s0, _), (t1, s1, _) = curve[skip - 1], curve[-1]
    return (s1 - s0) / (t1 - t0)


def run() -> dict[str, Any]:
    import evotorch  # noqa: F401 - import first: importing evotorch resets its logger's level
    import ray

    from evohyper.engine.backends.ray import runtime

    logging.getLogger("evotorch").setLevel(logging.WARNING)
    torch.set_num_threads(1)
    owns = runtime.connect(None, num_cpus=2)
    try:
        same = _same_computation()   # before any timing: a peer computing something else fails here
        progress(f"  same computation: max |action difference| {same['action']:.2e}, max relative return "
                 f"difference over {same['horizon']} steps {same['return']:.2e}")
        limit = [_limit(a, h) for h in ([], [64, 64]) for a in (1, 2)]
        peer: dict[str, Any] = {}
        for actors in (1, 2):
            n = STEPS_GENERATIONS + 1
            peer[(actors, "evotorch")] = _evotorch_run(actors, None if actors == 1 else PEER_SECONDS,
                                                       n if actors == 1 else None)
            peer[(actors, "evohyper")] = _evohyper_run(actors, None if actors == 1 else PEER_SECONDS,
                                                       n if actors == 1 else None)
            for side in ("evotorch", "evohyper"):
                progress(f"  peer {actors} actor(s) {side}: {_steps_per_s(peer[(actors, side)]['curve']):.0f} "
                         f"env steps/s, last mean return {peer[(actors, side)]['curve'][-1][2]:.1f}")
    finally:
        if owns and ray.is_initialized():
            runtime.disconnect()
    return {"limit": limit, "same": same, "peer": peer}


def _at(curve: list[tuple[float, int, float]], seconds: float) -> float:
    """The mean return of the last generation finished by ``seconds``."""
    done = [r for t, _, r in curve if t <= seconds]
    return done[-1] if done else float("nan")


def render(r: dict[str, Any]) -> str:
    rows = []
    for x in r["limit"]:
        raw, ours = statistics.median(x["raw"]), statistics.median(x["ours"])
        policy = "linear" if not x["hidden"] else "MLP " + "-".join(map(str, x["hidden"]))
        rows.append([f"{x['actors']} actor{'s' if x['actors'] > 1 else ''}, {policy}", f"{P * T / raw:,.0f}",
                     f"{P * T / ours:,.0f}", f"{x['ratio']:.1%}", f">= {LIMIT_TARGET:.0%}",
                     met(x["ratio"] >= LIMIT_TARGET)])
        add_summary(f"gym task vs raw stepping of the same actions, {ENV}, P={P}, {policy}, {x['actors']} actor(s)",
                    f">= {LIMIT_TARGET:.0%}", f"{x['ratio']:.1%}", x["ratio"] >= LIMIT_TARGET)
    peer_rows = []
    for actors in (1, 2):
        et = _steps_per_s(r["peer"][(actors, "evotorch")]["curve"])
        eh = _steps_per_s(r["peer"][(actors, "evohyper")]["curve"])
        peer_rows.append([f"{actors} actor{'s' if actors > 1 else ''}", f"{et:,.0f}", f"{eh:,.0f}",
                          fmt_ratio(eh / et), f">= {PEER_TARGET:g}x", met(eh / et >= PEER_TARGET)])
        add_summary(f"evohyper PGPE vs EvoTorch GymNE + PGPE, {ENV}, env steps/s, {actors} actor(s)",
                    f">= {PEER_TARGET:g}x", fmt_ratio(eh / et), eh / et >= PEER_TARGET)
    et_curve, eh_curve = r["peer"][(2, "evotorch")]["curve"], r["peer"][(2, "evohyper")]["curve"]
    marks = [t for t in (30, 60, 90, 120, PEER_SECONDS) if t <= PEER_SECONDS]
    learn_rows = [[f"{t:.0f} s", f"{_at(et_curve, t):.1f}", f"{_at(eh_curve, t):.1f}",
                   str(sum(1 for c in et_curve if c[0] <= t)), str(sum(1 for c in eh_curve if c[0] <= t))]
                  for t in marks]
    add_summary(f"mean population return after {PEER_SECONDS:.0f} s, {ENV}, 2 actors (EvoTorch vs evohyper)",
                "(report)", f"{_at(et_curve, PEER_SECONDS):.1f} vs {_at(eh_curve, PEER_SECONDS):.1f}", None)
    same = r["same"]
    return "\n\n".join([
        f"## Control: the gym task on {ENV} (physical limit, EvoTorch GymNE)",
        f"Population {P}, one {T}-step episode each, observation normalisation on, torch 1 thread per process, "
        f"a local Ray of 2 CPUs (one per actor). Medians of {REPEATS} alternating repeats. See "
        "`benchmarks/bench_control.py` for exactly what is timed.",
        "### Against the physical limit (raw stepping of the same actions)",
        table(["variant", "raw env steps/s", "evaluate env steps/s", "evaluate / raw", "target", "met?"], rows),
        "*Raw* steps the chunk's environments through the actions its policies took in an earlier evaluation "
        "(asserted: the same returns, to 1e-9), timed inside the actors; *evaluate* is `RayBackend.evaluate` "
        "timed at the driver (transfer, decode, one batched forward per step, masking, normalisation, "
        "statistics rows, results back). With 2 actors both sides run two processes in parallel on the 2 cores.",
        f"### Against EvoTorch's GymNE + PGPE (linear policy, popsize {P}, {T}-step episodes, normalisation on)",
        table(["actors", "EvoTorch GymNE env steps/s", "evohyper env steps/s", "ratio", "target", "met?"], peer_rows),
        f"Env steps/s over the generations after the first (1 actor: {STEPS_GENERATIONS} timed generations per "
        f"side; EvoTorch turns `num_actors=1` into evaluation in its main process, so our side uses the "
        f"in-process `local` backend there; 2 actors: Ray actors on both sides, from the {PEER_SECONDS:.0f}-second "
        f"runs below). Mean population return at equal wall-clock (2 actors, seed 0 on our side; GymNE draws "
        f"unseeded episodes):",
        table(["wall-clock", "EvoTorch mean return", "evohyper mean return", "EvoTorch generations",
               "evohyper generations"], learn_rows),
        "**Same computation.** For the same parameters and the same 1,000 observations the two policies' "
        + ("actions are bit-identical" if same["action"] == 0 else
           f"actions differ by at most {same['action']:.1e} (float32 rounding of two GEMM kernels)")
        + f"; with deterministic starts "
        f"(`reset_noise_scale: 0`, normalisation off) the returns of 8 policies over {same['horizon']} steps "
        f"differ by at most {same['return']:.1e} (relative; the benchmark asserts actions within {ACTION_TOL:g} and "
        f"returns within {RETURN_TOL:g} before timing the peer). Over {T} steps these last-bit differences grow "
        "chaotically through MuJoCo's contacts, so single long returns are not comparable; GymNE also resets "
        "its environments without seeds and updates its (float32) normalisation statistics at every step, "
        "while we freeze ours (float64, merged over actors) for a generation. Both sides run EvoTorch's PGPE "
        "class with the same settings, so the learning rows compare the evaluation engines at equal "
        "wall-clock, not two algorithms; they are single runs on a shared machine, not a statistical claim.",
    ])


def section() -> str:
    return render(run())


if __name__ == "__main__":
    print(section())
