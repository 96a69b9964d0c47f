"""TensorBoard event files (scalars per generation), via torch's SummaryWriter."""
from __future__ import annotations

from pathlib import Path
from typing import Any


class TensorBoardLogger:
    def __init__(self, log_dir: str | Path):
        self.log_dir = Path(log_dir)
        self._writer = None

    def on_start(self, search: Any) -> None:
        from torch.utils.tensorboard import SummaryWriter  # imported lazily: it pulls in tensorboard
        # purge_step drops events past the checkpoint, so a resumed run has no duplicates.
        self._writer = SummaryWriter(str(self.log_dir), purge_step=search.counters.generation + 1
                                     if search.counters.generation else None)

    def on_generation(self, search: Any, record: Any) -> None:
        for key, value in record.row().items():
            if key != "generation":
                self._writer.add_scalar(key, value, record.generation)

    def on_end(self, search: Any, result: Any) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
