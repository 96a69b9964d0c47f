"""errors.log: every task exception of a lenient run, with its traceback (the run itself scores them worst)."""
from __future__ import annotations

from pathlib import Path
from typing import Any


class ErrorLog:
    """Appends each failing individual's exception to ``path`` (created at the first one)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def on_start(self, search: Any) -> None:
        if self.path.exists():   # a resumed run: later entries may repeat generations past its checkpoint
            with self.path.open("a") as fh:
                fh.write(f"--- resumed after generation {search.counters.generation}\n")

    def on_task_errors(self, search: Any, generation: int, errors: list[tuple[int, str]]) -> None:
        with self.path.open("a") as fh:
            for index, text in errors:
                fh.write(f"generation {generation}, individual {index}: {text.rstrip()}\n\n")

    def on_generation(self, search: Any, record: Any) -> None:
        pass

    def on_end(self, search: Any, result: Any) -> None:
        pass
