"""A pool of evaluator actors that runs one call per chunk and survives actor deaths and hangs.

Failures, per chunk and per call:

* an actor that dies (process killed, node lost) is replaced by a fresh one and its chunk is
  resubmitted there; other chunks are unaffected, every chunk gets exactly one result;
* a chunk that returns nothing within ``timeout_s`` is treated as hung: its actor is killed,
  replaced, and the chunk retried on the fresh actor;
* after ``max_retries`` retries of the same chunk, :class:`EvaluationTimeout` (last failure a hang)
  or :class:`BackendError` (last failure an actor death) names the chunk and the limit;
* an exception raised by the task (``TaskError`` in strict mode, ``TaskShapeError``) is not a worker
  failure: it is re-raised in the driver with its original type and message, never retried.

Ray is imported inside methods only.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evohyper.config.build import ComponentsSpec
from evohyper.engine.backends.ray.actor import remote_actor_class
from evohyper.engine.errors import BackendError, EvaluationTimeout

__all__ = ["ActorPool", "BackendError", "EvaluationTimeout"]   # the errors: their old home

logger = logging.getLogger("evohyper.ray")


def _actor_failures() -> tuple[type[BaseException], ...]:
    """Ray errors that mean "the worker is gone", as opposed to "the task raised"."""
    import ray.exceptions as rex

    names = ("RayActorError", "WorkerCrashedError", "ObjectLostError", "NodeDiedError", "TaskCancelledError")
    return tuple(getattr(rex, n) for n in names if hasattr(rex, n))


def _unwrap_task_error(err: BaseException) -> BaseException:
    """The exception the remote code raised (original type and message) from a RayTaskError."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        return cause
    return BackendError(str(err))


@dataclass
class _Slot:
    handle: Any
    ready_ref: Any
    info: dict[str, Any] | None = None  # set once ready() answered


@dataclass
class _Job:
    chunk: int
    slot: int
    kind: str  # "ready": waiting for a fresh actor to start; "call": running the chunk
    deadline: float


class ActorPool:
    """``size`` evaluator actors built from ``spec``; ``run(method, chunks, seed)`` maps a method over chunks.

    ``actor_options``: Ray options of every actor (resources, scheduling strategy, runtime env).
    ``placement``: a placement group and each actor's bundle index, or ``(None, [])``.
    """

    def __init__(self, spec: ComponentsSpec, size: int, device: str, actor_options: dict[str, Any], *,
                 placement: tuple[Any, list[int]], timeout_s: float, startup_timeout_s: float, max_retries: int,
                 sys_path: Sequence[str] = (), preload_modules: Sequence[str] = (), threads: Any = None):
        self.spec, self.device = spec, device
        self.timeout_s, self.startup_timeout_s, self.max_retries = timeout_s, startup_timeout_s, max_retries
        self.replacements = 0  # actors replaced so far (deaths + hangs)
        self._options = dict(actor_options)
        self._pg, self._bundles = placement
        self._args = (spec, device, list(sys_path), list(preload_modules), threads)  # threads: engine/threads.py
        self.slots: list[_Slot] = []
        deadline = time.monotonic() + startup_timeout_s   # creating a huge pool is itself bounded
        for i in range(size):
            if time.monotonic() > deadline:
                self.kill_all()
                raise BackendError(f"creating {size} evaluator actors took longer than startup_timeout_s="
                                   f"{startup_timeout_s:g}s ({i} created); lower backend.num_actors")
            self.slots.append(self._new_slot(i))

    # ------------------------------------------------------------------ actors
    def _new_slot(self, index: int) -> _Slot:
        options = dict(self._options)
        if self._pg is not None:
            from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

            options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                placement_group=self._pg, placement_group_bundle_index=self._bundles[index])
        handle = remote_actor_class().options(**options).remote(*self._args)
        return _Slot(handle, handle.ready.remote())

    def resource_request(self) -> dict[str, Any]:
        req = {"CPU": self._options["num_cpus"], "GPU": self._options["num_gpus"]}
        req.update(self._options.get("resources", {}))
        return req

    def wait_ready(self) -> None:
        """Block until every actor is placed and has built its evaluator (or fail naming why)."""
        import ray
        import ray.exceptions as rex

        refs = [s.ready_ref for s in self.slots]
        done, pending = ray.wait(refs, num_returns=len(refs), timeout=self.startup_timeout_s)
        if pending:
            raise BackendError(
                f"only {len(done)} of {len(refs)} evaluator actors started within {self.startup_timeout_s:g}s "
                f"(each asks {self.resource_request()}; cluster has {ray.cluster_resources()}, "
                f"available {ray.available_resources()}); lower num_actors or the per-actor resources, "
                f"or raise startup_timeout_s")
        for slot in self.slots:
            try:
                slot.info = ray.get(slot.ready_ref)
            except rex.RayTaskError as err:
                raise _unwrap_task_error(err) from None
            except _actor_failures() as err:
                raise BackendError(f"an evaluator actor died while starting: {err}") from None

    def ensure_ready(self) -> None:
        import ray

        for slot in self.slots:
            if slot.info is None:
                slot.info = ray.get(slot.ready_ref, timeout=self.startup_timeout_s)

    def _replace(self, index: int, reason: str) -> None:
        import ray

        old = self.slots[index]
        try:
            ray.kill(old.handle, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.slots[index] = self._new_slot(index)
        self.replacements += 1
        where = f" on node {old.info['node_id']}" if old.info else ""
        logger.warning("replaced evaluator actor %d%s: %s", index, where, reason)

    def kill_all(self) -> None:
        import ray

        for slot in self.slots:
            try:
                ray.kill(slot.handle, no_restart=True)
            except Exception:  # noqa: BLE001
                pass
        self.slots = []

    # ------------------------------------------------------------------ one call per chunk
    def run(self, method: str, chunks: list[Any], labels: list[str], seed: int, *extra: Any) -> list[Any]:
        """``actor.<method>(chunks[i], seed, *extra)`` for every chunk, chunk i on actor i; the raw results
        in chunk order. ``labels`` name the chunks in error messages."""
        import ray
        import ray.exceptions as rex

        results: list[Any] = [None] * len(chunks)
        failures = [0] * len(chunks)
        running: dict[Any, _Job] = {}
        failure_types = _actor_failures()

        def submit(chunk: int, slot_index: int) -> None:
            slot = self.slots[slot_index]
            now = time.monotonic()
            if slot.info is None:  # a fresh actor: its start-up does not count against timeout_s
                running[slot.ready_ref] = _Job(chunk, slot_index, "ready", now + self.startup_timeout_s)
            else:
                ref = getattr(slot.handle, method).remote(chunks[chunk], seed, *extra)
                running[ref] = _Job(chunk, slot_index, "call", now + self.timeout_s)

        def fail(job: _Job, what: str, hung: bool) -> None:
            failures[job.chunk] += 1
            attempt = failures[job.chunk]
            label = labels[job.chunk]
            self._replace(job.slot, f"{label} {what} (failure {attempt} of at most {self.max_retries + 1})")
            if attempt > self.max_retries:
                self._cancel(running)
                tries = (f"{attempt} attempt{'s' if attempt > 1 else ''} (max_retries={self.max_retries}; "
                         f"each failed actor was replaced)")
                if hung:
                    raise EvaluationTimeout(f"{label} {what}; gave up after {tries}")
                raise BackendError(f"{label}: {what}; gave up after {tries}")
            submit(job.chunk, job.slot)

        for chunk in range(len(chunks)):
            submit(chunk, chunk)
        while running:
            wait_s = max(0.0, min(j.deadline for j in running.values()) - time.monotonic())
            done, _ = ray.wait(list(running), num_returns=1, timeout=wait_s)
            for ref in done:
                job = running.pop(ref)
                try:
                    value = ray.get(ref)
                except rex.RayTaskError as err:  # the task (or the evaluator's contract check) raised
                    self._cancel(running)
                    raise _unwrap_task_error(err) from None
                except failure_types as err:
                    fail(job, f"lost its actor ({type(err).__name__})", hung=False)
                    continue
                if job.kind == "ready":
                    self.slots[job.slot].info = value
                    submit(job.chunk, job.slot)
                else:
                    results[job.chunk] = value
            now = time.monotonic()
            for ref, job in list(running.items()):
                if job.deadline <= now and ref in running:
                    del running[ref]
                    if job.kind == "ready":
                        fail(job, f"got no actor started within startup_timeout_s={self.startup_timeout_s:g}s",
                             hung=True)
                    else:
                        fail(job, f"returned no result within timeout_s={self.timeout_s:g}s", hung=True)
        return results

    @staticmethod
    def _cancel(running: dict[Any, _Job]) -> None:
        import ray

        for ref, job in list(running.items()):
            if job.kind == "call":
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - best effort
                    pass
        running.clear()
