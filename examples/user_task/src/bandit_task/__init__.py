"""A user's own task: regress a fixed random linear map with a small MLP."""
from __future__ import annotations

import torch

from evohyper import EvalResult, MLPSpec, Task


class TargetRegression(Task):
    """Fit y = A x for a fixed random A; fitness is the negative mean squared error."""

    maximize = True
    stochastic = True   # fitness depends on the seed (x is drawn from it): best/ is chosen by re-evaluation

    def __init__(self, inputs: int = 3, outputs: int = 2, samples: int = 64):
        if inputs < 1 or outputs < 1 or samples < 1:
            raise ValueError(f"inputs, outputs and samples must be >= 1, got {inputs}, {outputs}, {samples}")
        self.inputs, self.outputs, self.samples = inputs, outputs, samples

    def setup(self, device="cpu"):
        super().setup(device)
        g = torch.Generator().manual_seed(1234)
        self.A = torch.randn(self.inputs, self.outputs, generator=g).to(self.device)

    def target(self, network):
        return MLPSpec([self.inputs, *network.get("hidden", [8]), self.outputs],
                       activation=network.get("activation", "tanh"))

    def evaluate(self, phenotypes, seed):
        # Common random inputs for every individual, drawn from the seed: chunk-invariant by construction.
        x = torch.randn(self.samples, self.inputs, generator=torch.Generator().manual_seed(seed)).to(self.device)
        y = phenotypes.forward(x)                                  # [P, samples, outputs], one batched call
        mse = ((y - x @ self.A) ** 2).mean(dim=(1, 2))
        return EvalResult(-mse, {"mse": mse}, sample_forwards=len(phenotypes) * self.samples)

    def loss(self, phenotypes, batch):
        x = batch
        return ((phenotypes.forward(x) - x @ self.A) ** 2).mean(dim=(1, 2))
