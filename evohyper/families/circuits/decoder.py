"""Circuit decoder: integer genes ``[length, kind_1, value_1, ...]`` -> a chain of E12 components.

With ``designer`` (a trained designer's safe weights file) the decoder also *proposes* genotypes: the
designer's refined beams for the task's target response (``CircuitSpec.target_response``), declared
as ``DecoderInfo.proposals``. The GA (``circuit_ga``) starts its population from them, so
"hypernetwork + evolution" is one config (``search_spaces/circuit_design_hybrid.yaml``). The seeding
lives on the decoder because only the decoder sees the target (through its spec) and a strategy reads
nothing from a decoder but ``DecoderInfo``.
"""
from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from evohyper.api.checks import Checks
from evohyper.api.decoder import Decoder, DecoderInfo
from evohyper.api.phenotypes import TargetSpec
from evohyper.families.circuits.inference import DesignConfig, design
from evohyper.families.circuits.phenotypes import CircuitPhenotypes, CircuitSpec
from evohyper.families.circuits.space import CircuitSpace
from evohyper.families.circuits.training import load_designer

_checks = Checks("decoder")


class CircuitDecoder(Decoder):
    """Integer genes (length, then kind and E12 value index per position) -> circuit phenotypes.

    Pairs with the ``circuit_ga`` strategy; genes past ``length`` are inactive. With a ``designer``, its
    designs for the target become ``DecoderInfo.proposals``, which ``circuit_ga`` seeds its first
    population with ("hypernetwork + evolution").

    Options:
      min_length: the shortest chain a genotype may encode (1 .. the target's maximum length; a length gene
        outside that range is an error).
      designer: a trained designer's weights file (written by ``families.circuits.training.save_designer``,
        e.g. ``search_spaces/weights/circuit_designer_hyper.pt``); null: no proposals.
      beams: designs the designer proposes for the target (beam search width), 1 .. 1000.
      refine_steps: Adam steps refining each proposal's values through the simulator, 0 .. 1000.
      polish_rounds: rounds of E12 coordinate descent after refinement, 0 .. 1000.
    """

    genotype_kind: ClassVar[str] = "circuit"

    def __init__(self, target: TargetSpec, min_length: int = 4, designer: str | None = None, beams: int = 16,
                 refine_steps: int = 100, polish_rounds: int = 4):
        super().__init__(target)
        if not isinstance(target, CircuitSpec):
            _checks.refuse("name", f"'circuit' needs a circuit task (CircuitSpec target), got "
                                   f"{type(target).__name__}")
        _checks.integer("min_length", min_length, 1, target.max_length)
        _checks.integer("beams", beams, 1, 1000)
        _checks.integer("refine_steps", refine_steps, 0, 1000)
        _checks.integer("polish_rounds", polish_rounds, 0, 1000)
        self.space = CircuitSpace(min_length=min_length, max_length=target.max_length)
        self.designer, self.beams = designer, beams
        self.refine_steps, self.polish_rounds = refine_steps, polish_rounds
        if designer is not None:
            if not isinstance(designer, str) or not Path(designer).is_file():
                _checks.fail("designer", designer, "an existing designer weights file (training.save_designer), "
                                                   "or null")
            if target.target_response is None:
                _checks.refuse("designer", "needs a task that declares its target response "
                                           "(CircuitSpec.target_response; the circuit_design task does)")
            model = load_designer(designer)                          # validated here: the build is the check
            grid = lambda sp: (sp.frequencies, sp.f_min, sp.f_max, sp.load)  # noqa: E731
            if (model.max_length != target.max_length or model.min_length < min_length
                    or grid(model.space) != grid(self.space)
                    or target.target_response.shape[-1] != self.space.frequencies):
                _checks.fail("designer", designer,
                             f"a designer of the chains this decoder needs ({min_length}-{target.max_length} "
                             f"components at {grid(self.space)}: frequencies, f_min, f_max, load); this one "
                             f"designs {model.min_length}-{model.max_length} components at {grid(model.space)}")

    @property
    def genome_size(self) -> int:
        return self.space.genome_size

    def info(self) -> DecoderInfo:
        return replace(super().info(), proposals=self.proposals())

    def proposals(self) -> torch.Tensor | None:
        """The designer's genes ``[beams, 1 + 2L]`` for the target, lowest response error first (or None)."""
        if self.designer is None:
            return None
        response = self.target.target_response.to(torch.complex128).contiguous()
        path = Path(self.designer).resolve()
        return _proposals(str(path), path.stat().st_mtime_ns, self.beams, self.refine_steps, self.polish_rounds,
                          response.numpy().tobytes()).clone()

    def decode(self, genotypes: torch.Tensor, device: torch.device | str = "cpu") -> CircuitPhenotypes:
        kinds, index = self.space.decode_genes(torch.as_tensor(genotypes))
        kinds, index = kinds.to(device), index.to(device)
        return CircuitPhenotypes.from_circuits(kinds, self.space.values(kinds, index))


@functools.lru_cache(maxsize=32)
def _proposals(path: str, mtime_ns: int, beams: int, refine_steps: int, polish_rounds: int,
               response: bytes) -> torch.Tensor:
    """Beams for one target, computed once per process (every build of the same search reuses them)."""
    model = load_designer(path)
    target = torch.from_numpy(np.frombuffer(response, dtype=np.complex128).reshape(1, 2, -1).copy())
    cfg = DesignConfig(beams=beams, refine_steps=refine_steps, polish_rounds=polish_rounds)
    _, _, kinds, index = design(model, target, model.space, cfg)
    return model.space.encode_genes(kinds[0], index[0])
