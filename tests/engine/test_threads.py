"""The engine's thread policy (evohyper/engine/threads.py): what it chooses, that the backends apply it
after the components are built and restore it on close, that Ray actors run with it, config overrides."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from evohyper.config import BackendConfig, ConfigError, validate
from evohyper.engine import threads
from evohyper.engine.runner import build_search
from evohyper.engine.threads import ThreadPolicy, Threads

HERE = Path(__file__).resolve().parent


def blas_threads() -> set[int]:
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def config(backend: dict | None = None, generations: int = 2):
    return validate({"name": "t", "seed": 0, "task": {"name": "sphere", "dim": 6}, "decoder": {"name": "direct"},
                     "strategy": {"name": "snes", "popsize": 8}, "budget": {"generations": generations},
                     "backend": backend or {"name": "local"}})


@pytest.mark.parametrize(("backend", "cores", "expected"), [
    ({"name": "local"}, 2, ThreadPolicy(Threads(1, 1), Threads(1, 1))),
    ({"name": "local"}, 1, ThreadPolicy(Threads(1, 1), Threads(1, 1))),
    ({"name": "local"}, 16, ThreadPolicy(Threads(1, 8), Threads(1, 8))),
    ({"name": "ray", "num_actors": 2}, 2, ThreadPolicy(Threads(1, 1), Threads(1, 1))),
    ({"name": "ray", "num_actors": 2, "num_cpus_per_actor": 4}, 16, ThreadPolicy(Threads(1, 1), Threads(4, 4))),
    ({"name": "ray", "num_actors": 4, "num_cpus_per_actor": 4}, 8, ThreadPolicy(Threads(1, 1), Threads(2, 2))),
    ({"name": "ray", "num_actors": 3, "num_cpus_per_actor": 0.5}, 1, ThreadPolicy(Threads(1, 1), Threads(1, 1))),
    # a cluster: the actors' cores are not this machine's
    ({"name": "ray", "num_actors": 8, "num_cpus_per_actor": 4, "address": "auto"}, 2,
     ThreadPolicy(Threads(1, 1), Threads(4, 4))),
])
def test_policy_from_cores_and_actors(backend, cores, expected):
    assert threads.choose(BackendConfig(**backend), cores=cores) == expected


@pytest.mark.parametrize(("backend", "expected"), [
    ({"name": "local", "evaluator_torch_threads": 3, "evaluator_blas_threads": 2},
     ThreadPolicy(Threads(2, 3), Threads(2, 3))),
    ({"name": "local", "driver_threads": 3, "driver_blas_threads": 2}, ThreadPolicy(Threads(2, 3), Threads(2, 3))),
    ({"name": "local", "driver_threads": 3, "evaluator_torch_threads": 5}, ThreadPolicy(Threads(1, 5), Threads(1, 5))),
    ({"name": "ray", "driver_threads": 2, "driver_blas_threads": 3, "evaluator_torch_threads": 4,
      "evaluator_blas_threads": 5}, ThreadPolicy(Threads(3, 2), Threads(5, 4))),
])
def test_overrides_from_config(backend, expected):
    assert threads.choose(validate({"name": "t", "task": {"name": "sphere"}, "decoder": {"name": "direct"},
                                    "strategy": {"name": "snes"}, "budget": {"generations": 1},
                                    "backend": backend}).backend, cores=16) == expected


def test_old_driver_threads_configs_stay_valid():
    cfg = validate({"name": "t", "task": {"name": "sphere"}, "decoder": {"name": "direct"},
                    "strategy": {"name": "snes"}, "budget": {"generations": 1},
                    "backend": {"name": "ray", "driver_threads": 1}})
    assert threads.choose(cfg.backend, cores=2).driver == Threads(1, 1)
    assert BackendConfig(name="ray").driver_threads is None        # null: the policy's choice


@pytest.mark.parametrize("key", ["driver_threads", "driver_blas_threads", "evaluator_torch_threads",
                                 "evaluator_blas_threads"])
@pytest.mark.parametrize("value", [0, -1, 100000, 1.5, "two", True])
def test_bad_thread_counts_refused_in_one_line(key, value):
    with pytest.raises(ConfigError) as err:
        validate({"name": "t", "task": {"name": "sphere"}, "decoder": {"name": "direct"},
                  "strategy": {"name": "snes"}, "budget": {"generations": 1}, "backend": {"name": "local", key: value}})
    text = str(err.value)
    assert "\n" not in text and key in text and repr(value) in text, text


def test_available_cores_capped_by_omp_num_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    free = threads.available_cores()
    assert free >= 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads.available_cores() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert threads.available_cores() == free


def test_local_search_runs_with_the_policy_and_restores_the_settings():
    before_torch = torch.get_num_threads()
    cfg = config({"name": "local", "evaluator_torch_threads": 2, "evaluator_blas_threads": 2})
    with threadpool_limits(limits=1, user_api="blas"):      # a distinct "before" the search must restore
        torch.set_num_threads(1)
        try:
            search = build_search(cfg, None)
            assert blas_threads() == {2} and torch.get_num_threads() == 2
            search.run()
            assert blas_threads() == {1} and torch.get_num_threads() == 1    # restored when the search ended
        finally:
            torch.set_num_threads(before_torch)


def test_default_local_policy_applied_after_build():
    policy = threads.choose(BackendConfig(), cores=threads.available_cores())
    torch_before = torch.get_num_threads()
    with threadpool_limits(limits=2, user_api="blas"):
        torch.set_num_threads(2)
        try:
            search = build_search(config(), None)
            assert blas_threads() == {policy.evaluator.blas}
            assert torch.get_num_threads() == policy.evaluator.torch
            assert threads.current() == policy.evaluator
            search.backend.close()
            assert blas_threads() == {2} and torch.get_num_threads() == 2
        finally:
            torch.set_num_threads(torch_before)


@pytest.mark.ray
def test_ray_actors_and_driver_run_with_the_policy(ray_local):
    sys.path.insert(0, str(HERE))
    import ray_test_tasks  # noqa: F401  (registers the raytest_* tasks)

    from evohyper.config import ComponentsSpec
    from evohyper.engine.backends.ray import RayBackend

    spec = ComponentsSpec(task={"name": "raytest_sphere", "dim": 4}, decoder={"name": "direct"})
    options = BackendConfig(name="ray", num_actors=2, num_cpus_per_actor=0.25, driver_blas_threads=1,
                            evaluator_torch_threads=2, evaluator_blas_threads=1, startup_timeout_s=60)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with RayBackend(spec, options, preload_modules=["ray_test_tasks"], sys_path=[str(HERE)]) as backend:
            assert torch.get_num_threads() == 1 and blas_threads() == {1}           # the driver
            for info in backend.actor_info():
                assert info["threads"] == {"blas": 1, "torch": 2}, info
        assert torch.get_num_threads() == 2                                          # restored
        with RayBackend(spec, BackendConfig(name="ray", num_actors=2, num_cpus_per_actor=1, startup_timeout_s=60),
                        preload_modules=["ray_test_tasks"], sys_path=[str(HERE)]) as backend:
            policy = threads.choose(backend.options)
            assert [i["threads"] for i in backend.actor_info()] == [vars(policy.evaluator)] * 2
    finally:
        torch.set_num_threads(before)


def test_compare_runs_with_the_policy_and_leaves_the_process_as_it_was(tmp_path):
    """`evohyper compare` used to pin torch to 1 thread for good; a run now gets the policy like `evohyper run`."""
    from evohyper.viz.compare import run_one

    cfg = validate({"name": "t", "seed": 0, "task": {"name": "sphere", "dim": 6}, "decoder": {"name": "direct"},
                    "strategy": {"name": "snes", "popsize": 8}, "budget": {"generations": 2},
                    "backend": {"name": "local", "evaluator_torch_threads": 2},
                    "output": {"runs_dir": str(tmp_path), "tensorboard": False, "progress": False}})
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    seen = []
    try:
        import evohyper.engine.search as search_module

        original = search_module.Search.step

        def step(self):
            seen.append(torch.get_num_threads())
            return original(self)

        search_module.Search.step = step
        try:
            run_one(cfg, "snes")
        finally:
            search_module.Search.step = original
        assert seen == [2, 2]                       # the configured count while the search ran
        assert torch.get_num_threads() == 3         # and the process's own afterwards
    finally:
        torch.set_num_threads(before)
