"""Decoder ``neat``: a NEAT genome *is* the network (direct NEAT, the P-NEAT baseline of HyperNEAT).

The task's target gives the network's inputs and outputs (an MLP's first and last width, or a
substrate's input and output sheets); its hidden layers and activations do not apply, since a NEAT
genome carries its own nodes and functions. The decoder declares them (``info()``), so strategy
``neat`` configures its genomes itself, or checks a neat-python INI file against them.
``recurrent: true`` runs ``feed_forward = False`` genomes as neat-python's ``RecurrentNetwork``.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from evohyper.api.checks import Checks
from evohyper.api.decoder import Decoder, DecoderInfo
from evohyper.api.phenotypes import TargetSpec
from evohyper.families.neat.convert import as_genome_batch, as_neat_genome
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.networks import NEATPhenotypes

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_checks = Checks("decoder")


def network_io(target: TargetSpec) -> tuple[int, int]:
    """Inputs and outputs of a task's MLP-like target (``sizes``: MLP, Elman RNN; or a substrate)."""
    # a substrate target (families.hyperneat's SubstrateSpec) is recognised by its ``substrate.sizes``:
    # families.neat imports no other family (docs/architecture.md)
    substrate = getattr(target, "substrate", None)
    sizes = substrate.sizes if hasattr(substrate, "sizes") else getattr(target, "sizes", None)
    if not sizes or len(sizes) < 2:
        _checks.refuse("name", f"'neat' needs a task whose network has a fixed number of inputs and outputs "
                               f"(an MLP-like target or a substrate); got {type(target).__name__}")
    return int(sizes[0]), int(sizes[-1])


class NEATDecoder(Decoder):
    """A neat-python genome run as the network itself (feed-forward or recurrent), a population at once.

    Options:
      recurrent: genomes are recurrent networks (neat-python's ``RecurrentNetwork``: one step per call,
        state carried across an episode) rather than feed-forward ones.
      dtype: precision of the networks: ``float32`` or ``float64``.
    """

    genotype_kind: ClassVar[str] = "neat"

    def __init__(self, target: TargetSpec, *, recurrent: bool = False,
                 dtype: Literal["float32", "float64"] = "float32"):
        super().__init__(target)
        self.recurrent = _checks.boolean("recurrent", recurrent)
        self.dtype = _DTYPES[_checks.one_of("dtype", dtype, _DTYPES)]
        self.num_inputs, self.num_outputs = network_io(target)

    @property
    def genome_size(self) -> None:
        return None

    def info(self) -> DecoderInfo:
        """NEAT genotypes with the task's inputs and outputs (what strategy ``neat`` configures)."""
        return DecoderInfo(genotype="neat", genome_inputs=self.num_inputs, genome_outputs=self.num_outputs,
                           genome_feed_forward=not self.recurrent)

    def decode(self, genotypes: GenomeBatch | Sequence[Any], device: torch.device | str = "cpu") -> NEATPhenotypes:
        """The genomes (a ``GenomeBatch``; neat-python genomes are converted) as one population of networks,
        compiled on their first ``forward``."""
        return NEATPhenotypes(self.target, as_genome_batch(genotypes), self.num_inputs, self.num_outputs,
                              recurrent=self.recurrent, dtype=self.dtype, device=device)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "network_inputs": self.num_inputs, "network_outputs": self.num_outputs,
                "recurrent": self.recurrent, "target_params": None,
                "note": "a NEAT genome carries its own nodes and activations: the target gives only inputs/outputs"}

    #: networks with more enabled links are not drawn (a P-NEAT perceptron has 14,641: no readable picture)
    MAX_DRAWN_LINKS = 300

    def pictures(self, genotype: Any, out_dir: Path) -> list[Path]:
        """``network.png``: the evolved network (nodes, links, activation functions), if small enough to read."""
        from evohyper.families.neat.drawing import draw_cppn

        one = as_genome_batch([genotype]) if not isinstance(genotype, GenomeBatch) else genotype
        if int((one.enabled & one.conn_live).sum()) > self.MAX_DRAWN_LINKS:
            return []

        names = [f"in{i}" for i in range(self.num_inputs)], [f"out{i}" for i in range(self.num_outputs)]
        kind = "recurrent" if self.recurrent else "feed-forward"
        return [draw_cppn(as_neat_genome(one), *names, Path(out_dir) / "network.png",
                          title=f"evolved {kind} NEAT network")]
