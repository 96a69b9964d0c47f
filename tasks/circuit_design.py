"""Circuit design: recover a two-port R/C/L chain from its frequency response (Rotman & Wolf, ICASSP 2020).

The target is one circuit of the fixed-seed dataset (``evohyper.families.circuits.dataset``): ``split``, chain
length ``target_length`` (4-10) and ``target_index`` within that block. A candidate is scored by the
distance of its simulated response to the target's over the 64 log-spaced frequencies (100 Hz-10 MHz,
1 kOhm load): ``error = mean |log(r_candidate / r_target)|`` over both channels (V_out, I_in) and all
frequencies (log magnitude ratio and phase error together), minimised.

The task declares its target response in its phenotype spec (``CircuitSpec.target_response``), so a
decoder can propose designs for it (the ``circuit`` decoder's ``designer`` option).

Metrics per candidate: ``error``; ``exact`` (same canonical form: kinds, placements and values);
``kinds_match`` (same canonical kinds, values ignored); ``equivalent`` (the response is reproduced:
max |log ratio| < ``equivalence_tol``).
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
import math
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from evohyper.api.checks import MAX_MAGNITUDE, Checks
from evohyper.api.task import EvalResult, Task
from evohyper.families.circuits import (
    DEFAULT_SPACE,
    SPLITS,
    CircuitPhenotypes,
    CircuitSpec,
    circuit_block,
    log_ratio,
    plot_design,
    same_circuit,
    same_kinds,
)

_checks = Checks("task")

MAX_TARGETS = 100_000


def response_errors(candidate: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and max ``|log(candidate / target)|`` per circuit, ``[P]`` each (responses ``[P, 2, K]``)."""
    d = log_ratio(candidate, target).abs()
    return d.mean(dim=(1, 2)), d.amax(dim=(1, 2))


class CircuitDesignTask(Task):
    """Find the R/C/L chain whose frequency response matches a target circuit's (minimised response error).

    Options:
      target_length: number of components of the target circuit (within the circuit space's min..max length).
      target_index: which circuit of that length in the split's fixed, seeded list (0 .. 99,999).
      split: the data split the target comes from: ``train``, ``val`` or ``test``.
      equivalence_tol: largest response error, max over frequencies of ``|log(candidate / target)|`` (> 0),
        at which a circuit counts as equivalent to the target (metric ``equivalent``).
    """

    maximize: ClassVar[bool] = False
    network_keys: ClassVar[tuple[str, ...]] = ()   # the phenotype is a circuit

    def __init__(self, target_length: int = 6, target_index: int = 0,
                 split: Literal["train", "val", "test"] = "test", equivalence_tol: float = 0.01) -> None:
        space = DEFAULT_SPACE
        self.target_length = _checks.integer("target_length", target_length, space.min_length, space.max_length)
        self.target_index = _checks.integer("target_index", target_index, 0, MAX_TARGETS - 1)
        self.split = _checks.one_of("split", split, SPLITS)
        tol = _checks.real("equivalence_tol", equivalence_tol, 0.0, MAX_MAGNITUDE, low_open=True)
        self.equivalence_tol, self.space = tol, space
        self.device = torch.device("cpu")
        self._target: dict[str, torch.Tensor] = {}

    def setup(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        block = circuit_block(self.split, self.target_length, self.target_index + 1, self.space)
        i = self.target_index
        self._target = {"kinds": block.kinds[i:i + 1].to(self.device), "values": block.values[i:i + 1].to(self.device),
                        "response": block.response[i:i + 1].to(self.device)}

    def target_circuit(self) -> dict[str, torch.Tensor]:
        """The target's canonical ``kinds``, ``values`` ``[1, L]`` and ``response`` ``[1, 2, K]``."""
        if not self._target:
            self.setup(self.device)
        return self._target

    def target(self, network: dict[str, Any]) -> CircuitSpec:
        Checks("network").keys(network, self.network_keys)   # none: the phenotype is a circuit
        return CircuitSpec(self.space.max_length, target_response=self.target_circuit()["response"][0].cpu())

    def evaluate(self, phenotypes: CircuitPhenotypes, seed: int) -> EvalResult:
        t = self.target_circuit()
        kinds, values = phenotypes.kinds.to(self.device), phenotypes.values.to(self.device)
        if kinds.shape[1] != self.space.max_length:
            raise ValueError(f"circuit_design expects chains of {self.space.max_length} slots, got {kinds.shape[1]}")
        mean_err, max_err = response_errors(self.space.response(kinds, values), t["response"])
        n = kinds.shape[0]
        tk, tv = t["kinds"].expand(n, -1), t["values"].expand(n, -1)
        metrics = {"error": mean_err.float(),
                   "exact": same_circuit(kinds, values, tk, tv).float(),
                   "kinds_match": same_kinds(kinds, tk).float(),
                   "equivalent": (max_err < self.equivalence_tol).float()}
        return EvalResult(fitness=mean_err, metrics=metrics)

    def test_metrics(self, phenotypes: CircuitPhenotypes) -> dict[str, torch.Tensor]:
        """The best design's metrics against the target: ``error``, ``max_log_ratio``, ``equivalent``, ``exact``,
        ``kinds_match`` (reported in ``best/phenotype.json``, ``report.md`` and ``evohyper show``)."""
        kinds, values = phenotypes.kinds.to(self.device), phenotypes.values.to(self.device)
        max_err = response_errors(self.space.response(kinds, values), self.target_circuit()["response"])[1]
        return {**self.evaluate(phenotypes, 0).metrics, "max_log_ratio": max_err.float()}

    def pictures(self, phenotypes: CircuitPhenotypes, out_dir: Path) -> list[Path]:
        """``circuit.png``: the target's and the first design's schematics and both responses in one plot."""
        t = self.target_circuit()
        kinds, values = phenotypes.kinds[:1].to(self.device), phenotypes.values[:1].to(self.device)
        response = self.space.response(kinds, values)
        max_err = response_errors(response, t["response"])[1][0]
        verdict = (f"response-equivalent (max |log ratio| {float(max_err):.3g} < {self.equivalence_tol:g})"
                   if max_err < self.equivalence_tol else f"not equivalent (max |log ratio| {float(max_err):.3g})")
        design = {"kinds": kinds[0].cpu(), "values": values[0].cpu(), "response": response[0].cpu()}
        target = {"kinds": t["kinds"][0].cpu(), "values": t["values"][0].cpu(), "response": t["response"][0].cpu()}
        hz = self.space.omega / (2 * math.pi)
        return [plot_design(Path(out_dir) / "circuit.png", hz.cpu(), target, design, verdict, self.space.max_length)]
