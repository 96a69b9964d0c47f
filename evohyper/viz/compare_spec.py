"""What ``evohyper compare`` reads from a compare spec: the runs (label, config, overrides) and the seeds.

Why a module of its own: the runner (``compare.py``) builds them and the report (``compare_report.py``)
reads them; held by the runner, the report had to import it back (a circle, if only for type hints).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CompareRun:
    label: str
    config: str
    overrides: list[str] = field(default_factory=list)


@dataclass
class CompareSpec:
    name: str
    runs: list[CompareRun]
    seeds: list[int]
    title: str = ""
    overrides: list[str] = field(default_factory=list)
    criterion: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    #: the metrics.csv column the curves plot: best_so_far (fitness, the task's direction), or a strategy's
    #: own column (qd_score, coverage, hypervolume: quality-diversity and multi-objective runs)
    metric: str = "best_so_far"
