"""Decoder ``agent_embedding``: a latent code -> a whole pole-balancing network, through a trained generator.

Chang et al. (AAMAS 2019) call the latent code of a network its *agent embedding*: a conditional VAE trained on
many evolved networks (``vae.py``, data from ``dataset.py``) generates a network from a code and a survival group.
As a decoder, the genotype is the code ``z`` (``[P, latent]``); the generator's weights are fixed (loaded from the
``generator`` file) and the condition is the configured ``group``. A vector strategy then searches the latent
space (``strategy: cmaes`` with ``x0: 0, sigma0: 1`` starts at the prior), as HyperGAN's latent CMA-ES does.

Decoding is one batched generator call for the whole population; the generated flat weights are cut into the
target's tensors in the ``direct`` layout (``target.shapes()`` order) and built into its phenotypes (a family does
not import the generic decoders, docs/architecture.md, so the few lines of ``DirectDecoder.decode`` are repeated).
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
import math
from typing import Any

import torch

from evohyper.api.checks import Checks
from evohyper.api.decoder import Decoder
from evohyper.api.phenotypes import LayeredSpec, Phenotypes, TargetSpec
from evohyper.families.embeddings.vae import load_generator

_checks = Checks("decoder")

#: most groups a generator may be conditioned on (the paper has 4; a larger number is a typo)
MAX_GROUPS = 64


def network_of(target: TargetSpec) -> dict[str, Any]:
    """What must agree between a generator and a target: tensor shapes, and the activations that give weights
    their meaning."""
    out: dict[str, Any] = {"shapes": {k: list(v) for k, v in target.shapes().items()}}
    if isinstance(target, LayeredSpec):
        out.update(kind=type(target).__name__, activation=target.activation,
                   output_activation=target.output_activation)
    return out


class AgentEmbeddingDecoder(Decoder):
    """Agent embeddings (Chang et al. 2019): latent code -> whole network through a trained conditional VAE.

    generator: the trained generator file (``evohyper.families.embeddings.save_generator``, e.g.
      ``experiments/out/agent_embeddings/generator.pt``, with its ``.json`` sidecar); required. Its network must be
      the task's (same tensor shapes and activations), else the config is refused naming both.
    group: the survival group the generator is conditioned on, 1-based (the paper's 1: 1-50 steps ... 4: 151-200
      steps); null: the best (last) group.
    """

    def __init__(self, target: TargetSpec, *, generator: str | None = None, group: int | None = None):
        super().__init__(target)
        group = _checks.integer("group", group, 1, MAX_GROUPS, optional=True)
        if generator is None:
            _checks.fail("generator", generator, "a trained generator file (required), written by "
                                                 "evohyper.families.embeddings.save_generator")
        self.path = str(generator)
        self.vae, self.meta = load_generator(generator, "generator")
        self.group = self.vae.groups if group is None else _checks.integer("group", group, 1, self.vae.groups)
        mine, theirs = network_of(target), self.meta.get("network")
        if mine != theirs:
            _checks.refuse("generator", f"{self.path!r} generates {_said(theirs)} but the task's network is "
                                        f"{_said(mine)}; train a generator for this network or change network:")
        self._shapes = target.shapes()
        self._sizes = [math.prod(s) for s in self._shapes.values()]
        if sum(self._sizes) != self.vae.input_size:   # the sidecar's shapes agree with the model's tensors
            _checks.refuse("generator", f"{self.path!r}: the model generates {self.vae.input_size} weights, "
                                        f"its sidecar's network has {sum(self._sizes)}")
        for p in self.vae.parameters():
            p.requires_grad_(False)

    # ------------------------------------------------------------------ the Decoder interface
    @property
    def genome_size(self) -> int:
        return self.vae.latent

    def weights(self, z: torch.Tensor) -> torch.Tensor:
        """Flat direct weights ``[P, D]`` generated from codes ``[P, latent]`` under ``group``."""
        if z.dim() != 2 or z.shape[1] != self.genome_size:
            raise ValueError(f"agent_embedding decoder expects genotypes [P, {self.genome_size}], got {tuple(z.shape)}")
        with torch.no_grad():
            return self.vae.generate(z, self.group - 1)

    def decode(self, genotypes: Any, device: torch.device | str = "cpu") -> Phenotypes:
        z = torch.as_tensor(genotypes, dtype=torch.float32).cpu()
        flat = self.weights(z).to(device)
        parts = torch.split(flat, self._sizes, dim=1)
        return self.target.build({name: part.reshape(len(flat), *shape)
                                  for (name, shape), part in zip(self._shapes.items(), parts)})

    def encode(self, phenotypes: Phenotypes) -> torch.Tensor:
        """Agent embeddings of existing networks: the encoder's mean code under ``group`` (to seed a search)."""
        with torch.no_grad():
            flat = torch.cat([phenotypes.tensors[n].reshape(len(phenotypes), -1) for n in self._shapes], dim=1)
            mu, _ = self.vae.encode(flat.float().cpu(), self.group - 1)
        return mu

    def initial_genotype(self, generator: torch.Generator) -> torch.Tensor:
        """A draw from the prior ``N(0, I)``."""
        return torch.randn(self.genome_size, generator=generator)

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update({"generator": self.path, "group": self.group, "groups": self.vae.groups,
                    "group_ranges": self.meta.get("group_ranges"), "generated_params": self.target.num_params,
                    "generator_params": sum(p.numel() for p in self.vae.generator.parameters())})
        return out


def _said(network: Any) -> str:
    if not isinstance(network, dict):
        return "an unknown network (no 'network' in its sidecar)"
    shapes = ", ".join(f"{k} {tuple(v)}" for k, v in network.get("shapes", {}).items())
    acts = (f"; {network.get('activation')}/{network.get('output_activation')}"
            if "activation" in network else "")
    return f"{network.get('kind', 'a network')} [{shapes}{acts}]"
