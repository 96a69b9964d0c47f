"""Writes a checkpoint every k generations and at the end, keeping the newest n."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from evohyper.engine.checkpoint import checkpoint_path, prune, remove_temp_files, save_state


class Checkpointer:
    def __init__(self, directory: str | Path, every: int = 1, keep: int = 3):
        if every < 1 or keep < 1:
            raise ValueError("checkpoint every and keep must be >= 1")
        self.directory, self.every, self.keep = Path(directory), every, keep

    def save(self, search: Any) -> Path:
        path = save_state(search.state_dict(), checkpoint_path(self.directory, search.counters.generation))
        prune(self.directory, self.keep)
        return path

    def on_start(self, search: Any) -> None:
        remove_temp_files(self.directory)   # left by a kill during a write

    def on_generation(self, search: Any, record: Any) -> None:
        if record.generation % self.every == 0:
            self.save(search)

    def on_end(self, search: Any, result: Any) -> None:
        if search.counters.generation % self.every != 0:
            self.save(search)
