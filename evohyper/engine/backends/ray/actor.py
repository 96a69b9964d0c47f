"""The evaluator actor: builds an Evaluator once on its own device, then evaluates or trains chunks."""
from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from evohyper.config.build import ComponentsSpec
from evohyper.engine import threads as thread_policy
from evohyper.engine.backends.ray.wire import from_wire, to_wire
from evohyper.engine.evaluation import Evaluator


class EvaluatorActor:
    """Body of one evaluator actor (wrapped with ``ray.remote`` by :func:`remote_actor_class`)."""

    def __init__(self, spec: ComponentsSpec, device: str, sys_path: Sequence[str] = (),
                 preload_modules: Sequence[str] = (), threads: thread_policy.Threads | None = None):
        self._init_error: BaseException | None = None
        self.evaluator: Evaluator | None = None
        try:
            if threads is not None:   # libraries loaded from here on start their pools at this size
                thread_policy.export_env(threads)
            for path in reversed(list(sys_path)):
                if path not in sys.path:
                    sys.path.insert(0, path)
            for module in preload_modules:  # e.g. a user module registering tasks by decorator
                importlib.import_module(module)
            self.evaluator = Evaluator(spec, device)
            if threads is not None:   # after the build: threadpoolctl reaches only libraries already loaded
                thread_policy.apply(threads)
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
                "device": str(self.evaluator.device), "threads": asdict(thread_policy.current())}

    def evaluate(self, genotypes: Any, seed: int, state: Any = None) -> Any:
        assert self.evaluator is not None
        return to_wire(self.evaluator.evaluate(from_wire(genotypes), seed, from_wire(state)))

    def train(self, job: Any, seed: int) -> Any:
        assert self.evaluator is not None
        result, trained = self.evaluator.train(job, seed)
        return to_wire(result), trained


_REMOTE_ACTOR: Any = None


def remote_actor_class() -> Any:
    """``ray.remote(EvaluatorActor)``, made once per process (Ray is imported here, on first use)."""
    global _REMOTE_ACTOR
    if _REMOTE_ACTOR is None:
        import ray

        _REMOTE_ACTOR = ray.remote(EvaluatorActor)
    return _REMOTE_ACTOR
