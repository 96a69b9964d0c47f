"""Training a self-trained decoder (a HyperGAN generator, a GHN) outside a search run (notebooks, tests).

``train_decoder`` runs one ``TrainingJob`` with ``engine.training.train``: exactly what the ``gradient``
strategy runs on an evaluator (local or a Ray actor) each generation, so a config run
(``search_spaces/digits_hypergan_train.yaml``) and this call train identically. The objective belongs
to the decoder (``SelfTrainedDecoder.training_loss``); this module only fixes the optimiser and the
step count.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from evohyper.api.checks import Checks
from evohyper.api.self_trained import SelfTrainedDecoder
from evohyper.api.task import Task
from evohyper.api.training import TrainingJob
from evohyper.engine.training import train  # the training step the gradient strategy runs

_checks = Checks("decoder_training")


@dataclass
class DecoderTraining:
    """Options of one training run (validated here: ValueErrors name the option, value and range)."""

    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    history: list[dict[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        _checks.integer("steps", self.steps, 1)
        _checks.integer("batch_size", self.batch_size, 1)
        _checks.positive("lr", self.lr)


def train_decoder(decoder: SelfTrainedDecoder, task: Task, opts: DecoderTraining,
                  log_every: int = 100) -> DecoderTraining:
    """Train ``decoder`` in place (Adam) on ``task``; deterministic in ``opts.seed``.

    Runs in blocks of ``log_every`` steps and appends the block's mean training losses and the
    decoder's validation score to ``opts.history``."""
    task.setup("cpu")
    job = TrainingJob(genotypes=None, size=1, optimizer="Adam", options={"lr": float(opts.lr)}, optimizer_state=None,
                      steps=0, batch_size=opts.batch_size, data_seed=opts.seed)
    done = 0
    while done < opts.steps:
        job.steps = min(log_every, opts.steps - done)
        result, job = train(task, decoder, job, opts.seed, torch.device("cpu"))
        done += job.steps
        opts.history.append({"step": done, "fitness": float(result.fitness[0]),
                             **{k: float(v[0]) for k, v in result.metrics.items()}})
    decoder.load_parameter_vector(job.genotypes[0])
    return opts
