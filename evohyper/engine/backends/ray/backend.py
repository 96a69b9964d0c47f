"""Ray backend: a pool of evaluator actors, one contiguous chunk of the population each.

Each actor builds its own :class:`~evohyper.engine.evaluation.Evaluator` (task + decoder) once, on its
own device, receives only genotypes (or a gradient strategy's TrainingJob rows) and returns a
``ChunkResult``; phenotypes never cross a process boundary. Every chunk is evaluated with the same
seed, so (tasks being chunk-invariant) the result does not depend on how many actors there are.
Failures and retries: see :mod:`evohyper.engine.backends.ray.pool`.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from evohyper.api.training import TrainingJob
from evohyper.config.build import ComponentsSpec
from evohyper.config.sections import BackendConfig
from evohyper.engine import threads as thread_policy
from evohyper.engine.backends.ray import runtime, wire
from evohyper.engine.backends.ray.pool import ActorPool
from evohyper.engine.errors import BackendError
from evohyper.engine.evaluation import ChunkResult


class RayBackend:
    """Evaluate populations on a pool of Ray actors.

    spec: the task + decoder recipe every actor builds once.
    options: the ``backend:`` section (``BackendConfig``: pool size, resources, address, timeouts...);
      keyword arguments override single options (``RayBackend(spec, num_actors=4)``).
    preload_modules: modules every actor imports before building (user modules that register
      tasks/decoders by decorator, e.g. ``["mypkg.tasks"]``). Entry-point plug-ins need none.
    sys_path: directories prepended to each actor's ``sys.path`` before the imports (they must
      exist on every node; the cluster launcher config syncs the repository to the same path).
    placement_group: ``"current"`` (default): when this code itself runs inside a placement group
      (a Ray Tune trial), the actors go into its last ``num_actors`` bundles (bundle 0 being the
      trial driver), so they are part of the trial's resource request and can neither over-subscribe
      the cluster nor wait forever for resources held by other trials; ``None``: never; or a
      ``PlacementGroup`` to use. A placement group overrides ``scheduling_strategy``.

    If Ray is already initialised in this process it is reused (and left running by :meth:`close`).
    """

    def __init__(self, spec: ComponentsSpec, options: BackendConfig | None = None, *,
                 preload_modules: Sequence[str] = (), sys_path: Sequence[str] = (),
                 placement_group: Any = "current", **overrides: Any):
        options = replace(options or BackendConfig(name="ray"), **overrides)
        self.options = options
        self.spec = spec
        self.num_actors = options.num_actors
        self.device = options.evaluation_device()
        self.timeout_s, self.startup_timeout_s = options.timeout_s, options.startup_timeout_s
        self.pool: ActorPool | None = None
        self._closed = False
        self._pg: Any = None
        self._bundles: list[int] = []
        # The driver only asks and tells between evaluations; with several torch (OpenMP) threads, those
        # spin on after each op and take CPU from actors on the same machine (measured: Ray overhead
        # +29.9% -> +11.8% with 1 thread; reports/performance.md). The thread policy (engine/threads.py)
        # sizes the driver and each actor; the driver's settings are restored by close().
        self.threads = thread_policy.choose(options)
        self._restore_threads = thread_policy.apply(self.threads.driver)
        self._owns_ray = runtime.connect(options.address, num_cpus=options.num_cpus, num_gpus=options.num_gpus)
        try:
            if self._owns_ray and options.address is None:
                self._check_capacity()
            self._pg, self._bundles = self._placement(placement_group)
            actor_options: dict[str, Any] = {
                "num_cpus": options.num_cpus_per_actor, "num_gpus": options.num_gpus_per_actor,
                "max_restarts": 0, "max_task_retries": 0,  # retries are ours: on a fresh actor, counted
                "scheduling_strategy": options.scheduling_strategy}
            if options.resources:
                actor_options["resources"] = dict(options.resources)
            if options.runtime_env:
                actor_options["runtime_env"] = dict(options.runtime_env)
            self.pool = ActorPool(spec, self.num_actors, self.device, actor_options,
                                  placement=(self._pg, self._bundles), timeout_s=options.timeout_s,
                                  startup_timeout_s=options.startup_timeout_s, max_retries=options.max_retries,
                                  sys_path=[os.fspath(p) for p in sys_path], preload_modules=preload_modules,
                                  threads=self.threads.evaluator)
            self.pool.wait_ready()
        except BaseException:
            self.close()
            raise

    @property
    def replacements(self) -> int:
        """Actors replaced so far (deaths + hangs)."""
        return self.pool.replacements if self.pool is not None else 0

    # ------------------------------------------------------------------ placement
    def _check_capacity(self) -> None:
        """On the local Ray this backend started, actors that could never all be placed fail now, not after
        ``startup_timeout_s`` (a cluster may still grow, so a joined one is left to that deadline)."""
        import ray

        total = ray.cluster_resources()
        o = self.options
        for name, per in (("CPU", o.num_cpus_per_actor), ("GPU", o.num_gpus_per_actor), *o.resources.items()):
            if per > 0 and self.num_actors * per > total.get(name, 0.0) + 1e-9:
                raise BackendError(
                    f"num_actors={self.num_actors} actors asking {per:g} {name} each could never all be placed on "
                    f"the local Ray instance ({total.get(name, 0.0):g} {name} in all); lower backend.num_actors or "
                    f"the per-actor resources, or raise backend.num_cpus / num_gpus")
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

    def placement(self) -> tuple[str | None, list[int]]:
        """The id (hex) of the placement group the actors run in (None: none) and their bundle indices."""
        return (self._pg.id.hex() if self._pg is not None else None), list(self._bundles)

    def actor_info(self) -> list[dict[str, Any]]:
        """Per actor (in pool order): ``actor_id``, ``node_id``, ``pid``, ``device``, ``threads`` (its BLAS
        and torch threads, as the actor measures them)."""
        pool = self._open_pool()
        pool.ensure_ready()
        return [dict(s.info or {}) for s in pool.slots]

    def actor_nodes(self) -> list[str]:
        """The Ray node id each actor runs on (in pool order)."""
        return [info["node_id"] for info in self.actor_info()]

    def _open_pool(self) -> ActorPool:
        if self._closed or self.pool is None:
            raise BackendError("RayBackend is closed")
        return self.pool

    # ------------------------------------------------------------------ the two calls
    def _map(self, method: str, population: Any, seed: int, *extra: Any) -> tuple[list[tuple[int, int]], list[Any]]:
        import ray

        pool = self._open_pool()
        n = len(population)
        bounds = wire.split_bounds(n, len(pool.slots))
        chunks = [wire.chunk(population, a, b) for a, b in bounds]
        refs = [c if wire.nbytes(c) < wire.INLINE_BYTES else ray.put(c) for c in chunks]
        labels = [f"chunk {i} (individuals {a}..{b - 1} of {n})" for i, (a, b) in enumerate(bounds)]
        return bounds, pool.run(method, refs, labels, int(seed), *extra)

    def evaluate(self, genotypes: Any, seed: int, state: dict[str, Any] | None = None) -> ChunkResult:
        """Every chunk is scored with the same seed and evaluation state (sent with each call, a few
        numbers: an actor replaced after a death or hang gets it too)."""
        _, results = self._map("evaluate", genotypes, seed, wire.to_wire(state))
        return ChunkResult.concat([wire.from_wire(r) for r in results])

    def train(self, job: TrainingJob, seed: int) -> tuple[ChunkResult, TrainingJob]:
        """Train the job's rows on the actors (one contiguous block of rows each); rows are independent."""
        _, results = self._map("train", job, seed)
        return (ChunkResult.concat([wire.from_wire(r) for r, _ in results]),
                TrainingJob.concat([trained for _, trained in results]))

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Kill the actors; shut Ray down if this backend started (or connected) it."""
        if self._closed:
            return
        self._closed = True
        self._restore_threads()
        try:
            import ray

            if ray.is_initialized() and self.pool is not None:
                self.pool.kill_all()
        finally:
            if self._owns_ray:
                runtime.disconnect()

    def __enter__(self) -> RayBackend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
