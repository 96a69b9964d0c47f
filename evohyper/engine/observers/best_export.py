"""Exports the best individual: its phenotype weights as tensors plus a JSON description."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import torch

from evohyper.engine.evaluation import Evaluator


def genotype_batch(genotype: Any) -> Any:
    """A population of one, whatever the genotype type."""
    return genotype.unsqueeze(0) if isinstance(genotype, torch.Tensor) else [genotype]


class BestExporter:
    """On end: ``best/weights.pt`` (tensors only), ``best/genotype.pt`` and ``best/phenotype.json``."""

    def __init__(self, directory: str | Path, make_evaluator: Callable[[], Evaluator]):
        self.directory = Path(directory)
        self.make_evaluator = make_evaluator
        self.summary: dict[str, Any] = {}

    def on_start(self, search: Any) -> None:
        pass

    def on_generation(self, search: Any, record: Any) -> None:
        pass

    def on_end(self, search: Any, result: Any) -> None:
        genotype = search.strategy.best_genotype
        if genotype is None:
            return
        evaluator = self.make_evaluator()
        with torch.no_grad():
            phen = evaluator.decoder.decode(genotype_batch(genotype), device=evaluator.device)
            test = {k: float(v[0]) for k, v in evaluator.task.test_metrics(phen).items()}
        self.directory.mkdir(parents=True, exist_ok=True)
        torch.save({k: v[0].detach().cpu() for k, v in phen.tensors.items()}, self.directory / "weights.pt")
        if isinstance(genotype, torch.Tensor):
            torch.save(genotype.detach().cpu(), self.directory / "genotype.pt")
        self.summary = {"fitness": result.best_fitness, "generations": result.generations,
                        "test_metrics": test, "phenotype": phen.describe(), "decoder": evaluator.decoder.describe()}
        (self.directory / "phenotype.json").write_text(json.dumps(self.summary, indent=2, default=str))
