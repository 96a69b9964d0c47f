"""A run directory's best individual, rebuilt from what the run wrote, exported to a file.

``evohyper.engine.replay.load_best`` rebuilds it (the run's own decoder decodes its best genotype; it is
also this package's ``load_best``, and unpacks as ``phenotypes, config``), and
the phenotype class turns it into a module (``to_module``). The file is then checked against the
phenotype on random inputs, so a reported export computes what the run evolved.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from evohyper.engine.archive_files import ArchiveError
from evohyper.engine.replay import NotAnIndividualError, load_best, load_member
from evohyper.engine.run_dir import RunDir
from evohyper.export.modules import (
    TOLERANCE,
    ExportError,
    example_input,
    max_difference,
    save_onnx,
    save_torch,
    to_module,
)

SUFFIX = {"torch": ".pt2", "onnx": ".onnx"}
__all__ = ["SUFFIX", "ExportResult", "export_run", "load_best"]   # load_best: engine.replay's, the one


@dataclass
class ExportResult:
    path: Path
    format: str
    module_difference: float        # max |module - evohyper phenotype| on random inputs
    file_difference: float | None   # max |file (loaded program / onnxruntime) - module|; None: not checked
    description: dict[str, Any]


def export_run(run_dir: str | Path, fmt: Literal["torch", "onnx"] = "torch", out: str | Path | None = None,
               batch: int = 64, cell: str | None = None, member: str | None = None) -> ExportResult:
    """Write the best phenotype of ``run_dir`` as ``fmt`` (default ``best/model.pt2`` / ``best/model.onnx``),
    or with ``cell`` / ``member`` that archive or front member's (``engine.replay.load_member``; default
    ``archive/cell-<index>.pt2`` / ``archive/member-<k>.pt2``)."""
    if fmt not in SUFFIX:
        raise ExportError(f"--format {fmt!r}; allowed: {list(SUFFIX)}")
    chosen: dict[str, Any] = {}
    try:
        if cell is None and member is None:
            best = load_best(run_dir)
            default = RunDir(Path(run_dir)).best / f"model{SUFFIX[fmt]}"
        else:
            best, archive, row = load_member(run_dir, cell=cell, member=member)
            stem = f"cell-{int(archive.cells[row])}" if archive.kind == "elites" else f"member-{row}"
            default = archive.directory / f"{stem}{SUFFIX[fmt]}"
            chosen = {"member": archive.name(row)}
    except NotAnIndividualError as exc:   # a run that trained its decoder: no one network to export
        raise ExportError(str(exc)) from None
    except ArchiveError as exc:
        raise ExportError(str(exc)) from None
    phenotypes, config = best.phenotypes, best.config
    module = to_module(phenotypes, 0)
    x = example_input(module, batch)
    with torch.no_grad():
        module_diff = max_difference(module(x), phenotypes.forward(x)[0])
    if not module_diff <= TOLERANCE:
        raise ExportError(f"the module differs from the evohyper phenotype by {module_diff:.3g} (> {TOLERANCE}); "
                          "nothing written")
    path = Path(out) if out is not None else default
    path.parent.mkdir(parents=True, exist_ok=True)
    file_diff = save_torch(module, path, x) if fmt == "torch" else save_onnx(module, path, x)
    if file_diff is not None and not file_diff <= TOLERANCE:
        raise ExportError(f"{path} differs from the module by {file_diff:.3g} (> {TOLERANCE})")
    return ExportResult(path, fmt, module_diff, file_diff,
                        {"task": config["task"], "decoder": config["decoder"], "phenotype": phenotypes.describe(),
                         "input_shape": list(module.input_shape), **chosen})
