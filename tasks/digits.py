"""Digits: classify scikit-learn's bundled 8x8 handwritten digits (no download needed).

Data: ``sklearn.datasets.load_digits`` — 1797 images, 64 pixel features scaled from 0..16 to [0, 1],
10 classes. A fixed stratified split (per class: 20 % test, 20 % validation, the rest train, shuffled
with a fixed seed 0 that never depends on the ``evaluate`` seed) gives
**1079 train / 359 validation / 359 test** samples.

* ``evaluate`` scores every network on the validation set (or a seeded minibatch of it, the same for
  the whole population) in one batched call: the shared ``[B, 64]`` input is one GEMM.
* ``loss`` is the differentiable mean cross-entropy per network, for gradient strategies, fed by
  ``train_batches``; ``test_metrics`` reports held-out test accuracy/loss at the end of a run.
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
import functools
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from evohyper.api.checks import Checks
from evohyper.api.conv import ConvSpec
from evohyper.api.network_block import NETWORK_KEYS, mlp_target
from evohyper.api.phenotypes import ACTIVATIONS, MLPPhenotypes, TargetSpec
from evohyper.api.task import EvalResult, Task

_checks = Checks("task")
_network = Checks("network")

N_FEATURES, N_CLASSES = 64, 10
SPLIT_SEED = 0
TEST_FRACTION = VAL_FRACTION = 0.2
FITNESS_CHOICES = ("neg_cross_entropy", "accuracy")
CONV_KEYS = ("type", "channels", "kernel", "activation", "pool")


def conv_target(network: dict[str, Any]) -> ConvSpec:
    """``network: {type: conv, channels: [16, 16], kernel: 3, activation: relu, pool: true}`` over
    the 8x8 image (1 channel): convs + 2x2 max-pools, then a linear head to the 10 logits."""
    network = _network.keys(network, CONV_KEYS)
    channels = _network.sizes("channels", network.get("channels", [16, 16]), non_empty=True)
    kernel = network.get("kernel", 3)
    if kernel not in (1, 3, 5, 7) or isinstance(kernel, (bool, float)):
        _network.fail("kernel", kernel, "one of 1, 3, 5, 7 (an odd width: the convolution keeps the image size)")
    pool = _network.boolean("pool", network.get("pool", True))
    activation = _network.one_of("activation", network.get("activation", "relu"), ACTIVATIONS)
    return ConvSpec([1, 8, 8], channels, N_CLASSES, kernel=kernel, activation=activation, pool=pool)


def image_split() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``load_split`` as tensors of ``[n, 1, 8, 8]`` images (for convolutional cells)."""
    return {k: (torch.from_numpy(x.copy()).view(-1, 1, 8, 8), torch.from_numpy(y.copy()))
            for k, (x, y) in load_split().items()}


@functools.lru_cache(maxsize=1)
def load_split() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The fixed split ``{"train"|"val"|"test": (x float32 [n, 64] in [0, 1], y int64 [n])}``.

    Per class, the sample indices are permuted with ``torch.Generator().manual_seed(SPLIT_SEED)``;
    the first ``round(0.2 n_c)`` go to test, the next ``round(0.2 n_c)`` to validation, the rest to
    train; each part is then sorted by original index (the order never depends on a run's seed).
    """
    from sklearn.datasets import load_digits  # bundled with scikit-learn: nothing is downloaded

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    gen = torch.Generator().manual_seed(SPLIT_SEED)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for c in range(N_CLASSES):
        idx = np.flatnonzero(y == c)
        idx = idx[torch.randperm(len(idx), generator=gen).numpy()]
        n_test, n_val = round(TEST_FRACTION * len(idx)), round(VAL_FRACTION * len(idx))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test:n_test + n_val])
        parts["train"].append(idx[n_test + n_val:])
    out = {}
    for name, chunks in parts.items():
        sel = np.sort(np.concatenate(chunks))
        sel.setflags(write=False)
        xs, ys = x[sel], y[sel]
        xs.setflags(write=False), ys.setflags(write=False)
        out[name] = (xs, ys)
    return out


def _cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy ``[P, B]`` from logits ``[P, B, C]`` and shared labels ``[B]``."""
    logp = torch.log_softmax(logits, dim=-1)
    return -logp.gather(-1, y.view(1, -1, 1).expand(logits.shape[0], -1, 1)).squeeze(-1)


class DigitsTask(Task):
    """Classify sklearn's 8x8 digits (64 inputs, 10 classes); fitness on a fixed validation split.

    Options:
      fitness: ``neg_cross_entropy`` (default) = minus the mean validation cross-entropy, a smooth
        signal that ranks every individual (evolution strategies make steady progress on it);
        ``accuracy`` = validation accuracy, piecewise constant (many ties, plateaus). Both maximised.
      eval_batch: ``None`` (default) = the whole validation set (359 samples) every generation;
        an integer = that many validation samples drawn without replacement from the ``evaluate``
        seed (one draw shared by all individuals: common random numbers, chunk-invariant).

    The network's last layer gives the 10 logits (``output_activation`` should stay ``identity``);
    ``network: {type: conv, ...}`` selects a small conv net instead of the MLP (see ``conv_target``).
    """

    maximize: ClassVar[bool] = True
    network_keys: ClassVar[tuple[str, ...]] = (*NETWORK_KEYS, *(k for k in CONV_KEYS if k not in NETWORK_KEYS))
    default_hidden: ClassVar[tuple[int, ...]] = (16,)

    def __init__(self, fitness: Literal["neg_cross_entropy", "accuracy"] = "neg_cross_entropy",
                 eval_batch: int | None = None) -> None:
        self.fitness = _checks.one_of("fitness", fitness, FITNESS_CHOICES)
        n_val = len(load_split()["val"][1])
        self.eval_batch = None if eval_batch is None else _checks.integer("eval_batch", eval_batch, 1, n_val)
        self.stochastic = self.eval_batch is not None   # a minibatch drawn from the evaluate seed
        self.device: torch.device | None = None
        self._data: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    # ------------------------------------------------------------------ data
    def setup(self, device: torch.device | str = "cpu") -> None:
        """Put the fixed split on ``device`` (idempotent: the split is a cached constant)."""
        self.device = torch.device(device)
        self._data = {name: (torch.from_numpy(x.copy()).to(self.device), torch.from_numpy(y.copy()).to(self.device))
                      for name, (x, y) in load_split().items()}

    def split(self, name: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The images and labels of split ``name`` (train, val, test) on ``device``, set up on first use."""
        if self.device != device or not self._data:
            self.setup(device)  # evaluated before setup, or phenotypes on another device
        return self._data[name]

    def split_sizes(self) -> dict[str, int]:
        return {name: len(y) for name, (_, y) in load_split().items()}

    def train_batches(self, batch_size: int = 64, seed: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch over the training split in an order shuffled from ``seed``: ``(x [B, 64], y [B])``
        batches, the last one possibly smaller. Call again (e.g. with ``seed + epoch``) for more epochs."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:  # an argument
            raise ValueError(f"train_batches needs batch_size >= 1, got {batch_size!r}")
        x, y = self.split("train", self.device or torch.device("cpu"))
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(int(seed))).to(x.device)
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            yield x[idx], y[idx]

    # ------------------------------------------------------------------ scoring
    def target(self, network: dict[str, Any]) -> TargetSpec:
        """``network.type``: ``mlp`` (default; keys hidden, activation, ...) or ``conv`` (see ``conv_target``)."""
        network = dict(network or {})
        kind = network.get("type", "mlp")
        if kind == "conv":
            return conv_target(network)
        if kind != "mlp":
            _network.fail("type", kind, "one of 'mlp', 'conv'")
        network.pop("type", None)
        return mlp_target(network, N_FEATURES, N_CLASSES, hidden=self.default_hidden,
                          activation="tanh", output_activation="identity")

    def _scores(self, phenotypes: MLPPhenotypes, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits = phenotypes.forward(x.to(phenotypes.dtype))  # [P, B, 10]: one batched forward
        ce = _cross_entropy(logits, y).mean(dim=1)
        acc = (logits.argmax(dim=-1) == y).float().mean(dim=1)
        return ce, acc

    def evaluate(self, phenotypes: MLPPhenotypes, seed: int) -> EvalResult:
        x, y = self.split("val", phenotypes.device)
        if self.eval_batch is not None:
            pick = torch.randperm(len(y), generator=torch.Generator().manual_seed(int(seed)))[:self.eval_batch]
            pick = pick.to(x.device)
            x, y = x[pick], y[pick]
        ce, acc = self._scores(phenotypes, x, y)
        fitness = acc if self.fitness == "accuracy" else -ce
        return EvalResult(fitness=fitness, metrics={"val_accuracy": acc, "val_loss": ce},
                          sample_forwards=len(phenotypes) * len(y))

    def loss(self, phenotypes: MLPPhenotypes, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Mean cross-entropy ``[P]`` of every network on ``batch = (x [B, 64], y [B])`` (differentiable)."""
        x, y = batch
        x = torch.as_tensor(x, device=phenotypes.device, dtype=phenotypes.dtype)
        y = torch.as_tensor(y, device=phenotypes.device, dtype=torch.long)
        return _cross_entropy(phenotypes.forward(x), y).mean(dim=1)

    def test_metrics(self, phenotypes: MLPPhenotypes) -> dict[str, torch.Tensor]:
        """Held-out test accuracy and cross-entropy ``{name: [P]}`` (reported once, at the end)."""
        x, y = self.split("test", phenotypes.device)
        with torch.no_grad():
            ce, acc = self._scores(phenotypes, x, y)
        return {"test_accuracy": acc, "test_loss": ce}
