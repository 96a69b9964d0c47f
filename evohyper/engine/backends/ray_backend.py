"""Ray backend: a pool of evaluator actors, one contiguous chunk of the population each.

Each actor builds its own :class:`~evohyper.engine.evaluation.Evaluator` (task + decoder) once, on its
own device, receives only genotypes and returns a :class:`ChunkResult`; phenotypes never cross a
process boundary. Every chunk is evaluated with the same seed, so (tasks being chunk-invariant) the
result does not depend on how many actors there are.

Failures, per chunk and per generation:

* an actor that dies (process killed, node lost) is replaced by a fresh one and its chunk is
  resubmitted there; other chunks are unaffected, every individual gets exactly one fitness;
* a chunk that returns nothing within ``timeout_s`` is treated as hung: its actor is killed,
  replaced, and the chunk retried on the fresh actor;
* after ``max_retries`` retries of the same chunk, :class:`EvaluationTimeout` (last failure a hang)
  or :class:`BackendError` (last failure an actor death) names the chunk and the limit;
* an exception raised by the task (``TaskError`` in strict mode, ``TaskShapeError``) is not a worker
  failure: it is re-raised in the driver with its original type and message, never retried.

Ray is imported lazily (inside methods), so importing this module does not import Ray.
"""
from __future__ import annotations

import importlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from evohyper.engine.backends import ray_runtime
from evohyper.engine.evaluation import ChunkResult, ComponentsSpec, Evaluator

logger = logging.getLogger("evohyper.ray")


class BackendError(RuntimeError):
    """The backend could not evaluate a population (actors lost, unschedulable, retries exhausted)."""


class EvaluationTimeout(BackendError, TimeoutError):
    """A chunk produced no result within ``timeout_s``, on ``max_retries + 1`` successive actors."""


# ----------------------------------------------------------------------------- the actor
class EvaluatorActor:
    """Body of one evaluator actor (wrapped with ``ray.remote`` by :class:`RayBackend`)."""

    def __init__(self, spec: ComponentsSpec, device: str, sys_path: Sequence[str] = (),
                 preload_modules: Sequence[str] = ()):
        self._init_error: BaseException | None = None
        self.evaluator: Evaluator | None = None
        try:
            for path in reversed(list(sys_path)):
                if path not in sys.path:
                    sys.path.insert(0, path)
            for module in preload_modules:  # e.g. a user module registering tasks by decorator
                importlib.import_module(module)
            self.evaluator = Evaluator(spec, device)
        except Exception as exc:  # noqa: BLE001 - reported by ready() as a task error, not a crash
            self._init_error = exc

    def ready(self) -> dict[str, Any]:
        """Where this actor runs; re-raises a construction error (unknown task, bad option...)."""
        if self._init_error is not None:
            raise self._init_error
        import ray

        ctx = ray.get_runtime_context()
        assert self.evaluator is not None
        return {"actor_id": ctx.get_actor_id(), "node_id": ctx.get_node_id(), "pid": os.getpid(),
                "device": str(self.evaluator.device)}

    def evaluate(self, genotypes: Any, seed: int) -> Any:
        assert self.evaluator is not None
        return to_wire(self.evaluator.evaluate(from_wire(genotypes), seed))


# ----------------------------------------------------------------------------- transport
#: Chunks smaller than this go inline with the actor call (Ray copies them into the call message)
#: instead of through ``ray.put`` and the object store: one round trip fewer per chunk.
INLINE_BYTES = 256 * 1024


def to_wire(obj: Any) -> Any:
    """Plain CPU tensors as numpy arrays (``ChunkResult``s as a tagged dict of them): Ray serialises
    numpy with zero-copy buffers and far less overhead than torch tensors (measured 2.5 ms vs 4.2 ms for
    two small calls; reports/performance.md). Values are unchanged bit for bit. Other objects pass as-is."""
    if isinstance(obj, torch.Tensor) and obj.device.type == "cpu" and not obj.requires_grad:
        return obj.numpy()
    if isinstance(obj, ChunkResult):
        return {"__chunk__": True, "fitness": obj.fitness.numpy(),
                "metrics": {k: v.numpy() for k, v in obj.metrics.items()},
                "sample_forwards": obj.sample_forwards, "errors": obj.errors, "updated": obj.updated}
    return obj


def from_wire(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy() if not obj.flags.writeable else obj)
    if isinstance(obj, dict) and obj.get("__chunk__"):
        return ChunkResult(fitness=from_wire(obj["fitness"]), metrics={k: from_wire(v) for k, v in obj["metrics"].items()},
                           sample_forwards=obj["sample_forwards"], errors=obj["errors"], updated=obj["updated"])
    return obj


def _nbytes(obj: Any) -> int:
    return int(obj.nbytes) if isinstance(obj, np.ndarray) else INLINE_BYTES  # unknown sizes go by ray.put


_REMOTE_ACTOR: Any = None


def _remote_actor_class() -> Any:
    global _REMOTE_ACTOR
    if _REMOTE_ACTOR is None:
        import ray

        _REMOTE_ACTOR = ray.remote(EvaluatorActor)
    return _REMOTE_ACTOR


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


def split_bounds(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ``[start, end)`` ranges covering ``range(n)``, sizes differing by at most 1
    (never an empty range: fewer parts when ``n < parts``)."""
    parts = max(1, min(parts, n)) if n > 0 else 1
    base, extra = divmod(n, parts)
    bounds, start = [], 0
    for i in range(parts):
        end = start + base + (1 if i < extra else 0)
        bounds.append((start, end))
        start = end
    return bounds


def _slice(genotypes: Any, start: int, end: int) -> Any:
    part = genotypes[start:end]
    if isinstance(part, torch.Tensor):
        # A view pickles its whole storage; ship only this chunk's rows, from the CPU.
        part = part.detach().to("cpu").clone()
    return to_wire(part)


@dataclass
class _Slot:
    handle: Any
    ready_ref: Any
    info: dict[str, Any] | None = None  # set once ready() answered


@dataclass
class _Job:
    chunk: int
    slot: int
    kind: str  # "ready": waiting for a fresh actor to start; "eval": evaluating the chunk
    deadline: float


# ----------------------------------------------------------------------------- the backend
class RayBackend:
    """Evaluate populations on a pool of Ray actors.

    spec: the task + decoder recipe every actor builds once.
    num_actors: pool size (a population is split into at most this many contiguous chunks).
    num_cpus_per_actor / num_gpus_per_actor: Ray resources reserved per actor (fractions allowed).
      With GPUs the actor evaluates on ``"cuda"`` (the device Ray assigned it), else on ``"cpu"``.
    device: override the evaluation device chosen above.
    resources: extra custom Ray resources per actor, e.g. ``{"accelerator_type:A100": 0.01}``.
    address: None starts a private local Ray on 127.0.0.1 (dashboard off, see ``ray_runtime``);
      ``"auto"``, ``"host:port"`` or ``"ray://host:10001"`` joins an existing cluster. If Ray is
      already initialised in this process it is reused (and left running by :meth:`close`).
    num_cpus / num_gpus: size of the local Ray instance started when ``address`` is None.
    timeout_s: longest a chunk may take on a started actor before it counts as hung.
    startup_timeout_s: longest an actor may take to be placed and build its evaluator
      (on an autoscaling cluster this includes starting a node).
    max_retries: retries of one chunk (each on a fresh actor) before giving up.
    preload_modules: modules every actor imports before building (user modules that register
      tasks/decoders by decorator, e.g. ``["mypkg.tasks"]``). Entry-point plug-ins need none.
    sys_path: directories prepended to each actor's ``sys.path`` before the imports (they must
      exist on every node; the cluster launcher config syncs the repository to the same path).
    scheduling_strategy: Ray scheduling strategy for the actors; ``"SPREAD"`` places them over as
      many nodes as possible, ``"DEFAULT"`` packs them.
    runtime_env: optional Ray runtime environment for the actors.
    placement_group: ``"current"`` (default): when this code itself runs inside a placement group
      (a Ray Tune trial), the actors go into its last ``num_actors`` bundles (bundle 0 being the
      trial driver), so they are part of the trial's resource request and can neither over-subscribe
      the cluster nor wait forever for resources held by other trials; ``None``: never; or a
      ``PlacementGroup`` to use. A placement group overrides ``scheduling_strategy``.
    driver_threads: torch intra-op threads of this (driver) process while the backend is open
      (default 1: the driver only runs ask/tell, and idle OpenMP threads spinning after its ops take
      CPU from actors on the same machine); None leaves the setting alone.
    """

    def __init__(self, spec: ComponentsSpec, *, num_actors: int = 2, num_cpus_per_actor: float = 1,
                 num_gpus_per_actor: float = 0, device: str | None = None,
                 resources: dict[str, float] | None = None, address: str | None = None,
                 num_cpus: float | None = None, num_gpus: float | None = None, timeout_s: float = 300,
                 startup_timeout_s: float = 300, max_retries: int = 3,
                 preload_modules: Sequence[str] = (), sys_path: Sequence[str] = (),
                 scheduling_strategy: Any = "SPREAD", runtime_env: dict[str, Any] | None = None,
                 placement_group: Any = "current", driver_threads: int | None = 1):
        if int(num_actors) < 1:
            raise ValueError(f"num_actors must be >= 1, got {num_actors}")
        if not timeout_s > 0 or not startup_timeout_s > 0:
            raise ValueError(f"timeout_s and startup_timeout_s must be > 0, got {timeout_s}, {startup_timeout_s}")
        if int(max_retries) < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if num_cpus_per_actor < 0 or num_gpus_per_actor < 0:
            raise ValueError("num_cpus_per_actor and num_gpus_per_actor must be >= 0")
        self.spec = spec
        self.num_actors = int(num_actors)
        self.timeout_s = float(timeout_s)
        self.startup_timeout_s = float(startup_timeout_s)
        self.max_retries = int(max_retries)
        self.device = device or ("cuda" if num_gpus_per_actor > 0 else "cpu")
        self.replacements = 0  # actors replaced so far (deaths + hangs)
        self._preload = list(preload_modules)
        self._sys_path = [os.fspath(p) for p in sys_path]
        self._options: dict[str, Any] = {
            "num_cpus": num_cpus_per_actor, "num_gpus": num_gpus_per_actor,
            "max_restarts": 0, "max_task_retries": 0,  # retries are ours: on a fresh actor, counted
            "scheduling_strategy": scheduling_strategy,
        }
        if resources:
            self._options["resources"] = dict(resources)
        if runtime_env:
            self._options["runtime_env"] = runtime_env
        self._slots: list[_Slot] = []
        self._closed = False
        self._pg: Any = None
        self._bundles: list[int] = []
        if driver_threads is not None and int(driver_threads) < 1:
            raise ValueError(f"driver_threads must be >= 1 or None, got {driver_threads}")
        # The driver only asks and tells between evaluations; with several torch (OpenMP) threads, those
        # spin on after each op and take CPU from actors on the same machine (measured: Ray overhead
        # +29.9% -> +11.8% with 1 thread; reports/performance.md). Restored by close().
        self._driver_threads = (torch.get_num_threads(), int(driver_threads)) if driver_threads else None
        if self._driver_threads:
            torch.set_num_threads(self._driver_threads[1])
        self._owns_ray = ray_runtime.connect(address, num_cpus=num_cpus, num_gpus=num_gpus)
        try:
            self._pg, self._bundles = self._placement(placement_group)
            self._slots = [self._new_slot(i) for i in range(self.num_actors)]
            self._wait_pool_ready()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ pool management
    def _placement(self, placement_group: Any) -> tuple[Any, list[int]]:
        """The placement group the actors go into (or None) and each actor's bundle index."""
        if placement_group is None:
            return None, []
        if isinstance(placement_group, str):
            if placement_group != "current":
                raise ValueError(f"placement_group must be 'current', None or a PlacementGroup, "
                                 f"got {placement_group!r}")
            from ray.util import get_current_placement_group

            placement_group = get_current_placement_group()
            if placement_group is None:
                return None, []
        count = placement_group.bundle_count
        if count < self.num_actors:
            raise BackendError(f"the placement group has {count} bundles, too few for {self.num_actors} evaluator "
                               f"actors (one bundle each, after the driver's): ask the trial for more bundles")
        return placement_group, list(range(count - self.num_actors, count))

    def _new_slot(self, index: int) -> _Slot:
        options = dict(self._options)
        if self._pg is not None:
            from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

            options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                placement_group=self._pg, placement_group_bundle_index=self._bundles[index])
        handle = _remote_actor_class().options(**options).remote(
            self.spec, self.device, self._sys_path, self._preload)
        return _Slot(handle, handle.ready.remote())

    def placement(self) -> tuple[str | None, list[int]]:
        """The id (hex) of the placement group the actors run in (None: none) and their bundle indices."""
        return (self._pg.id.hex() if self._pg is not None else None), list(self._bundles)

    def _wait_pool_ready(self) -> None:
        import ray
        import ray.exceptions as rex

        refs = [s.ready_ref for s in self._slots]
        done, pending = ray.wait(refs, num_returns=len(refs), timeout=self.startup_timeout_s)
        if pending:
            raise BackendError(
                f"only {len(done)} of {len(refs)} evaluator actors started within {self.startup_timeout_s:g}s "
                f"(each asks {self._resource_request()}; cluster has {ray.cluster_resources()}, "
                f"available {ray.available_resources()}); lower num_actors or the per-actor resources, "
                f"or raise startup_timeout_s")
        for slot in self._slots:
            try:
                slot.info = ray.get(slot.ready_ref)
            except rex.RayTaskError as err:
                raise _unwrap_task_error(err) from None
            except _actor_failures() as err:
                raise BackendError(f"an evaluator actor died while starting: {err}") from None

    def _resource_request(self) -> dict[str, Any]:
        req = {"CPU": self._options["num_cpus"], "GPU": self._options["num_gpus"]}
        req.update(self._options.get("resources", {}))
        return req

    def _replace(self, index: int, reason: str) -> None:
        import ray

        old = self._slots[index]
        try:
            ray.kill(old.handle, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
        self._slots[index] = self._new_slot(index)
        self.replacements += 1
        where = f" on node {old.info['node_id']}" if old.info else ""
        logger.warning("replaced evaluator actor %d%s: %s", index, where, reason)

    def _ensure_ready(self) -> None:
        import ray

        for slot in self._slots:
            if slot.info is None:
                slot.info = ray.get(slot.ready_ref, timeout=self.startup_timeout_s)

    def actor_info(self) -> list[dict[str, Any]]:
        """Per actor (in pool order): ``actor_id``, ``node_id``, ``pid``, ``device``."""
        self._check_open()
        self._ensure_ready()
        return [dict(s.info or {}) for s in self._slots]

    def actor_nodes(self) -> list[str]:
        """The Ray node id each actor runs on (in pool order)."""
        return [info["node_id"] for info in self.actor_info()]

    def _check_open(self) -> None:
        if self._closed:
            raise BackendError("RayBackend is closed")

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, genotypes: Any, seed: int) -> ChunkResult:
        import ray
        import ray.exceptions as rex

        self._check_open()
        seed = int(seed)
        bounds = split_bounds(len(genotypes), len(self._slots))
        chunks = [_slice(genotypes, a, b) for a, b in bounds]
        chunk_refs = [c if _nbytes(c) < INLINE_BYTES else ray.put(c) for c in chunks]
        results: list[ChunkResult | None] = [None] * len(bounds)
        failures = [0] * len(bounds)
        running: dict[Any, _Job] = {}
        failure_types = _actor_failures()

        def submit(chunk: int, slot_index: int) -> None:
            slot = self._slots[slot_index]
            now = time.monotonic()
            if slot.info is None:  # a fresh actor: its start-up does not count against timeout_s
                running[slot.ready_ref] = _Job(chunk, slot_index, "ready", now + self.startup_timeout_s)
            else:
                ref = slot.handle.evaluate.remote(chunk_refs[chunk], seed)
                running[ref] = _Job(chunk, slot_index, "eval", now + self.timeout_s)

        def fail(job: _Job, what: str, hung: bool) -> None:
            a, b = bounds[job.chunk]
            failures[job.chunk] += 1
            attempt = failures[job.chunk]
            label = f"chunk {job.chunk} (individuals {a}..{b - 1} of {len(genotypes)})"
            self._replace(job.slot, f"{label} {what} (failure {attempt} of at most {self.max_retries + 1})")
            if attempt > self.max_retries:
                self._cancel(running)
                tries = (f"{attempt} attempt{'s' if attempt > 1 else ''} (max_retries={self.max_retries}; "
                         f"each failed actor was replaced)")
                if hung:
                    raise EvaluationTimeout(f"{label} {what}; gave up after {tries}")
                raise BackendError(f"{label}: {what}; gave up after {tries}")
            submit(job.chunk, job.slot)

        for chunk in range(len(bounds)):
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
                    self._slots[job.slot].info = value
                    submit(job.chunk, job.slot)
                else:
                    results[job.chunk] = from_wire(value)
            now = time.monotonic()
            for ref, job in list(running.items()):
                if job.deadline <= now and ref in running:
                    del running[ref]
                    if job.kind == "ready":
                        fail(job, f"got no actor started within startup_timeout_s={self.startup_timeout_s:g}s",
                             hung=True)
                    else:
                        fail(job, f"returned no result within timeout_s={self.timeout_s:g}s", hung=True)

        assert all(r is not None for r in results)
        return ChunkResult.concat(results)  # type: ignore[arg-type]

    @staticmethod
    def _cancel(running: dict[Any, _Job]) -> None:
        import ray

        for ref, job in list(running.items()):
            if job.kind == "eval":
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - best effort
                    pass
        running.clear()

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Kill the actors; shut Ray down if this backend started (or connected) it."""
        if self._closed:
            return
        self._closed = True
        if self._driver_threads and torch.get_num_threads() == self._driver_threads[1]:
            torch.set_num_threads(self._driver_threads[0])
        try:
            import ray

            if ray.is_initialized():
                for slot in self._slots:
                    try:
                        ray.kill(slot.handle, no_restart=True)
                    except Exception:  # noqa: BLE001
                        pass
        finally:
            self._slots = []
            if self._owns_ray:
                ray_runtime.disconnect()

    def __enter__(self) -> "RayBackend":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["BackendError", "EvaluationTimeout", "EvaluatorActor", "RayBackend", "split_bounds"]
