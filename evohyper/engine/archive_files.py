"""One reader of a run's ``archive/`` (a quality-diversity archive or a Pareto front), whatever strategy wrote it.

Why one reader: ``show --cell``, ``export --cell``, the run report and the end-of-run re-evaluation of the
archive all need the same members in the same order, and three strategy families write them (vector QD on
pyribs, vector NSGA-II, NEAT MAP-Elites / NEAT-NSGA-II). The writers own their files; this module owns the
contract they are read by, and refuses anything else in one line (``ArchiveError``).

The on-disk contract (``<run>/archive/``; objectives and descriptors float64, loaded ``weights_only``)::

  elites.pt    a QD archive of vector genotypes, a dict:
               solutions [n, D]     the evaluated genotypes (float32), one row per elite
               objectives [n]       the archive's objective, in the engine's direction (higher is better:
                                    a minimised task's objectives are negated, as pyribs sees them)
               measures [n, d]      the elites' descriptors;  cells [n] int64: pyribs' cell index
               descriptor_names [d], ranges [d, 2], qd_score_offset, archive "grid" + dims [d] | "cvt" + centroids
               (optional) reevaluated [n] (NaN: a member the end re-evaluation's allowance left unscored), reevaluation
               {episodes, seed, generation, members (scored), archive_members, bound (when cut), best}
  elites.json  a QD archive of non-tensor genotypes (NEAT genomes): {"descriptors": [names], "dims": [...]
               (grid only), "ranges", "qd_score_offset", "elites": [{"index": cell index, "cell": [grid
               coordinates] (grid only), "objective": engine direction, "descriptors": {name: value} or
               [values], "genotype": Strategy.export_genotype(genome), "reevaluated": float (optional)}],
               "reevaluation": {...} (optional)}
  front.pt     a Pareto front, a dict: objectives [F, m] in each objective's own (task) direction, names [m],
               reference_point [m], hypervolume, solutions [F, D] (vector genotypes; absent when the strategy
               writes front.json), (optional) reevaluated [F, m], reevaluation {...}
  front.json   a front of non-tensor genotypes: {"names", "reference_point", "hypervolume", "members":
               [{"member": k, "objectives": {name: value} or [values], "genotype": ..., "reevaluated":
               {name: value} (optional)}], "reevaluation": {...} (optional)}
  archive.csv / front.csv   one row per member in the order above (the end-of-run re-evaluation appends
               ``reevaluated_objective`` / ``reevaluated_<name>`` columns);  heatmap.png / front.png: pictures
  evaluation_state.pt       the search's evaluation state at the end (observation normalisation), if any:
               a member's replay plays with it

Members come in the files' order: elites by cell index, a front by its first objective (ascending), and
``Archive.objectives`` is ``[n, m]`` (m = 1 for an archive) in the directions ``Archive.maximize`` gives.
A ``.json`` file is preferred over its ``.pt`` twin (it carries the genotypes ``front.pt`` leaves out).
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evohyper.api.task import TaskInfo

#: the files read, in the order they are looked for (a .json before its .pt twin)
FILES = ("elites.json", "elites.pt", "front.json", "front.pt")
PICTURES = ("heatmap.png", "front.png")
TABLES = {"elites": "archive.csv", "front": "front.csv"}
STATE_FILE = "evaluation_state.pt"


class ArchiveError(ValueError):
    """A run's archive is missing, garbled, or has no member by that name (one line)."""


@dataclass
class Archive:
    """A run's archive or front, read back: one row per member, genotypes ready for the run's decoder."""

    kind: str                              # "elites" (quality diversity) | "front" (multi-objective)
    path: Path                             # the file read
    objective_names: list[str]
    objectives: torch.Tensor               # [n, m] float64
    maximize: list[bool]                   # direction of each objectives column as stored
    genotypes: Any                         # [n, D] tensor, or a list of the strategy's genotypes
    descriptor_names: list[str] = field(default_factory=list)
    measures: torch.Tensor | None = None   # [n, d] (elites)
    cells: torch.Tensor | None = None      # [n] int64 cell index (elites)
    dims: list[int] | None = None          # a grid archive's cells per descriptor
    reevaluated: torch.Tensor | None = None   # [n, m], the same directions as ``objectives``
    reevaluation: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)   # qd_score_offset, reference_point, hypervolume, ...

    def __len__(self) -> int:
        return int(self.objectives.shape[0])

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def label(self) -> str:
        return "--cell" if self.kind == "elites" else "--member"

    def grid(self, row: int) -> tuple[int, ...] | None:
        """Grid coordinates of member ``row`` (None: not a grid archive)."""
        if self.dims is None or self.cells is None:
            return None
        return tuple(int(i) for i in np.unravel_index(int(self.cells[row]), self.dims))

    def name(self, row: int) -> str:
        """How a user selects member ``row``: ``cell 1234 (24,34)`` or ``member 3``."""
        if self.kind == "front":
            return f"member {row}"
        grid = self.grid(row)
        return f"cell {int(self.cells[row])}" + ("" if grid is None else f" ({','.join(map(str, grid))})")

    def best(self, reevaluated: bool = True) -> int | None:
        """The row best on the first objective (re-evaluated when there is a re-evaluation with a finite score;
        else the search's, which also picks among members whose re-evaluation all failed; the first of equals)."""
        scored = reevaluated and self.reevaluated is not None and bool(torch.isfinite(self.reevaluated[:, 0]).any())
        values = self.reevaluated if scored else self.objectives
        if len(self) == 0:
            return None
        first = values[:, 0] if self.maximize[0] else -values[:, 0]
        first = torch.where(torch.isfinite(first), first, torch.full_like(first, -torch.inf))
        return int(torch.argmax(first))

    def genotype(self, row: int) -> Any:
        return self.genotypes[row].clone() if isinstance(self.genotypes, torch.Tensor) else self.genotypes[row]

    def select(self, cell: str | None = None, member: str | None = None) -> int:
        """The row ``--cell I`` (cell index), ``--cell i,j`` (grid coordinates) or ``--member K`` names."""
        option, text = ("--cell", cell) if cell is not None else ("--member", member)
        if text is None:
            raise ArchiveError("give --cell or --member")
        if (option == "--cell") != (self.kind == "elites"):
            other = "--member K (a front's member)" if self.kind == "front" else "--cell I (an archive's cell)"
            what = "Pareto front" if self.kind == "front" else "quality-diversity archive"
            raise ArchiveError(f"{option} {text}: this run's archive is a {what}; use {other}")
        if len(self) == 0:
            raise ArchiveError(f"{option} {text}: the {self.kind} is empty ({self.path})")
        try:
            parts = [int(p) for p in str(text).split(",")]
        except ValueError:
            raise ArchiveError(f"{option} {text}: not an integer or comma-separated integers") from None
        if option == "--member":
            if len(parts) != 1 or not 0 <= parts[0] < len(self):
                raise ArchiveError(f"--member {text}: no such member; the front has {len(self)} "
                                   f"(0 to {len(self) - 1})")
            return parts[0]
        if len(parts) == 1:
            index = parts[0]
        elif self.dims is None:
            raise ArchiveError(f"--cell {text}: grid coordinates need a grid archive; this one is not: "
                               "give a cell index")
        elif len(parts) != len(self.dims) or not all(0 <= p < d for p, d in zip(parts, self.dims)):
            raise ArchiveError(f"--cell {text}: not a cell of the {' x '.join(map(str, self.dims))} grid")
        else:
            index = int(np.ravel_multi_index(parts, self.dims))
        hits = torch.nonzero(self.cells == index).flatten()
        if len(hits):
            return int(hits[0])
        nearest = int(torch.argmin((self.cells - index).abs()))
        example = ",".join(map(str, self.grid(nearest))) if len(parts) > 1 else str(int(self.cells[nearest]))
        return _raise(f"--cell {text}: empty cell; {len(self)} elites, e.g. {example}")


def _raise(message: str) -> int:
    raise ArchiveError(message)


def find(directory: str | Path) -> Path:
    """The archive file of ``directory`` (``FILES`` order); ArchiveError when there is none."""
    directory = Path(directory)
    for name in FILES:
        if (directory / name).is_file():
            return directory / name
    raise ArchiveError(f"{directory} holds no archive ({', '.join(FILES)}): the run's strategy keeps none, "
                       "or the run has not ended")


def exists(directory: str | Path) -> bool:
    return any((Path(directory) / name).is_file() for name in FILES)


def read(directory: str | Path, strategy: Any = None, info: TaskInfo | None = None,
         genotypes: bool = True) -> Archive:
    """The archive under ``directory``; ``strategy`` reads ``.json`` genotypes back (``import_genotype``) and
    ``info`` gives a front's objective directions (default: all maximised); ``genotypes=False`` leaves the
    genotypes out (None: a summary, no strategy needed)."""
    path = find(directory)
    try:
        if path.suffix == ".pt":
            data = torch.load(path, weights_only=True, map_location="cpu")
        else:
            data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise TypeError(f"a {type(data).__name__}, not a dict")
        kind = path.stem if path.stem == "front" else "elites"
        archive = (_elites if kind == "elites" else _front)(path, data, strategy if genotypes else _NoGenotypes, info)
        if not genotypes:
            archive.genotypes = None
        return archive
    except ArchiveError:
        raise
    except Exception as exc:  # noqa: BLE001 - a garbled file is one line naming it
        cause = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ArchiveError(f"{path} is not a readable archive ({type(exc).__name__}: {cause})") from None


class _NoGenotypes:
    """Stands in for the strategy when the genotypes are not wanted."""

    @staticmethod
    def import_genotype(data: Any) -> None:
        return None


def _float(rows: Any, n: int, width: int | None = None) -> torch.Tensor:
    t = torch.as_tensor(rows, dtype=torch.float64)
    return t.reshape(n, -1) if width is None else t.reshape(n, width)


def _genotypes(items: list[dict[str, Any]], strategy: Any, path: Path) -> list[Any]:
    if strategy is None:
        raise ArchiveError(f"{path}: genotypes in JSON need the run's strategy to be read back")
    return [strategy.import_genotype(item["genotype"]) for item in items]


def _values(entry: Any, names: list[str]) -> list[float]:
    """``{name: value}`` (in ``names`` order) or a list, as floats."""
    if isinstance(entry, dict):
        return [_number(entry[k]) for k in names]
    return [float(v) for v in np.atleast_1d(np.asarray(entry, dtype=np.float64))]


def _number(value: Any) -> float:
    """A JSON number, null read as NaN (a member the end re-evaluation's allowance left unscored)."""
    return math.nan if value is None else float(value)


def _elites(path: Path, data: dict[str, Any], strategy: Any, info: TaskInfo | None) -> Archive:
    names = [str(n) for n in (data.get("descriptor_names") or data.get("descriptors") or [])]
    dims = data.get("dims")
    extra = {k: data[k] for k in ("qd_score_offset", "ranges", "archive") if k in data}
    if path.suffix == ".pt":
        n = int(data["objectives"].shape[0])
        objectives, genotypes = _float(data["objectives"], n, 1), data["solutions"].reshape(n, -1)
        measures, cells = _float(data["measures"], n, len(names) or None), data["cells"].to(torch.int64).reshape(n)
        re = data.get("reevaluated")
        reevaluated = None if re is None else _float(re, n, 1)
        if data.get("archive") == "cvt":
            dims = None
    else:
        items = list(data["elites"])
        n = len(items)
        objectives = _float([float(e["objective"]) for e in items], n, 1)
        measures = _float([_values(e["descriptors"], names) for e in items], n, len(names) or None) if n \
            else torch.zeros(0, len(names), dtype=torch.float64)
        cells = torch.tensor([int(e["index"]) for e in items], dtype=torch.int64)
        genotypes = _genotypes(items, strategy, path)
        reevaluated = _float([_number(e["reevaluated"]) for e in items], n, 1) \
            if n and all("reevaluated" in e for e in items) else None
    order = torch.argsort(cells, stable=True)
    if not torch.equal(order, torch.arange(n)):
        raise ArchiveError(f"{path}: elites are not in cell order")
    return Archive("elites", path, ["objective"], objectives, [True], genotypes, names, measures, cells,
                   None if dims is None else [int(d) for d in dims], reevaluated, data.get("reevaluation"), extra)


def _front(path: Path, data: dict[str, Any], strategy: Any, info: TaskInfo | None) -> Archive:
    names = [str(n) for n in data["names"]]
    m = len(names)
    maximize = [o.maximize for o in info.objectives] if info is not None and info.objectives else [True] * m
    if len(maximize) != m:
        raise ArchiveError(f"{path}: {m} objectives {names}; the task declares {len(maximize)}")
    extra = {"reference_point": [float(v) for v in torch.as_tensor(data.get("reference_point", []),
                                                                   dtype=torch.float64).reshape(-1)],
             "hypervolume": float(data["hypervolume"]) if data.get("hypervolume") is not None else None}
    if path.suffix == ".pt":
        n = int(data["objectives"].shape[0])
        if "solutions" not in data:
            raise ArchiveError(f"{path} has no solutions and no front.json beside it: its members cannot be decoded")
        objectives, genotypes = _float(data["objectives"], n, m), data["solutions"].reshape(n, -1)
        re = data.get("reevaluated")
        reevaluated = None if re is None else _float(re, n, m)
    else:
        items = list(data["members"])
        n = len(items)
        if [int(e.get("member", i)) for i, e in enumerate(items)] != list(range(n)):
            raise ArchiveError(f"{path}: members are not numbered 0 to {n - 1} in order")
        objectives = _float([_values(e["objectives"], names) for e in items], n, m)
        genotypes = _genotypes(items, strategy, path)
        reevaluated = _float([_values(e["reevaluated"], names) for e in items], n, m) \
            if n and all("reevaluated" in e for e in items) else None
    return Archive("front", path, names, objectives, maximize, genotypes, reevaluated=reevaluated,
                   reevaluation=data.get("reevaluation"), extra=extra)


def pictures(directory: str | Path) -> list[Path]:
    """The archive's pictures that exist (heatmap, front plot)."""
    return [Path(directory) / p for p in PICTURES if (Path(directory) / p).is_file()]


# ----------------------------------------------------------------------------- the re-evaluation, written in
def add_reevaluation(archive: Archive, values: torch.Tensor, about: dict[str, Any]) -> list[Path]:
    """Write ``values`` ``[n, m]`` (the directions of ``archive.objectives``) beside the search's objectives:
    a ``reevaluated`` tensor and a ``reevaluation`` dict in the ``.pt`` file(s), ``reevaluated`` per member
    in the ``.json`` file, and ``reevaluated_*`` columns appended to the csv table. Returns the files changed."""
    n, directory = len(archive), archive.directory
    values = torch.as_tensor(values, dtype=torch.float64).reshape(n, -1)
    changed = []
    pt = directory / f"{archive.kind}.pt"
    if pt.is_file():
        blob = torch.load(pt, weights_only=True)
        blob["reevaluated"] = values.reshape(n) if archive.kind == "elites" else values
        blob["reevaluation"] = dict(about)
        torch.save(blob, pt)
        changed.append(pt)
    js = directory / f"{archive.kind}.json"
    if js.is_file():
        data = json.loads(js.read_text())
        items = data["elites" if archive.kind == "elites" else "members"]
        for item, row in zip(items, values.tolist(), strict=True):
            row = [v if math.isfinite(v) else None for v in row]   # null: not re-evaluated (the allowance)
            item["reevaluated"] = row[0] if archive.kind == "elites" else dict(zip(archive.objective_names, row))
        data["reevaluation"] = dict(about)
        js.write_text(json.dumps(data, indent=1))
        changed.append(js)
    table = directory / TABLES[archive.kind]
    if table.is_file():
        with table.open(newline="") as fh:
            rows = list(csv.reader(fh))
        if len(rows) != n + 1:
            raise ArchiveError(f"{table} has {len(rows) - 1} rows; the archive has {n} members")
        rows[0] += [f"reevaluated_{name}" for name in archive.objective_names]
        for row, new in zip(rows[1:], values.tolist()):
            row += [repr(float(v)) if math.isfinite(v) else "" for v in new]
        with table.open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)
        changed.append(table)
    archive.reevaluated, archive.reevaluation = values, dict(about)
    return changed
