"""A run directory's layout, owned here: where a run writes each file and how each is read back.

Why one module: the runner creates the directory and writes ``config.yaml``, the observers write the
metrics, checkpoints and ``best/``, and resume, ``show`` (and its replay), ``export``, ``compare`` and the
run report read them back. When each of them spelled the file names itself, a renamed file broke a reader
nobody thought of. Everything that names a file of a run directory goes through ``RunDir``::

    <output.runs_dir>/<name>-<YYYYmmdd-HHMMSS>[-n]/
      config.yaml                 the resolved config: resume, show, export and compare rebuild from it
      metrics.csv                 one row per generation (observers/csv_log.py); the run's whole history
      errors.log                  a lenient run's task exceptions, with tracebacks
      reevaluation.csv            evaluations on fresh episodes (evaluation.reevaluate)
      checkpoints/checkpoint-<generation>.pt    the newest few (engine/checkpoint.py: format, checksum)
      best/phenotype.json         how the exported individual was scored, its test metrics, its pictures
      best/weights.pt             its phenotype's tensors
      best/genotype.pt | best/genotype.json     its genotype (a tensor, or a strategy's JSON description)
      best/decoder_weights.pt     instead of one individual: a decoder that trained itself
      best/evaluation_state.pt, best/reevaluation_state.pt   the evaluation state it was scored with
      archive/                    a quality-diversity archive / Pareto front (Strategy.write_archive), at run end
      tensorboard/                (output.tensorboard)
      report.md, fitness.png      written by the caller (the CLI) with evohyper.viz
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from evohyper.config import Config, ConfigError, apply_overrides, load_raw, validate
from evohyper.engine.checkpoint import list_checkpoints, load_latest

CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "phenotype.json"
WEIGHTS_FILE = "weights.pt"
GENOTYPE_TENSOR_FILE = "genotype.pt"
GENOTYPE_JSON_FILE = "genotype.json"
DECODER_WEIGHTS_FILE = "decoder_weights.pt"
#: the evaluation state the best individual was scored with, beside its weights (tensors only)
STATE_FILE = "evaluation_state.pt"
#: the evaluation state the re-evaluation of the exported individual played its episodes with
REEVALUATION_STATE_FILE = "reevaluation_state.pt"


@dataclass(frozen=True)
class RunDir:
    """One run directory: the paths of its parts, and readers for what the engine wrote there."""

    path: Path

    # ------------------------------------------------------------------ create / open
    @classmethod
    def create(cls, config: Config) -> RunDir:
        """A new ``<runs_dir>/<name>-<time>[-n]`` holding the resolved ``config.yaml``; a place that cannot
        be written is a ConfigError on ``output.runs_dir`` (nothing has started yet)."""
        base = Path(config.output.runs_dir)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = base / f"{config.name}-{stamp}"
        n = 1
        while path.exists():
            n += 1
            path = base / f"{config.name}-{stamp}-{n}"
        try:
            path.mkdir(parents=True)
            (path / CONFIG_FILE).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
        except OSError as exc:   # e.g. a read-only place such as /proc
            raise ConfigError("output.runs_dir", f"cannot create the run directory {str(path)!r}: "
                                                 f"{exc.strerror or exc}") from None
        return cls(path)

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run directory; FileNotFoundError (one line, naming it) when ``path`` is not one."""
        run = cls(Path(path))
        if not run.config_file.is_file():
            raise FileNotFoundError(f"{path} is not a run directory (no {CONFIG_FILE})")
        return run

    # ------------------------------------------------------------------ where things go
    @property
    def config_file(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def errors(self) -> Path:
        return self.path / "errors.log"

    @property
    def reevaluation(self) -> Path:
        return self.path / "reevaluation.csv"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def best(self) -> Path:
        return self.path / "best"

    @property
    def archive(self) -> Path:
        """What a quality-diversity or multi-objective strategy keeps (``Strategy.write_archive``)."""
        return self.path / "archive"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def report(self) -> Path:
        return self.path / "report.md"

    @property
    def fitness_plot(self) -> Path:
        return self.path / "fitness.png"

    # ------------------------------------------------------------------ the config
    def raw_config(self) -> dict[str, Any]:
        """``config.yaml`` as written (every default listed), for reports; not validated."""
        return yaml.safe_load(self.config_file.read_text())

    def config(self, overrides: list[str] | None = None) -> Config:
        """The run's validated config (``overrides``: ``key=value`` items applied first)."""
        raw = load_raw(self.config_file)
        return validate(_strip_resolved(apply_overrides(raw, overrides) if overrides else raw))

    def write_config(self, config: Config) -> None:
        """Replace ``config.yaml`` whole (written beside it, then renamed: a kill leaves the old one)."""
        tmp = self.config_file.with_name(CONFIG_FILE + ".tmp")
        tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
        os.replace(tmp, self.config_file)

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_files(self) -> list[Path]:
        """Checkpoint files, newest generation first (none: the run stopped before its first)."""
        return list_checkpoints(self.checkpoints)

    def latest_checkpoint(self, accept: Callable[[dict[str, Any]], None] | None = None
                          ) -> tuple[dict[str, Any], Path]:
        """The newest checkpoint that verifies and that ``accept`` takes (``checkpoint.load_latest``)."""
        return load_latest(self.checkpoints, accept=accept)

    # ------------------------------------------------------------------ best/
    def best_summary(self) -> dict[str, Any] | None:
        """``best/phenotype.json`` (how the best was scored, test metrics, pictures), or None before the
        run exported one."""
        path = self.best / SUMMARY_FILE
        return json.loads(path.read_text()) if path.is_file() else None

    def best_genotype_json(self) -> Any:
        """``best/genotype.json`` (a strategy's description of a non-tensor genotype), or None."""
        path = self.best / GENOTYPE_JSON_FILE
        return json.loads(path.read_text()) if path.is_file() else None

    def best_genotype(self, strategy: Any) -> Any:
        """The exported genotype: read back by ``strategy.import_genotype`` from ``genotype.json``, else the
        tensor of ``genotype.pt``; FileNotFoundError when the run exported neither."""
        data = self.best_genotype_json()
        if data is not None:
            return strategy.import_genotype(data)
        if (self.best / GENOTYPE_TENSOR_FILE).is_file():
            return torch.load(self.best / GENOTYPE_TENSOR_FILE, weights_only=True)
        raise FileNotFoundError(f"{self.path} has no best/{GENOTYPE_JSON_FILE} or best/{GENOTYPE_TENSOR_FILE} "
                                "(did the run finish?)")

    def best_state(self, name: str | None) -> dict[str, torch.Tensor] | None:
        """An evaluation state saved beside the best (``name`` as ``phenotype.json`` records it; None: none)."""
        return torch.load(self.best / name, weights_only=True) if name else None

    def pictures(self) -> list[Path]:
        """The best individual's pictures that ``phenotype.json`` lists and that exist."""
        listed = (self.best_summary() or {}).get("pictures", [])
        return [self.path / p for p in listed if (self.path / p).is_file()]


def new_run_dir(config: Config) -> Path:
    """``RunDir.create(config).path`` (the name the runner has always exported)."""
    return RunDir.create(config).path


def load_run_config(run_dir: str | Path) -> Config:
    """The validated config of a run directory (its resolved ``config.yaml``)."""
    return RunDir.open(run_dir).config()


def _strip_resolved(raw: dict[str, Any]) -> dict[str, Any]:
    """A resolved config lists every default; None-valued budget entries are simply defaults."""
    raw = dict(raw)
    raw["budget"] = {k: v for k, v in raw.get("budget", {}).items() if v is not None}
    return raw
