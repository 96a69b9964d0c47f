"""Test-only task for the Ray Tune tests (imported as a plug-in by trial drivers and evaluator actors).

``tunetest_sphere``: fitness ``sum(x^2)`` (minimised) on a ``dim``-vector. Options make it misbehave
or leave traces: ``fail_flag`` + ``fail_at_call`` raise once (the first process to reach that call
creates the flag file atomically and raises; later calls and processes never do); ``log_dir`` appends
``pid event time`` lines (setup, each evaluate) so a test can see when each actor was alive;
``sleep_s`` slows every evaluation down (for kill-and-resume tests).
"""
from __future__ import annotations

import os
import time
from typing import Any

from evohyper.api.phenotypes import VectorSpec
from evohyper.api.registry import tasks
from evohyper.api.task import EvalResult, Task


def _first_time(flag: str) -> bool:
    try:
        fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


@tasks.register("tunetest_sphere")
class TuneTestSphere(Task):
    """sum(x^2) on a dim-vector, with test hooks (fail once, trace, sleep)."""

    maximize = False

    def __init__(self, dim: int = 4, fail_flag: str = "", fail_at_call: int = 0, log_dir: str = "",
                 sleep_s: float = 0.0):
        self.dim, self.fail_flag, self.fail_at_call = int(dim), fail_flag, int(fail_at_call)
        self.log_dir, self.sleep_s, self.calls = log_dir, float(sleep_s), 0

    def target(self, network: dict[str, Any]) -> VectorSpec:
        return VectorSpec(self.dim)

    def _log(self, event: str) -> None:
        if self.log_dir:
            with open(os.path.join(self.log_dir, f"{os.getpid()}.log"), "a") as fh:
                fh.write(f"{os.getpid()} {event} {time.time():.6f}\n")

    def setup(self, device: Any = "cpu") -> None:
        super().setup(device)
        self._log("setup")

    def evaluate(self, phenotypes, seed: int) -> EvalResult:
        self.calls += 1
        self._log("eval")
        if self.sleep_s:
            time.sleep(self.sleep_s)
        if self.fail_flag and self.calls == self.fail_at_call and _first_time(self.fail_flag):
            raise RuntimeError("injected failure (once)")
        x = phenotypes.x.double()
        return EvalResult(fitness=(x ** 2).sum(dim=1), metrics={})
