"""XOR: the two-input sanity task every neuroevolution method should solve.

Fitness is ``4 - SSE`` over the four cases (maximised; 4 is perfect). The network's output is read
as a probability, so the default ``output_activation`` is ``sigmoid``; metric ``accuracy`` is the
fraction of the four cases on the right side of 0.5.
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
from collections.abc import Iterator
from typing import Any, ClassVar

import torch

from evohyper.api.network_block import NETWORK_KEYS, mlp_target
from evohyper.api.phenotypes import MLPPhenotypes, MLPSpec
from evohyper.api.task import EvalResult, Task

XOR_INPUTS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
XOR_TARGETS = (0.0, 1.0, 1.0, 0.0)


class XorTask(Task):
    """Two-input XOR sanity check; fitness 4 - sum of squared errors (4 = perfect)."""

    maximize: ClassVar[bool] = True
    network_keys: ClassVar[tuple[str, ...]] = NETWORK_KEYS   # the MLP keys and ``recurrent``

    #: defaults for the ``network:`` block
    default_hidden: ClassVar[tuple[int, ...]] = (4,)

    def __init__(self) -> None:
        self.device = torch.device("cpu")
        self._x = torch.tensor(XOR_INPUTS)
        self._y = torch.tensor(XOR_TARGETS)

    def setup(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self._x = torch.tensor(XOR_INPUTS, device=self.device)
        self._y = torch.tensor(XOR_TARGETS, device=self.device)

    def target(self, network: dict[str, Any]) -> MLPSpec:
        return mlp_target(network, 2, 1, hidden=self.default_hidden,
                          activation="tanh", output_activation="sigmoid")

    def _outputs(self, phenotypes: MLPPhenotypes) -> torch.Tensor:
        x = self._x.to(device=phenotypes.device, dtype=phenotypes.dtype)
        return phenotypes.forward(x)[..., 0]  # [P, 4]; the shared input is one GEMM

    def _sse(self, out: torch.Tensor) -> torch.Tensor:
        y = self._y.to(device=out.device, dtype=out.dtype)
        return ((out - y) ** 2).sum(dim=1)

    def evaluate(self, phenotypes: MLPPhenotypes, seed: int) -> EvalResult:
        out = self._outputs(phenotypes)
        y = self._y.to(device=out.device)
        accuracy = ((out > 0.5) == (y > 0.5)).float().mean(dim=1)
        return EvalResult(fitness=4.0 - self._sse(out), metrics={"accuracy": accuracy},
                          sample_forwards=len(phenotypes) * len(XOR_INPUTS))

    def loss(self, phenotypes: MLPPhenotypes, batch: Any = None) -> torch.Tensor:
        """Differentiable SSE ``[P]`` over the four cases (``batch`` is ignored: the data set is 4 rows)."""
        return self._sse(self._outputs(phenotypes))

    def train_batches(self, batch_size: int = 4, seed: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch = the four cases as one batch (``batch_size`` and ``seed`` make no difference)."""
        yield self._x, self._y
