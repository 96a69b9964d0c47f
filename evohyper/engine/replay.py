"""A run's best individual, rebuilt from its run directory: the one ``load_best`` behind
``evohyper show RUN_DIR --episodes N`` (replay in the task's real environment), ``evohyper export`` and
``evohyper.export.load_best`` (the same function). The files are read through ``engine/run_dir.py``.

The run's resolved ``config.yaml`` builds the task, decoder and strategy once more; the best genotype is
``best/genotype.pt`` (vectors) or ``best/genotype.json`` read back by the strategy
(``Strategy.import_genotype``: NEAT genomes, NAS cells), and the decoder decodes it, so every decoder's
phenotype comes back as the run had it (a NEAT network, a substrate, a hypernetwork's output), not the
task's default target. ``best/phenotype.json`` says how it was scored: by the search (``evaluation``:
generation and seed, with ``best/evaluation_state.pt``) and, when re-evaluated (``reevaluation``: its mean
over N fresh episodes, their seed, with ``best/reevaluation_state.pt``); replaying with a recorded seed
and state plays those very episodes (observation normalisation included), so they reproduce the score.

``load_member`` does the same for any member of the run's archive or Pareto front (``show --cell``,
``export --cell``), read through ``engine.archive_files``.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from evohyper.api.phenotypes import Phenotypes
from evohyper.api.rows import population_of_one
from evohyper.api.task import Replay, Task
from evohyper.engine import archive_files
from evohyper.engine.archive_files import Archive
from evohyper.engine.run_dir import SUMMARY_FILE, RunDir


class NotAnIndividualError(ValueError):
    """The run trained its decoder itself: ``best/`` holds the decoder's weights, not one network."""


@dataclass
class BestPolicy:
    """A run's best individual, ready to replay: the task and its phenotype (a population of one)."""

    task: Task
    phenotypes: Phenotypes
    fitness: float | None       # the search's score of it, in the task's direction (None: never scored)
    seed: int | None            # the evaluation seed that fitness was scored with
    generation: int | None
    config: dict[str, Any] = field(default_factory=dict)   # the run's resolved config
    #: ``{"mean", "episodes", "seed", "generation", ...}`` of its re-evaluation on fresh episodes, or None
    reevaluation: dict[str, Any] | None = None
    states: dict[str, Any] = field(default_factory=dict)    # "search" / "reevaluation": evaluation state

    def __iter__(self) -> Iterator[Any]:
        """Unpacks as ``phenotypes, config``: what ``evohyper.export.load_best`` returned before it became
        this function (``phenotypes, _ = load_best(run_dir)`` keeps working)."""
        return iter((self.phenotypes, self.config))

    @property
    def recorded(self) -> str:
        """The score a replay reproduces by default: ``reevaluation`` when there is one, else ``search``."""
        return "reevaluation" if self.reevaluation is not None else "search"

    def replay(self, episodes: int, seed: int | None = None, render: bool = False,
               evaluation: str | None = None) -> Replay:
        """``episodes`` episodes seeded from ``seed`` (default: the seed of ``evaluation``, by default
        ``recorded``), played with the evaluation state that evaluation used."""
        which = evaluation or self.recorded
        recorded = self.reevaluation.get("seed") if which == "reevaluation" and self.reevaluation else self.seed
        chosen = recorded if seed is None else seed
        if chosen is None:
            raise ValueError("this run recorded no evaluation seed for its best individual; pass a seed")
        self.task.load_evaluation_state(self.states.get(which))
        return self.task.replay(self.phenotypes, int(chosen), int(episodes), render=render)


def load_archive(run_dir: str | Path) -> Archive:
    """The archive or front of a finished run (``engine.archive_files``: the on-disk contract), its JSON
    genotypes read back by the run's own strategy, a front's directions from the run's task."""
    layout = RunDir.open(run_dir)
    components = layout.config().components()
    return archive_files.read(layout.archive, components.strategy, components.task.info())


def load_member(run_dir: str | Path, cell: str | None = None, member: str | None = None,
                device: str = "cpu") -> tuple[BestPolicy, Archive, int]:
    """Archive member ``--cell`` / front member ``--member`` of a finished run, decoded by the run's decoder
    as ``load_best`` decodes the best: a ``BestPolicy`` (its fitness: the search's score of the member, in the
    task's direction; its ``reevaluation``: the mean over the archive's fresh episodes, when re-evaluated;
    both replayed with the search's final evaluation state, ``archive/evaluation_state.pt``), the archive,
    and the member's row. ArchiveError (one line) for a missing archive or an unknown member."""
    layout = RunDir.open(run_dir)
    config = layout.config()
    components = config.components()
    if components.trains_decoder:
        raise NotAnIndividualError(f"{run_dir} trained the decoder itself: it keeps no archive of individuals")
    archive = archive_files.read(layout.archive, components.strategy, components.task.info())
    row = archive.select(cell, member)
    phenotypes = _decode(components, archive.genotype(row), device)
    first = float(archive.objectives[row, 0])
    fitness = first if archive.kind == "front" or components.maximize else -first
    state_file = layout.archive / archive_files.STATE_FILE
    state = torch.load(state_file, weights_only=True) if state_file.is_file() else None
    reevaluation = None
    if archive.reevaluated is not None and archive.reevaluation:
        mean = float(archive.reevaluated[row, 0])
        reevaluation = {**archive.reevaluation,
                        "mean": mean if archive.kind == "front" or components.maximize else -mean}
    policy = BestPolicy(components.task, phenotypes, fitness, None, None, config.to_dict(), reevaluation,
                        {"search": state, "reevaluation": state})
    components.task.load_evaluation_state(state)
    return policy, archive, row


def _decode(components: Any, genotype: Any, device: str) -> Phenotypes:
    """``genotype`` decoded by the run's decoder, its task set up on ``device``."""
    components.task.setup(device)
    if isinstance(components.decoder, torch.nn.Module):
        components.decoder.to(device)
    with torch.no_grad():
        return components.decoder.decode(population_of_one(genotype), device=device)


def load_best(run_dir: str | Path, device: str = "cpu") -> BestPolicy:
    """The best individual of a finished run, decoded from its genotype by the run's own decoder (the
    run's components are built once, by the validation of its config)."""
    layout = RunDir.open(run_dir)
    config = layout.config()
    summary = layout.best_summary()
    if summary is None:
        raise FileNotFoundError(f"{run_dir} has no exported best individual (no best/{SUMMARY_FILE})")
    components = config.components()
    if components.trains_decoder:
        raise NotAnIndividualError(
            f"{run_dir} trained the decoder itself (best/decoder_weights.pt): show or export a run that searches "
            "with it (decoder.weights: that file), whose best individual is a network")
    genotype = layout.best_genotype(components.strategy)
    task = components.task
    phenotypes = _decode(components, genotype, device)
    evaluation = summary.get("evaluation") or {}
    reevaluation = summary.get("reevaluation")
    states = {"search": layout.best_state(evaluation.get("state")),
              "reevaluation": layout.best_state((reevaluation or {}).get("state"))}
    policy = BestPolicy(task, phenotypes, summary.get("fitness"), evaluation.get("seed"), evaluation.get("generation"),
                        config.to_dict(), reevaluation, states)
    task.load_evaluation_state(states[policy.recorded])
    return policy
