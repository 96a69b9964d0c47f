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
    #: the value of ``budget.target_metric``'s column in the last generation (None: no target metric, or none yet)
    target_metric_value: float | None = None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# budget limit -> the counter it bounds
_LIMITS = {"generations": "generation", "evaluations": "evaluations", "sample_forwards": "sample_forwards",
           "seconds": "seconds", "env_steps": "env_steps"}


@dataclass
class Budget:
    """Stop at the first limit reached. ``target_fitness`` is in the task's own direction.

    ``target_metric: {name: <a metrics.csv column>, above: <number>}`` stops after the first generation whose
    column is strictly above the number: for a goal the fitness does not express, such as "an individual
    solved the task" under a fitness with no fixed maximum (the double pole's damping fitness: ``{name:
    solved_mean, above: 0}``). The column must exist after the first generation (else one-line error)."""

    generations: int | None = None
    evaluations: int | None = None
    sample_forwards: int | None = None
    seconds: float | None = None
    target_fitness: float | None = None
    env_steps: int | None = None    # environment steps (tasks that report EvalResult.env_steps)
    target_metric: dict[str, Any] | None = None   # {name: a metrics.csv column, above: number}

    def __post_init__(self) -> None:
        limits = (self.generations, self.evaluations, self.sample_forwards, self.seconds, self.target_fitness,
                  self.env_steps, self.target_metric)
        if all(v is None for v in limits):
            raise ValueError("budget needs at least one of generations, evaluations, sample_forwards, "
                             "seconds, env_steps, target_fitness, target_metric")
        if self.target_metric is not None:
            t = self.target_metric
            if not (isinstance(t, dict) and set(t) == {"name", "above"} and isinstance(t["name"], str)
                    and t["name"] and _finite(t["above"])):
                raise ValueError(f"target_metric must be {{name: <a metrics.csv column>, above: <number>}}, "
                                 f"got {t!r}")
            self.target_metric = {"name": t["name"], "above": float(t["above"])}
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
        t = self.target_metric
        if t is not None and c.target_metric_value is not None and c.target_metric_value > t["above"]:
            return f"target metric {t['name']} above {t['above']:g} reached ({c.target_metric_value:g})"
        if self.target_fitness is not None and best is not None:
            if (best >= self.target_fitness) if maximize else (best <= self.target_fitness):
                return f"target fitness {self.target_fitness} reached"
        for name, counter in _LIMITS.items():
            limit = getattr(self, name)
            if limit is not None and getattr(c, counter) >= limit:
                return f"{name} budget ({limit}) spent"
        return None

    def observe(self, c: Counters, metrics: dict[str, float]) -> None:
        """Record the target metric's value in this generation's ``metrics`` (a metrics.csv row's own columns)."""
        if self.target_metric is None:
            return
        name = self.target_metric["name"]
        if name not in metrics:
            from evohyper.config.options import ConfigError

            raise ConfigError("budget.target_metric.name", f"{name!r}; allowed: one of this run's metrics.csv "
                                                           f"columns: {', '.join(sorted(metrics)) or '(none)'}")
        c.target_metric_value = float(metrics[name])

    def fraction(self, c: Counters) -> float | None:
        """Largest spent fraction over the counted limits (for progress bars and ETAs)."""
        parts = [getattr(c, counter) / getattr(self, n) for n, counter in _LIMITS.items() if getattr(self, n)]
        return min(1.0, max(parts)) if parts else None


def unbounded_warning(budget: Budget) -> str | None:
    """One line for a budget that only ends on ``target_fitness`` or ``target_metric`` (a search that never
    reaches it runs forever), else None. Printed at the start of a run, not refused: a user may mean it."""
    if any(getattr(budget, name) is not None for name in _LIMITS):
        return None
    targets = []
    if budget.target_fitness is not None:
        targets.append(f"target_fitness ({budget.target_fitness:g})")
    if budget.target_metric is not None:
        targets.append(f"target_metric ({budget.target_metric['name']} > {budget.target_metric['above']:g})")
    return (f"warning: budget has only {' and '.join(targets)}: the run stops only if it reaches it; add one of "
            f"{', '.join(_LIMITS)} to bound it")
