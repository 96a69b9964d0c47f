"""Training a HyperGAN generator: task loss of sampled networks + beta x latent-discriminator regulariser.

A plain torch loop rather than the engine's ``gradient`` strategy (see docs/architecture.md): that
strategy trains one genotype vector through ``decode``; a HyperGAN step instead draws fresh noise,
updates the generator's *own* parameters, and alternates with a second optimiser for the adversary
(the discriminator on the mixed latent space), which a single-loss TrainingJob cannot express.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from evohyper.api.task import Task
from evohyper.decoders.hypergan import HyperGANDecoder


@dataclass
class HyperGANTraining:
    """Options of one training run (validated here: ValueErrors name the option, value and range)."""

    steps: int = 1000
    samples: int = 32          # networks sampled per step (the loss is their mean)
    batch_size: int = 64
    beta: float = 1.0          # weight of the latent regulariser; 0 = no regulariser
    lr: float = 1e-3
    disc_lr: float = 1e-3
    seed: int = 0
    history: list[dict[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("steps", "samples", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"invalid HyperGAN training option {name}={v!r}; allowed: an integer >= 1")
        for name in ("beta", "lr", "disc_lr"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0 or v != v:
                raise ValueError(f"invalid HyperGAN training option {name}={v!r}; allowed: a number >= 0")


def _batches(task: Task, batch_size: int, seed: int) -> Any:
    epoch = 0
    while True:
        yield from task.train_batches(batch_size=batch_size, seed=seed * 100_003 + epoch)
        epoch += 1


def train_hypergan(decoder: HyperGANDecoder, task: Task, opts: HyperGANTraining, log_every: int = 100) -> HyperGANTraining:
    """Train ``decoder`` in place on ``task.loss`` over ``task.train_batches``.

    Each step: s ~ N(0, I) ``[samples, noise]``, q = Q(s), networks = G(q) (one batched decode),
    generator loss = mean task loss + beta * BCE(D(q), real); the discriminator D learns to tell
    prior draws N(0, I) from q. Deterministic in ``opts.seed`` (noise, minibatch order).
    """
    if not task.differentiable():
        raise ValueError(f"task {type(task).__name__} has no differentiable loss/train_batches; "
                         f"a HyperGAN cannot be trained on it")
    task.setup("cpu")
    gen = torch.Generator().manual_seed(opts.seed)
    g_opt = torch.optim.Adam(decoder.generator_parameters(), lr=opts.lr)
    d_opt = torch.optim.Adam(decoder.discriminator.parameters(), lr=opts.disc_lr)
    width = decoder.mixer.weights[-1].shape[1]
    batches = _batches(task, opts.batch_size, opts.seed)
    real = torch.ones(opts.samples, 1)
    fake = torch.zeros(opts.samples, 1)
    for step in range(opts.steps):
        s = torch.randn(opts.samples, decoder.noise, generator=gen)
        q = decoder.mix(s)
        task_loss = task.loss(decoder.generate(q), next(batches)).mean()
        loss = task_loss
        adv = torch.zeros(())
        if opts.beta > 0:
            adv = F.binary_cross_entropy_with_logits(decoder.discriminator(q), real)
            loss = loss + opts.beta * adv
        g_opt.zero_grad(set_to_none=True)
        loss.backward()
        g_opt.step()
        d_loss = torch.zeros(())
        if opts.beta > 0:  # the adversary: prior draws are "real", mixed codes "fake"
            prior = torch.randn(opts.samples, width, generator=gen)
            d_loss = (F.binary_cross_entropy_with_logits(decoder.discriminator(prior), real)
                      + F.binary_cross_entropy_with_logits(decoder.discriminator(q.detach()), fake))
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
        if step % log_every == 0 or step == opts.steps - 1:
            opts.history.append({"step": step, "task_loss": float(task_loss.detach()), "adv_loss": float(adv.detach()),
                                 "disc_loss": float(d_loss.detach())})
    return opts
