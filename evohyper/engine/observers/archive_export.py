"""archive/: what a quality-diversity or multi-objective strategy keeps beyond one best individual.

Its own observer, not part of ``BestExporter``: ``best/`` is one individual decoded and scored where the
evaluator lives (and a gradient run swaps that exporter for ``DecoderExporter``), while an archive or a
front is the strategy's own state, written by the strategy (``Strategy.write_archive``) without decoding
anything here. At the end of every run, a resumed one included (whose budget may already be spent), so the
files always match the newest state."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("evohyper.run")


class ArchiveExporter:
    """Calls ``search.strategy.write_archive(directory)`` when the search ends."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.written: list[Path] = []

    def on_start(self, search: Any) -> None:
        pass

    def on_generation(self, search: Any, record: Any) -> None:
        pass

    def on_end(self, search: Any, result: Any) -> None:
        write = getattr(search.strategy, "write_archive", None)
        if write is None:
            return
        self.written = [Path(p) for p in write(self.directory)]
        if self.written:
            log.info("archive: %d files in %s", len(self.written), self.directory)
