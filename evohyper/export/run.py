"""A run directory's best individual, rebuilt from what the run wrote, exported to a file.

The run's resolved ``config.yaml`` builds the task, decoder and strategy once more (the one build);
the best genotype is ``best/genotype.pt`` (vectors) or ``best/genotype.json`` read back by the
strategy (``Strategy.import_genotype``: NEAT genomes, NAS cells); the decoder decodes it, and the
phenotype class turns it into a module (``to_module``). The file is then checked against the
phenotype on random inputs, so a reported export computes what the run evolved.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from evohyper.api.phenotypes import Phenotypes
from evohyper.engine.observers.best_export import genotype_batch
from evohyper.engine.runner import load_run_config
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


@dataclass
class ExportResult:
    path: Path
    format: str
    module_difference: float        # max |module - evohyper phenotype| on random inputs
    file_difference: float | None   # max |file (loaded program / onnxruntime) - module|; None: not checked
    description: dict[str, Any]


def load_best(run_dir: str | Path, device: str = "cpu") -> tuple[Phenotypes, dict[str, Any]]:
    """The best individual of a finished run as a population of one, and the run's resolved config."""
    run_dir = Path(run_dir)
    best = run_dir / "best"
    config = load_run_config(run_dir)
    components = config.components()
    if components.trains_decoder:
        raise ExportError(f"{run_dir} trained the decoder itself (best/decoder_weights.pt): export a run that "
                          "searches with it (decoder.weights: that file), whose best individual is a network")
    if (best / "genotype.json").is_file():
        genotype = components.strategy.import_genotype(json.loads((best / "genotype.json").read_text()))
    elif (best / "genotype.pt").is_file():
        genotype = torch.load(best / "genotype.pt", weights_only=True)
    else:
        raise FileNotFoundError(f"{run_dir} has no best/genotype.json or best/genotype.pt (did the run finish?)")
    components.task.setup(device)
    with torch.no_grad():
        phenotypes = components.decoder.decode(genotype_batch(genotype), device=device)
    return phenotypes, config.to_dict()


def export_run(run_dir: str | Path, fmt: Literal["torch", "onnx"] = "torch", out: str | Path | None = None,
               batch: int = 64) -> ExportResult:
    """Write the best phenotype of ``run_dir`` as ``fmt`` (default ``best/model.pt2`` / ``best/model.onnx``)."""
    if fmt not in SUFFIX:
        raise ExportError(f"--format {fmt!r}; allowed: {list(SUFFIX)}")
    phenotypes, config = load_best(run_dir)
    module = to_module(phenotypes, 0)
    x = example_input(module, batch)
    with torch.no_grad():
        module_diff = max_difference(module(x), phenotypes.forward(x)[0])
    if not module_diff <= TOLERANCE:
        raise ExportError(f"the module differs from the evohyper phenotype by {module_diff:.3g} (> {TOLERANCE}); "
                          "nothing written")
    path = Path(out) if out is not None else Path(run_dir) / "best" / f"model{SUFFIX[fmt]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    file_diff = save_torch(module, path, x) if fmt == "torch" else save_onnx(module, path, x)
    if file_diff is not None and not file_diff <= TOLERANCE:
        raise ExportError(f"{path} differs from the module by {file_diff:.3g} (> {TOLERANCE})")
    return ExportResult(path, fmt, module_diff, file_diff,
                        {"task": config["task"], "decoder": config["decoder"], "phenotype": phenotypes.describe(),
                         "input_shape": list(module.input_shape)})
