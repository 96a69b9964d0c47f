"""Budget: when a search stops, counted in the units shared by evolution and gradient methods."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class Counters:
    """What a search has spent so far (restored on resume)."""

    generation: int = 0
    evaluations: int = 0        # individuals scored
    sample_forwards: int = 0    # forward passes of one sample through one network
    seconds: float = 0.0        # wall-clock spent in the loop, summed over resumes
    nonfinite: int = 0          # NaN/inf fitness values seen (scored as worst)
    task_errors: int = 0        # individuals whose evaluation raised (lenient mode)
    env_steps: int = 0          # environment steps (control tasks: EvalResult.env_steps)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# budget limit -> the counter it bounds
_LIMITS = {"generations": "generation", "evaluations": "evaluations", "sample_forwards": "sample_forwards",
           "seconds": "seconds", "env_steps": "env_steps"}


@dataclass
class Budget:
    """Stop at the first limit reached. ``target_fitness`` is in the task's own direction."""

    generations: int | None = None
    evaluations: int | None = None
    sample_forwards: int | None = None
    seconds: float | None = None
    target_fitness: float | None = None
    env_steps: int | None = None    # environment steps (tasks that report EvalResult.env_steps)

    def __post_init__(self) -> None:
        limits = (self.generations, self.evaluations, self.sample_forwards, self.seconds, self.target_fitness,
                  self.env_steps)
        if all(v is None for v in limits):
            raise ValueError("budget needs at least one of generations, evaluations, sample_forwards, "
                             "seconds, env_steps, target_fitness")
        # A limit that can never be reached (NaN) or is reached before anything runs (0) is refused here.
        for name in ("generations", "evaluations", "sample_forwards", "env_steps"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be an int >= 1 (or null), got {value!r}")
        if self.seconds is not None and not (_finite(self.seconds) and self.seconds > 0):
            raise ValueError(f"seconds must be a finite number > 0 (or null), got {self.seconds!r}")
        if self.target_fitness is not None and not _finite(self.target_fitness):
            raise ValueError(f"target_fitness must be a finite number (or null), got {self.target_fitness!r}")

    def stop_reason(self, c: Counters, best: float | None, maximize: bool) -> str | None:
        if self.target_fitness is not None and best is not None:
            if (best >= self.target_fitness) if maximize else (best <= self.target_fitness):
                return f"target fitness {self.target_fitness} reached"
        for name, counter in _LIMITS.items():
            limit = getattr(self, name)
            if limit is not None and getattr(c, counter) >= limit:
                return f"{name} budget ({limit}) spent"
        return None

    def fraction(self, c: Counters) -> float | None:
        """Largest spent fraction over the counted limits (for progress bars and ETAs)."""
        parts = [getattr(c, counter) / getattr(self, n) for n, counter in _LIMITS.items() if getattr(self, n)]
        return min(1.0, max(parts)) if parts else None


def unbounded_warning(budget: Budget) -> str | None:
    """One line for a budget that only ends on ``target_fitness`` (a search that never reaches it runs
    forever), else None. Printed at the start of a run, not refused: a user may mean it."""
    if budget.target_fitness is None or any(getattr(budget, name) is not None for name in _LIMITS):
        return None
    return (f"warning: budget has only target_fitness ({budget.target_fitness:g}): the run stops only if it "
            f"reaches it; add one of {', '.join(_LIMITS)} to bound it")
