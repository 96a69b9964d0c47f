"""metrics.csv: one row per generation, the run's whole history (checkpoints do not carry it).

On resume, the rows past the checkpoint's generation (and a row torn by a kill) are dropped, so the
file continues exactly as an uninterrupted run's: rows are kept byte for byte, never re-formatted."""
from __future__ import annotations

import csv
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("evohyper.run")


def _kept_lines(path: Path, generation: int) -> tuple[list[str], list[str] | None]:
    """The header and rows 1..``generation`` of an existing metrics.csv, as written; the header's fields."""
    if generation <= 0 or not path.is_file():
        return [], None
    with path.open(newline="") as fh:
        lines = fh.readlines()
    if not lines or not lines[0].endswith("\n"):
        return [], None
    fields = next(csv.reader([lines[0]]))
    kept = [lines[0]]
    for line in lines[1:]:
        if not line.endswith("\n"):
            break                        # torn by a kill mid-write
        row = next(csv.reader([line]))
        if len(row) != len(fields) or row[0] != str(len(kept)) or len(kept) > generation:
            break
        kept.append(line)
    if len(kept) - 1 != generation:
        log.warning("%s holds %d of the checkpoint's %d generations: the missing rows are lost", path,
                    len(kept) - 1, generation)
    return kept, fields


class CsvLogger:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fields: list[str] | None = None

    def on_start(self, search: Any) -> None:
        lines, self._fields = _kept_lines(self.path, search.counters.generation)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", newline="") as fh:
            fh.write("".join(lines))
        os.replace(tmp, self.path)

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
