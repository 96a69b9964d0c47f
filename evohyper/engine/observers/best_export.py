"""Exports the best individual: its phenotype weights as tensors plus a JSON description."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

import torch

from evohyper.api.self_trained import is_self_trained
from evohyper.engine.evaluation import Evaluator

log = logging.getLogger("evohyper.best")


def genotype_batch(genotype: Any) -> Any:
    """A population of one, whatever the genotype type."""
    return genotype.unsqueeze(0) if isinstance(genotype, torch.Tensor) else [genotype]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


class BestExporter:
    """On end: ``best/weights.pt`` (tensors only), ``best/genotype.pt`` (vectors) or ``best/genotype.json``
    (other genotypes, via ``Strategy.export_genotype``), pictures from the decoder/task hooks, and
    ``best/phenotype.json``."""

    def __init__(self, directory: str | Path, make_evaluator: Callable[[], Evaluator]):
        self.directory = Path(directory)
        self.make_evaluator = make_evaluator
        self.summary: dict[str, Any] = {}

    def _pictures(self, evaluator: Evaluator, genotype: Any, phen: Any) -> list[Path]:
        """Images contributed by the decoder and the task (optional hooks; a failure only warns)."""
        out = []
        for owner, call in (("decoder", lambda: evaluator.decoder.pictures(genotype, self.directory)),
                            ("task", lambda: evaluator.task.pictures(phen, self.directory))):
            try:
                out += [Path(p) for p in call()]
            except Exception as exc:  # noqa: BLE001 - pictures are a report, never worth losing a run for
                log.warning("the %s's pictures failed: %s: %s", owner, type(exc).__name__, exc)
        return out

    def on_start(self, search: Any) -> None:
        pass

    def on_generation(self, search: Any, record: Any) -> None:
        pass

    def on_end(self, search: Any, result: Any) -> None:
        genotype = search.strategy.best_genotype
        if genotype is None:
            return
        evaluator = self.make_evaluator()
        if is_self_trained(evaluator.decoder) and search.strategy.genotype_kind == "train":
            # the strategy trained the decoder itself; otherwise (CMA-ES over HyperGAN noise, a graph
            # search with a GHN) the genotype is decoded and exported like any other
            self._export_decoder(search, result, evaluator, genotype)
            return
        with torch.no_grad():
            phen = evaluator.decoder.decode(genotype_batch(genotype), device=evaluator.device)
            test = {k: float(v[0]) for k, v in evaluator.task.test_metrics(phen).items()}
        self.directory.mkdir(parents=True, exist_ok=True)
        torch.save({k: v[0].detach().cpu() for k, v in phen.tensors.items()}, self.directory / "weights.pt")
        if isinstance(genotype, torch.Tensor):
            torch.save(genotype.detach().cpu(), self.directory / "genotype.pt")
        else:
            exported = search.strategy.export_genotype(genotype)
            if exported is not None:
                (self.directory / "genotype.json").write_text(json.dumps(exported))
        pictures = self._pictures(evaluator, genotype, phen)
        self.summary = {"fitness": result.best_fitness, "generations": result.generations,
                        "test_metrics": test, "phenotype": phen.describe(), "decoder": evaluator.decoder.describe(),
                        "pictures": [_relative(p, self.directory.parent) for p in pictures]}
        (self.directory / "phenotype.json").write_text(json.dumps(self.summary, indent=2, default=str))

    def _export_decoder(self, search: Any, result: Any, evaluator: Evaluator, vector: torch.Tensor) -> None:
        """A gradient-trained self-trained decoder (HyperGAN, GHN): the best parameters go to
        ``best/decoder_weights.pt`` (the decoder's ``weights`` option loads it for a later search);
        held-out metrics are the mean over the networks ``training_score`` generates."""
        decoder = evaluator.decoder
        decoder.load_parameter_vector(vector.reshape(-1))
        self.directory.mkdir(parents=True, exist_ok=True)
        path = decoder.save_weights(self.directory / "decoder_weights.pt")
        torch.save(vector.detach().cpu(), self.directory / "genotype.pt")
        test: dict[str, float] = {}
        scorer = getattr(decoder, "test_metrics", None)
        if scorer is not None:
            with torch.no_grad():
                test = {k: float(torch.as_tensor(v).float().mean()) for k, v in scorer(evaluator.task).items()}
        self.summary = {"fitness": result.best_fitness, "generations": result.generations, "test_metrics": test,
                        "decoder_weights": _relative(path, self.directory.parent), "decoder": decoder.describe(),
                        "pictures": []}
        (self.directory / "phenotype.json").write_text(json.dumps(self.summary, indent=2, default=str))
