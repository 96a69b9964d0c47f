"""Exports the best individual at the end of a run: its phenotype (weights + JSON description), or,
for a gradient run that trained the decoder itself, the decoder's weights.

Both use the components the driver built (``Components``): nothing is built a second time.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

from evohyper.api.rows import population_of_one
from evohyper.config.build import Components
from evohyper.engine.deferred_signals import deferred_signals
from evohyper.engine.run_dir import (
    DECODER_WEIGHTS_FILE,
    GENOTYPE_JSON_FILE,
    GENOTYPE_TENSOR_FILE,
    REEVALUATION_STATE_FILE,
    STATE_FILE,
    SUMMARY_FILE,
    WEIGHTS_FILE,
)

log = logging.getLogger("evohyper.best")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


class _Exporter:
    """Observer base: on end, with the task and decoder ready on ``device``, write ``best/``."""

    def __init__(self, directory: str | Path, components: Components, device: str | torch.device = "cpu",
                 chooser: Any = None):
        self.directory = Path(directory)
        self.components = components
        self.device = torch.device(device)
        #: the re-evaluation observer (``observers.reevaluation``): when given, its ``final`` candidate is exported
        self.chooser = chooser
        self.summary: dict[str, Any] = {}

    def on_start(self, search: Any) -> None:
        pass

    def on_generation(self, search: Any, record: Any) -> None:
        pass

    def on_end(self, search: Any, result: Any) -> None:
        chosen = getattr(self.chooser, "final", None)   # the best candidate on fresh episodes, if re-evaluated
        genotype = search.strategy.best_genotype if chosen is None else chosen.genotype
        if genotype is None:
            return
        self.components.task.setup(self.device)           # idempotent; a no-op after the local backend's
        if isinstance(self.components.decoder, torch.nn.Module):
            self.components.decoder.to(self.device)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.summary = {
            # the search's own score of the exported individual (None: a centre the search never scored)
            "fitness": result.best_fitness if chosen is None else chosen.search_fitness,
            "generations": result.generations,
            "evaluation": self._evaluation(getattr(search, "best_evaluation", None) if chosen is None
                                           else chosen.evaluation),
        }
        with deferred_signals():   # best/ is written whole; a Ctrl-C/SIGTERM meanwhile is delivered after
            if chosen is not None:
                self.summary["search_best_fitness"] = result.best_fitness
                self.summary["reevaluation"] = self._reevaluation(chosen)
            self.summary.update(self._export(search, genotype))
            (self.directory / SUMMARY_FILE).write_text(json.dumps(self.summary, indent=2, default=str))

    def _save_state(self, state: dict[str, torch.Tensor] | None, name: str) -> str | None:
        """``state`` frozen beside the weights as ``best/<name>`` (None: no state) and loaded into the task."""
        self.components.task.load_evaluation_state(state)
        (self.directory / name).unlink(missing_ok=True)
        if state is None:
            return None
        torch.save({k: v.detach().cpu() for k, v in state.items()}, self.directory / name)
        return name

    def _evaluation(self, best: dict[str, Any] | None) -> dict[str, Any] | None:
        """How the best was scored (generation, seed) and the evaluation state it was scored with, frozen
        beside its weights (``best/evaluation_state.pt``) and loaded into the task for the export, so a
        replay with that state and seed reproduces the recorded fitness."""
        if best is None:
            (self.directory / STATE_FILE).unlink(missing_ok=True)
            return None
        return {"generation": best["generation"], "seed": best["seed"],
                "state": self._save_state(best["state"], STATE_FILE)}

    def _reevaluation(self, chosen: Any) -> dict[str, Any]:
        """Its mean over the re-evaluation's fresh episodes, their seed and the state they were played with
        (``best/reevaluation_state.pt``): ``show --episodes N`` replays exactly those episodes."""
        r = chosen.reevaluation
        totals = dict(getattr(self.chooser, "totals", {}))
        return {"mean": r["mean"], "episodes": r["episodes"], "seed": r["seed"], "generation": r["generation"],
                "state": self._save_state(r["state"], REEVALUATION_STATE_FILE), "candidate": chosen.name,
                "totals": totals}

    def _export(self, search: Any, genotype: Any) -> dict[str, Any]:
        raise NotImplementedError


class BestExporter(_Exporter):
    """``best/weights.pt`` (tensors only), ``best/genotype.pt`` (vectors) or ``best/genotype.json`` (other
    genotypes, via ``Strategy.export_genotype``), pictures from the decoder/task hooks, and
    ``best/phenotype.json``."""

    def _pictures(self, genotype: Any, phen: Any) -> list[Path]:
        """Images contributed by the decoder and the task (optional hooks; a failure only warns)."""
        out = []
        task, decoder = self.components.task, self.components.decoder
        for owner, call in (
            ("decoder", lambda: decoder.pictures(genotype, self.directory)),
            ("task", lambda: task.pictures(phen, self.directory)),
        ):
            try:
                out += [Path(p) for p in call()]
            except Exception as exc:  # noqa: BLE001 - pictures are a report, never worth losing a run for
                log.warning("the %s's pictures failed: %s: %s", owner, type(exc).__name__, exc)
        return out

    def _export(self, search: Any, genotype: Any) -> dict[str, Any]:
        task, decoder = self.components.task, self.components.decoder
        with torch.no_grad():
            phen = decoder.decode(population_of_one(genotype), device=self.device)
            test = {k: float(v[0]) for k, v in task.test_metrics(phen).items()}
        torch.save({k: v[0].detach().cpu() for k, v in phen.tensors.items()}, self.directory / WEIGHTS_FILE)
        if isinstance(genotype, torch.Tensor):
            torch.save(genotype.detach().cpu(), self.directory / GENOTYPE_TENSOR_FILE)
        else:
            exported = search.strategy.export_genotype(genotype)
            if exported is not None:
                (self.directory / GENOTYPE_JSON_FILE).write_text(json.dumps(exported))
        pictures = self._pictures(genotype, phen)
        return {
            "test_metrics": test,
            "phenotype": phen.describe(),
            "decoder": decoder.describe(),
            "pictures": [_relative(p, self.directory.parent) for p in pictures],
        }


class DecoderExporter(_Exporter):
    """A gradient-trained self-trained decoder (HyperGAN, GHN): the best parameters go to
    ``best/decoder_weights.pt`` (the decoder's ``weights`` option loads it for a later search); held-out
    metrics are the mean over the networks the decoder's ``test_metrics`` generates."""

    def _export(self, search: Any, genotype: Any) -> dict[str, Any]:
        task, decoder = self.components.task, self.components.decoder
        decoder.load_parameter_vector(genotype.reshape(-1))
        path = decoder.save_weights(self.directory / DECODER_WEIGHTS_FILE)
        torch.save(genotype.detach().cpu(), self.directory / GENOTYPE_TENSOR_FILE)
        test: dict[str, float] = {}
        scorer = getattr(decoder, "test_metrics", None)
        if scorer is not None:
            with torch.no_grad():
                test = {k: float(torch.as_tensor(v).float().mean()) for k, v in scorer(task).items()}
        return {
            "test_metrics": test,
            "decoder_weights": _relative(path, self.directory.parent),
            "decoder": decoder.describe(),
            "pictures": [],
        }
