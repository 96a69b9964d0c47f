"""archive/: what a quality-diversity or multi-objective strategy keeps beyond one best individual.

Its own observer, not part of ``BestExporter``: ``best/`` is one individual decoded and scored where the
evaluator lives (and a gradient run swaps that exporter for ``DecoderExporter``), while an archive or a
front is the strategy's own state, written by the strategy (``Strategy.write_archive``) without decoding
anything here. At the end of every run, a resumed one included (whose budget may already be spent), so the
files always match the newest state.

Noisy elites: with re-evaluation on (``evaluation.reevaluate``; by default for a task that declares stochastic
evaluation) the archive just written is read back (``engine.archive_files``) and every member is scored on the
same fresh episodes by the re-evaluation observer (``Reevaluator.archive_point``: its seeds, its batched
evaluation path), and the scores are written beside the search's (``reevaluated`` in the ``.pt``/``.json``
files, ``reevaluated_*`` csv columns). That observer's choice, the member best on the re-evaluated first
objective, is then what ``best/`` exports (this observer runs before the best exporter). The search's
evaluation state is saved beside the files (``evaluation_state.pt``) so a member's replay plays as it was scored.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from evohyper.engine import archive_files

log = logging.getLogger("evohyper.run")


class ArchiveExporter:
    """Calls ``search.strategy.write_archive(directory)`` when the search ends, then re-evaluates the
    members with ``reevaluator`` (when given)."""

    def __init__(self, directory: str | Path, reevaluator: Any = None, info: Any = None):
        self.directory = Path(directory)
        self.reevaluator, self.info = reevaluator, info
        self.written: list[Path] = []

    def on_start(self, search: Any) -> None:
        pass

    def on_generation(self, search: Any, record: Any) -> None:
        pass

    def on_end(self, search: Any, result: Any) -> None:
        write = getattr(search.strategy, "write_archive", None)
        self.written = [Path(p) for p in write(self.directory)] if write is not None else []
        if not self.written or not archive_files.exists(self.directory):
            if self.reevaluator is not None and self.reevaluator.archive_end:
                self.reevaluator.end_point(search)   # nothing to re-evaluate: the usual candidates
            return
        state = search.evaluation_state
        path = self.directory / archive_files.STATE_FILE
        path.unlink(missing_ok=True)
        if state:
            torch.save({k: v.detach().cpu() for k, v in state.items()}, path)
            self.written.append(path)
        log.info("archive: %d files in %s", len(self.written), self.directory)
        if self.reevaluator is None or not self.reevaluator.archive_end:
            return
        archive = archive_files.read(self.directory, search.strategy, self.info)
        values = self.reevaluator.archive_point(search, archive)
        if values is not None:
            final = self.reevaluator.final.reevaluation
            archive_files.add_reevaluation(archive, values, {
                "episodes": final["episodes"], "seed": final["seed"], "generation": final["generation"],
                **self.reevaluator.archive_about, "best": archive.name(archive.best())})
