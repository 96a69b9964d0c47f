"""The thread policy: how many BLAS/OpenMP and torch threads the driver and each evaluator use.

numpy's BLAS and torch each start a thread pool per process, sized to the machine; for the small
matrices of a typical search (a 500x500 CMA-ES covariance, a population of tiny MLPs) the pools fight
over the cores, and OpenMP workers spin after every op. Measured on a 2-core machine that other work
loaded (1-min load 1.7-4): ``cmaes`` on a 535-parameter MLP (digits, hidden [7]), 60 generations, took
1.4 s with (1 BLAS, 1 torch) thread, 5.4 s with (1, 2), 18.5 s with (2, 1) and 36 s with (2, 2);
``benchmarks/bench_threads.py`` compares the default below with that grid. So the engine sets both,
explicitly, in every process it computes in:

* ``driver`` (the process that asks and tells): on the ``ray`` backend 1 BLAS and 1 torch thread (it
  only does strategy math between evaluations; the actors need the cores).
* ``evaluator`` (each Ray actor; on the ``local`` backend the one process, which both evaluates and
  runs the strategy): BLAS 1; torch ``max(1, cores // 2)`` locally (1 on 2 cores: measured; larger
  machines keep half their cores for the rest of the machine and OpenMP's spinning, unmeasured), and
  on Ray the actor's CPU reservation ``int(num_cpus_per_actor)`` (at least 1), on a local Ray at most
  ``cores // num_actors``.

``cores`` is what this process may run on (``os.sched_getaffinity``), capped by ``OMP_NUM_THREADS`` when
that is set (Ray sets it to the CPUs reserved by each task and actor, so a run inside a Tune trial or a
``compare`` task sizes itself to its reservation). ``backend:`` overrides each count:
``driver_threads`` (torch, the key of earlier versions), ``driver_blas_threads``,
``evaluator_torch_threads``, ``evaluator_blas_threads``; null = the policy's choice. On ``local`` an
explicit ``evaluator_*`` count wins over a ``driver_*`` one (one process does both).

The limits go on after the components are built (threadpoolctl reaches only libraries already loaded),
by the backend: :class:`~evohyper.engine.backends.local.LocalBackend` and
:class:`~evohyper.engine.backends.ray.RayBackend` for the driver, each evaluator actor for itself (which
also exports ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` so that libraries loaded
later start at that size). ``close()`` restores the process's previous settings. The ``openmp`` pools
(torch's own libgomp among them) follow the torch count; ``torch.set_num_interop_threads`` is left alone
(it raises once any inter-op work has run, and the engine runs none).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Threads:
    """The thread counts of one process: BLAS (numpy/scipy's BLAS pools) and torch (intra-op, OpenMP)."""

    blas: int
    torch: int


@dataclass(frozen=True)
class ThreadPolicy:
    """What the driver and each evaluator use. On the local backend they are one process: ``evaluator``."""

    driver: Threads
    evaluator: Threads


def available_cores() -> int:
    """Cores this process may run on, capped by ``OMP_NUM_THREADS`` when set (Ray's per-task reservation)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # macOS, Windows
        cores = os.cpu_count() or 1
    cap = os.environ.get("OMP_NUM_THREADS", "")
    if cap.strip().isdigit() and int(cap) >= 1:
        cores = min(cores, int(cap))
    return max(1, cores)


def choose(backend: Any, cores: int | None = None) -> ThreadPolicy:
    """The policy for a ``backend:`` section (``BackendConfig``) on ``cores`` cores (default: this process's)."""
    cores = available_cores() if cores is None else max(1, int(cores))
    if backend.name == "local":
        torch_threads = _first(backend.evaluator_torch_threads, backend.driver_threads, max(1, cores // 2))
        blas = _first(backend.evaluator_blas_threads, backend.driver_blas_threads, 1)
        local = Threads(blas=blas, torch=torch_threads)
        return ThreadPolicy(driver=local, evaluator=local)
    per_actor = max(1, int(backend.num_cpus_per_actor))
    if backend.address is None:          # a local Ray: the actors share this machine's cores
        per_actor = min(per_actor, max(1, cores // backend.num_actors))
    driver = Threads(blas=_first(backend.driver_blas_threads, 1), torch=_first(backend.driver_threads, 1))
    evaluator = Threads(blas=_first(backend.evaluator_blas_threads, per_actor),
                        torch=_first(backend.evaluator_torch_threads, per_actor))
    return ThreadPolicy(driver=driver, evaluator=evaluator)


def _first(*values: int | None) -> int:
    return int(next(v for v in values if v is not None))


def current() -> Threads:
    """This process's BLAS threads (the largest BLAS pool threadpoolctl sees; 1 if none is loaded) and
    torch's intra-op threads."""
    import torch
    from threadpoolctl import threadpool_info

    blas = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return Threads(blas=max(blas, default=1), torch=torch.get_num_threads())


def apply(threads: Threads) -> Callable[[], None]:
    """Limit this process to ``threads``; returns a function that restores the previous settings."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    limiter = threadpool_limits(limits={"blas": threads.blas, "openmp": threads.torch})
    torch.set_num_threads(threads.torch)
    done = False

    def restore() -> None:
        nonlocal done
        if done:
            return
        done = True
        limiter.restore_original_limits()
        torch.set_num_threads(before)

    return restore


def export_env(threads: Threads) -> None:
    """Size the pools of libraries this process loads later (an evaluator actor: its own process)."""
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[key] = str(threads.torch if key == "OMP_NUM_THREADS" else threads.blas)

