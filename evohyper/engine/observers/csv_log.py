"""metrics.csv: one row per generation; on resume, rows past the checkpoint are dropped."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


class CsvLogger:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fields: list[str] | None = None

    def on_start(self, search: Any) -> None:
        # Rewrite from the search's own history so a resumed run has exactly one row per generation.
        rows = [r.row() for r in search.history]
        self._fields = list(rows[0]) if rows else None
        with self.path.open("w", newline="") as fh:
            if rows:
                w = csv.DictWriter(fh, fieldnames=self._fields)
                w.writeheader()
                w.writerows(rows)

    def on_generation(self, search: Any, record: Any) -> None:
        row = record.row()
        new = self._fields is None
        if new:
            self._fields = list(row)
        with self.path.open("a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=self._fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)

    def on_end(self, search: Any, result: Any) -> None:
        pass
