"""Progress bar with ETA (tqdm), driven by the budget's spent fraction."""
from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

_STEPS = 1000


class ProgressBar:
    def __init__(self, stream: Any = None, disable: bool = False):
        self.stream = stream or sys.stderr
        self.disable = disable
        self._bar: tqdm | None = None

    def on_start(self, search: Any) -> None:
        known = search.budget.fraction(search.counters) is not None
        self._bar = tqdm(total=_STEPS if known else None, file=self.stream, disable=self.disable,
                         desc=search.name, unit="" if known else "gen", dynamic_ncols=True,
                         bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]"
                         if known else None)
        self._sync(search)

    def _sync(self, search: Any) -> None:
        frac = search.budget.fraction(search.counters)
        if self._bar is None:
            return
        if frac is not None:
            self._bar.n = int(frac * _STEPS)
        else:
            self._bar.n = search.counters.generation
        self._bar.refresh()

    def on_generation(self, search: Any, record: Any) -> None:
        if self._bar is None:
            return
        self._bar.set_postfix_str(f"gen {record.generation} best {record.best_so_far:.4g} mean {record.mean:.4g}",
                                  refresh=False)
        self._sync(search)

    def on_end(self, search: Any, result: Any) -> None:
        if self._bar is not None:
            self._sync(search)
            self._bar.close()
            self._bar = None
