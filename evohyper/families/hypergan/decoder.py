"""HyperGAN generator (Ratzlaff & Li, ICML 2019): noise s -> mixer Q -> per-layer codes -> per-layer
generators -> every weight of the target network, for a whole population in one batched call.

The genotype is the noise input ``s`` (``[P, noise]``): CMA-ES over s (or any vector strategy) searches
the generator's latent space by config, with the generator's weights fixed (seeded, or loaded from a
trained file through the ``weights`` option). With ``set_size: k`` a genotype is k noise vectors
(``[P, k * noise]``) decoding to a set of k networks scored as one ensemble (``api/set_phenotypes.py``):
evolution then searches for diverse, high-fitness sets. Training the generator itself (task loss + the
latent discriminator's regulariser) is the ``gradient`` strategy's job (``training_loss`` below).
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
import math
from typing import Any

import torch
import torch.nn.functional as F

from evohyper.api.checks import MAX_RATE, Checks
from evohyper.api.decoder import Decoder
from evohyper.api.phenotypes import Phenotypes, TargetSpec
from evohyper.api.self_trained import SelfTrainedDecoder, as_one_individual
from evohyper.api.set_phenotypes import SetSpec
from evohyper.api.task import EvalResult, Task

_checks = Checks("decoder")


def target_layers(target: TargetSpec) -> list[list[str]]:
    """The target's tensors grouped into layers: each weight (rank >= 2) with its bias
    (``w{i}``/``b{i}`` for MLPs, ``conv{i}``/``conv{i}_b`` and ``fc``/``fc_b`` for conv nets);
    any other tensor is a layer of its own. One generator per layer."""
    shapes = target.shapes()
    layers, used = [], set()
    for name, shape in shapes.items():
        if len(shape) < 2:
            continue
        group = [name]
        for bias in (("b" + name[1:]) if name.startswith("w") else None, name + "_b"):
            if bias and bias in shapes and len(shapes[bias]) == 1:
                group.append(bias)
        used.update(group)
        layers.append(group)
    layers += [[n] for n in shapes if n not in used]
    return layers


class MLP(torch.nn.Module):
    """A small ReLU MLP with a seeded (PyTorch-default-like) uniform initialisation."""

    def __init__(self, sizes: list[int], gen: torch.Generator, out_scale: float = 1.0):
        super().__init__()
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            bound = (out_scale if i == len(sizes) - 2 else 1.0) / math.sqrt(a)
            self.weights.append(torch.nn.Parameter((torch.rand(a, b, generator=gen) * 2 - 1) * bound))
            self.biases.append(torch.nn.Parameter((torch.rand(b, generator=gen) * 2 - 1) * bound))

    def forward(self, x: torch.Tensor, frozen: bool = False) -> torch.Tensor:
        """``frozen``: use detached weights (the input still gets gradients), for the other player's loss."""
        n = len(self.weights)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if frozen:
                w, b = w.detach(), b.detach()
            x = torch.addmm(b, x, w)
            if i < n - 1:
                x = torch.relu(x)
        return x


class HyperGANDecoder(SelfTrainedDecoder, Decoder):
    """HyperGAN generator of complete target networks; genotype = noise ``s`` ``[P, noise]``.

    Each generator's output is scaled per tensor by ``1/sqrt(fan_in)`` so an untrained generator
    already emits weights of the standard initialisation's magnitude.

    Options:
      noise: size of the noise s, the genotype (>= 1).
      code: size of each layer's latent code (>= 1; the mixer emits ``layers x code``).
      hidden: width of the mixer's and the generators' hidden layer (>= 1).
      disc_hidden: width of the latent discriminator's hidden layer (>= 1).
      init_seed: seeds the initial weights (>= 0).
      weights: a file written by ``save_weights`` (a trained generator, e.g. a gradient run's
        ``best/decoder_weights.pt``), loaded with ``torch.load(weights_only=True)``; null: the seeded init.
      beta: training: weight of the latent discriminator's regulariser (>= 0; 0 = off).
      samples: training: networks generated per step (>= 1).
      score_samples: networks scored per generation when training (>= 1).
      set_size: k noise vectors per genotype, decoded to one set of k networks whose forward is the
        ensemble's log mean probability (>= 1; 1 = a genotype is one network).
    """

    def __init__(self, target: TargetSpec, *, noise: int = 32, code: int = 32, hidden: int = 64,
                 disc_hidden: int = 64, init_seed: int = 0, weights: str | None = None,
                 beta: float = 1.0, samples: int = 32, score_samples: int = 32, set_size: int = 1):
        torch.nn.Module.__init__(self)
        Decoder.__init__(self, target)
        self.beta = _checks.real("beta", beta, 0.0, MAX_RATE)
        self.samples = _checks.loop("samples", samples)
        self.score_samples = _checks.loop("score_samples", score_samples)
        self.noise, self.code = _checks.loop("noise", noise), _checks.loop("code", code)
        self.set_size = _checks.loop("set_size", set_size)
        self.hidden, self.disc_hidden = _checks.loop("hidden", hidden), _checks.loop("disc_hidden", disc_hidden)
        _checks.integer("init_seed", init_seed, 0)
        gen = torch.Generator().manual_seed(init_seed)
        self.layers = target_layers(target)
        shapes = target.shapes()
        self.mixer = MLP([noise, hidden, len(self.layers) * code], gen)
        self.generators = torch.nn.ModuleList()
        scales = []
        for group in self.layers:
            size = sum(math.prod(shapes[n]) for n in group)
            self.generators.append(MLP([code, hidden, size], gen))
            fan = target.fan_in(group[0]) or shapes[group[0]][0]
            scales.append(torch.cat([torch.full((math.prod(shapes[n]),), 1.0 / math.sqrt(fan)) for n in group]))
        for i, s in enumerate(scales):
            self.register_buffer(f"scale{i}", s)
        self.discriminator = MLP([len(self.layers) * code, disc_hidden, 1], gen)
        if weights is not None:
            self.load_weights(weights)

    # ------------------------------------------------------------------ the Decoder interface
    @property
    def genome_size(self) -> int:
        return self.noise * self.set_size

    def mix(self, s: torch.Tensor) -> torch.Tensor:
        """Mixed latent codes ``Q(s)``: ``[P, layers * code]`` (what the discriminator sees)."""
        return self.mixer(s)

    def generate(self, codes: torch.Tensor) -> Phenotypes:
        """Phenotypes from mixed codes ``[P, layers * code]``: one batched GEMM chain per layer."""
        P, shapes = codes.shape[0], self.target.shapes()
        tensors = {}
        for i, (group, g) in enumerate(zip(self.layers, self.generators)):
            flat = g(codes[:, i * self.code:(i + 1) * self.code]) * getattr(self, f"scale{i}")
            start = 0
            for name in group:
                n = math.prod(shapes[name])
                tensors[name] = flat[:, start:start + n].reshape(P, *shapes[name])
                start += n
        return self.target.build({n: tensors[n] for n in shapes})

    def decode(self, genotypes: Any, device: torch.device | str = "cpu") -> Phenotypes:
        """``[P, set_size * noise]`` -> P networks, or P sets of ``set_size`` networks (``SetPhenotypes``,
        tensors ``[P, k, ...]``) from one generator call over all P*k noise vectors."""
        s = torch.as_tensor(genotypes, dtype=torch.float32).to(self.scale0.device)
        if s.dim() != 2 or s.shape[1] != self.genome_size:
            what = "noise" if self.set_size == 1 else f"set_size={self.set_size} noise vectors of {self.noise}"
            raise ValueError(f"HyperGANDecoder expects genotypes [P, {self.genome_size}] ({what}), "
                             f"got {tuple(s.shape)}")
        if self.set_size == 1:
            return self.decode_members(s)
        P, k = s.shape[0], self.set_size
        flat = self.decode_members(s.reshape(P * k, self.noise))
        return SetSpec(self.target, k).build({n: t.reshape(P, k, *t.shape[1:]) for n, t in flat.tensors.items()})

    def decode_members(self, s: torch.Tensor) -> Phenotypes:
        """Single networks from noise ``[N, noise]`` (whatever ``set_size`` is)."""
        s = torch.as_tensor(s, dtype=torch.float32).to(self.scale0.device)
        if s.dim() != 2 or s.shape[1] != self.noise:
            raise ValueError(f"HyperGANDecoder expects noise [N, {self.noise}], got {tuple(s.shape)}")
        return self.generate(self.mix(s))

    def sample_noise(self, n: int, seed: int) -> torch.Tensor:
        """``n`` prior draws ``s ~ N(0, I)``, a function of ``seed`` only."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:   # an argument, not an option
            raise ValueError(f"sample_noise needs n >= 1 noise vectors, got {n!r}")
        return torch.randn(n, self.noise, generator=torch.Generator().manual_seed(int(seed)))

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> Phenotypes:
        """``n`` networks as one batched phenotype, deterministic in ``seed`` (inference: no autograd;
        training differentiates ``generate(mix(s))`` instead). Single networks for any ``set_size``."""
        return self.decode_members(self.sample_noise(n, seed))

    def generator_parameters(self) -> list[torch.nn.Parameter]:
        return [*self.mixer.parameters(), *self.generators.parameters()]

    # ------------------------------------------------------------------ gradient training
    @property
    def networks_per_step(self) -> int:
        return self.samples

    def training_loss(self, task: Task, batch: Any,
                      generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        ref = self.scale0
        s = torch.randn(self.samples, self.noise, generator=generator).to(ref.device)
        q = self.mix(s)
        task_loss = task.loss(self.generate(q), batch).mean()
        if self.beta == 0:
            return task_loss, {"task_loss": task_loss.detach()}
        real = torch.ones(self.samples, 1, device=ref.device)
        adv = F.binary_cross_entropy_with_logits(self.discriminator(q, frozen=True), real)
        prior = torch.randn(self.samples, q.shape[1], generator=generator).to(ref.device)
        disc = (F.binary_cross_entropy_with_logits(self.discriminator(prior), real)
                + F.binary_cross_entropy_with_logits(self.discriminator(q.detach()), torch.zeros_like(real)))
        loss = task_loss + self.beta * adv + disc
        return loss, {"task_loss": task_loss.detach(), "adv_loss": adv.detach(), "disc_loss": disc.detach()}

    def training_score(self, task: Task, seed: int) -> EvalResult:
        """Mean fitness and metrics of ``score_samples`` generated networks (noise drawn from ``seed``)."""
        return as_one_individual(task.evaluate(self.sample(self.score_samples, seed), seed))

    def test_metrics(self, task: Task, seed: int = 0) -> dict[str, torch.Tensor]:
        """Held-out metrics of ``score_samples`` generated networks (per network; the exporter averages)."""
        return task.test_metrics(self.sample(self.score_samples, seed)) if hasattr(task, "test_metrics") else {}

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update({"trainable_params": sum(p.numel() for p in self.generator_parameters()),
                    "discriminator_params": sum(p.numel() for p in self.discriminator.parameters()),
                    "generated_params": self.target.num_params, "layers": self.layers, "set_size": self.set_size})
        return out
