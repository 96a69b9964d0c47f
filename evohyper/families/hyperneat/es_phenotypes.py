"""A population of ES-HyperNEAT networks (different hidden nodes per individual) run as one padded batch.

Why padded: each individual discovers its own hidden nodes, but a generation must run in one batched
forward. Hidden nodes are packed to the population's largest count (padding has no links, so it never
changes an output) and the network is three stacked weight tensors: inputs -> hidden ``w_in [P, I, H]``,
hidden -> hidden ``w_hh [P, H, H]`` and hidden -> outputs ``w_out [P, H, O]``. ES-HyperNEAT connects
inputs only to hidden nodes and outputs only from hidden nodes.

The forward updates all hidden nodes synchronously ``steps`` times from zero (neat-python's
``RecurrentNetwork`` semantics: ``h <- act(x w_in + h w_hh)``), then reads the outputs
``act_out(h w_out)`` (0 for an output no link reaches, as neat-python leaves it). For an acyclic network
``steps`` is the longest chain of hidden nodes, which makes
the result exactly the feed-forward one (further steps change nothing, so individuals of different depth
share the loop); a recurrent network runs a fixed number of steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from evohyper.api.phenotypes import ACTIVATIONS, Phenotypes, TargetSpec, activation

NAMES = ("w_in", "w_hh", "w_out", "steps", "hidden_xy", "hidden_mask")


@dataclass
class ESNetworkSpec(TargetSpec):
    """Interface of ES-HyperNEAT phenotypes: inputs, outputs and node activations (hidden nodes vary)."""

    num_inputs: int
    num_outputs: int
    activation: str = "tanh"
    output_activation: str = "identity"

    def __post_init__(self) -> None:
        activation(self.activation), activation(self.output_activation)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-individual shapes with no hidden node (the hidden count is decided by each decode)."""
        return {"w_in": (self.num_inputs, 0), "w_hh": (0, 0), "w_out": (0, self.num_outputs), "steps": (),
                "hidden_xy": (0, 2), "hidden_mask": (0,)}

    def build(self, tensors: dict[str, torch.Tensor]) -> ESPhenotypes:
        return ESPhenotypes(self, tensors)


class ESPhenotypes(Phenotypes):
    """P ES-HyperNEAT networks, padded to a common hidden count ``H``; ``forward`` runs them all."""

    def __init__(self, spec: ESNetworkSpec, tensors: dict[str, torch.Tensor]):
        missing = [n for n in NAMES if n not in tensors]
        if missing:
            raise ValueError(f"ES-HyperNEAT phenotypes need tensors {list(NAMES)}; missing {missing}")
        self.spec, self.tensors = spec, {n: tensors[n] for n in NAMES}

    @property
    def num_hidden(self) -> torch.Tensor:
        """Hidden nodes of each individual ``[P]``."""
        return self.tensors["hidden_mask"].sum(dim=1)

    def select(self, index: torch.Tensor | slice | list[int]) -> ESPhenotypes:
        """A sub-population, its padding trimmed to its own largest hidden count (so a selected individual
        equals the same individual decoded alone)."""
        t = {k: v[index] for k, v in self.tensors.items()}
        H = int(t["hidden_mask"].sum(dim=1).max()) if t["hidden_mask"].shape[0] else 0
        t["w_in"], t["w_hh"], t["w_out"] = t["w_in"][:, :, :H], t["w_hh"][:, :H, :H], t["w_out"][:, :H]
        t["hidden_xy"], t["hidden_mask"] = t["hidden_xy"][:, :H], t["hidden_mask"][:, :H]
        return ESPhenotypes(self.spec, t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[B, in]`` (shared) or ``[P, B, in]`` (each individual its own) -> outputs ``[P, B, out]``."""
        w_in, w_hh, w_out = self.tensors["w_in"], self.tensors["w_hh"], self.tensors["w_out"]
        P, n_in, H = w_in.shape
        if x.dim() == 2 and x.shape[1] == n_in:
            pre = torch.matmul(x.to(w_in.dtype), w_in)                    # [P, B, H], x broadcast
        elif x.dim() == 3 and x.shape[0] == P and x.shape[2] == n_in:
            pre = torch.bmm(x.to(w_in.dtype), w_in)
        else:
            raise ValueError(f"input must be [B, {n_in}] or [{P}, B, {n_in}], got {tuple(x.shape)}")
        act = ACTIVATIONS[self.spec.activation]
        h = torch.zeros_like(pre)
        steps = int(self.tensors["steps"].max()) if P and H else 0
        for _ in range(steps):  # a loop over activation steps; every individual steps at once
            h = act(torch.baddbmm(pre, h, w_hh))
        out = ACTIVATIONS[self.spec.output_activation](torch.bmm(h, w_out))
        linked = (w_out != 0).any(dim=1)[:, None, :]                     # an output no link reaches reads 0
        return torch.where(linked, out, torch.zeros((), dtype=out.dtype, device=out.device))

    __call__ = forward

    def describe(self) -> dict[str, Any]:
        hidden = self.num_hidden
        links = [int((self.tensors[n] != 0).sum()) for n in ("w_in", "w_hh", "w_out")]
        return {**super().describe(), "hidden_nodes": hidden.tolist(),
                "links": {"in_hidden": links[0], "hidden_hidden": links[1], "hidden_out": links[2]},
                "steps": self.tensors["steps"].tolist()}
