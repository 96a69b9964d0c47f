"""Writes checkpoints on a time-based cadence (or every k generations) and at the end, keeping the newest n.

Default: at most one checkpoint every ``seconds`` of wall-clock, and never more often than 50 times the
last save took, so saving costs <= 2% of a run however fast its generations are (issue 21: a checkpoint
every generation made a fast run spend most of its time writing). ``every`` (generations) is the
explicit alternative. The final state is always saved, at the end of the run (so the last checkpoint's
``seconds`` counts the last generation's observers too, as the run's result does).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evohyper.engine.checkpoint import checkpoint_path, prune, remove_temp_files, save_state

#: the interval is at least this many times the last save's duration: saving costs <= 1/50 = 2% of the run
OVERHEAD_FACTOR = 50.0


def _ending(search: Any) -> bool:
    """Has the search spent its budget with this generation (so ``on_end`` comes next)?"""
    budget = getattr(search, "budget", None)
    return budget is not None and budget.stop_reason(search.counters, search.best_fitness, search.maximize) is not None


class Checkpointer:
    def __init__(self, directory: str | Path, every: int | None = None, keep: int = 3, seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        if (every is not None and every < 1) or keep < 1:
            raise ValueError("checkpoint every and keep must be >= 1")
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"checkpoint seconds must be a finite number > 0, got {seconds!r}")
        self.directory, self.every, self.keep = Path(directory), every, keep
        self.seconds, self.clock = float(seconds), clock
        self._interval = self.seconds
        self._last = 0.0
        self._saved: tuple[int, float] | None = None   # (generation, seconds) of the newest checkpoint on disk

    def save(self, search: Any) -> Path:
        start = self.clock()
        path = save_state(search.state_dict(), checkpoint_path(self.directory, search.counters.generation))
        prune(self.directory, self.keep)
        self._last = self.clock()
        self._interval = max(self.seconds, OVERHEAD_FACTOR * (self._last - start))
        self._saved = (search.counters.generation, search.counters.seconds)
        return path

    def on_start(self, search: Any) -> None:
        remove_temp_files(self.directory)   # left by a kill during a write
        self._last = self.clock()
        c = search.counters
        self._saved = (c.generation, c.seconds) if c.generation else None   # a resume: its checkpoint exists

    def _due(self, generation: int) -> bool:
        if self.every is not None:
            return generation % self.every == 0
        return self.clock() - self._last >= self._interval

    def on_generation(self, search: Any, record: Any) -> None:
        if self._due(record.generation) and not _ending(search):   # the last one is on_end's (written once)
            self.save(search)

    def on_end(self, search: Any, result: Any) -> None:
        if self._saved != (search.counters.generation, search.counters.seconds):
            self.save(search)
