"""Self-trained decoders: hypernetworks whose *own parameters* are what gradient training changes.

Why a separate protocol: for most decoders the gradient strategy trains a genotype row through
``decode`` (a direct weight vector, Ha et al.'s z or θ offset). A HyperGAN generator or a graph
hypernetwork is different: what training changes is the network that *produces* phenotypes, and one
training step draws its own population (fresh noise s, a batch of sampled architectures). Such a
decoder still has genotypes for evolution (noise, graphs); for the ``gradient`` strategy it exposes
its parameters as one flat vector, so that strategy's ``TrainingJob`` (optimizer state, checkpoints,
Ray actors, observers) works unchanged:

* ``training_loss(task, batch, generator)`` is the scalar loss of one step, computed with the
  decoder's current parameters; the engine swaps in views of the flat trained vector with
  ``torch.func.functional_call``, so gradients reach the vector. Returning ``(loss, logs)`` adds
  scalar diagnostics (averaged over a generation's steps into ``train_<name>`` metrics);
* ``training_score(task, seed)`` scores the trained decoder as one individual (fitness ``[1]``),
  e.g. the mean validation accuracy of networks it generates;
* ``save_weights`` / ``load_weights`` write and read the trained state as tensors only (atomic;
  ``torch.load(weights_only=True)``), which is what ``best/decoder_weights.pt`` holds and what the
  decoder's ``weights`` option loads for a later evolutionary search.
"""
from __future__ import annotations

import os
from abc import abstractmethod
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import torch

from evohyper.api.checks import Checks
from evohyper.api.decoder import DecoderInfo
from evohyper.api.task import EvalResult, Task

_checks = Checks("decoder")


class SelfTrainedDecoder(torch.nn.Module):
    """Mixin for ``Decoder`` subclasses that are ``nn.Module``s trained by the ``gradient`` strategy."""

    trains_own_parameters: ClassVar[bool] = True

    # ------------------------------------------------------------------ what subclasses provide
    @abstractmethod
    def training_loss(self, task: Task, batch: Any,
                      generator: torch.Generator) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Scalar loss of one training step on ``batch``; all randomness from ``generator``."""

    @abstractmethod
    def training_score(self, task: Task, seed: int) -> EvalResult:
        """Score the decoder as one individual: fitness and metrics of shape ``[1]``."""

    def info(self) -> DecoderInfo:
        """The decoder's facts (``Decoder.info``) plus the size of the flat vector gradient training changes."""
        return replace(super().info(), trained_size=self.trained_size)  # type: ignore[misc]

    # ------------------------------------------------------------------ the flat parameter vector
    def trained_names(self) -> list[str]:
        return [name for name, p in self.named_parameters() if p.requires_grad]

    @property
    def trained_size(self) -> int:
        params = dict(self.named_parameters())
        return sum(params[n].numel() for n in self.trained_names())

    def parameter_vector(self) -> torch.Tensor:
        """The trained parameters as one flat float32 vector ``[D]`` (a copy)."""
        params = dict(self.named_parameters())
        return torch.cat([params[n].detach().reshape(-1).float().cpu() for n in self.trained_names()])

    def unflatten(self, vector: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of ``vector`` ``[D]`` shaped like the trained parameters (differentiable)."""
        if vector.dim() != 1 or vector.numel() != self.trained_size:
            raise ValueError(f"{type(self).__name__}: parameter vector must be [{self.trained_size}], "
                             f"got {tuple(vector.shape)}")
        params, out, start = dict(self.named_parameters()), {}, 0
        for name in self.trained_names():
            n = params[name].numel()
            out[name] = vector[start:start + n].view_as(params[name])
            start += n
        return out

    @torch.no_grad()
    def load_parameter_vector(self, vector: torch.Tensor) -> None:
        params = dict(self.named_parameters())
        for name, value in self.unflatten(torch.as_tensor(vector).reshape(-1)).items():
            params[name].copy_(value)

    def functional_loss(self, vector: torch.Tensor, task: Task, batch: Any,
                        generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``training_loss`` with the parameters replaced by views of ``vector`` (gradients flow to it)."""
        out = torch.func.functional_call(
            _LossCall(self),
            {f"decoder.{k}": v for k, v in self.unflatten(vector).items()},
            (task, batch, generator),
            strict=False,
        )
        loss, logs = out if isinstance(out, tuple) else (out, {})
        if loss.dim() != 0:
            raise ValueError(f"{type(self).__name__}.training_loss must return a scalar, got shape {tuple(loss.shape)}")
        return loss, logs

    def initial_genotype(self, generator: torch.Generator) -> torch.Tensor:
        """Gradient training starts from the decoder's own (seeded or loaded) parameters."""
        return self.parameter_vector()

    # ------------------------------------------------------------------ weights files (no pickle)
    def save_weights(self, path: str | Path) -> Path:
        """Atomically write the state dict (tensors only; loaded with ``weights_only=True``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        torch.save({k: v.detach().cpu() for k, v in self.state_dict().items()}, tmp)
        os.replace(tmp, path)
        return path

    def load_weights(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            _checks.fail("weights", str(path), f"an existing file written by {type(self).__name__}.save_weights "
                                               "(e.g. a gradient run's best/decoder_weights.pt), or null")
        state = read_weights(path)
        try:
            self.load_state_dict(state)
        except RuntimeError as exc:
            _checks.refuse("weights", f"{str(path)!r}: the file does not match this decoder's options "
                                      f"(sizes differ): {' '.join(str(exc).split())}")


def read_weights(path: str | Path, key: str = "weights") -> dict[str, torch.Tensor]:
    """A weights file's tensors, read once per process (a file changed on disk is read again).

    Loaded with ``weights_only=True``; a file that is not a plain tensor dict is refused in one line naming the
    decoder option ``key`` that gave the path."""
    path = Path(path).resolve()
    stat = path.stat()
    try:
        return _read_weights(str(path), stat.st_mtime_ns, stat.st_size)
    except ValueError as exc:
        _checks.refuse(key, f"{str(path)!r}: {exc}")


@lru_cache(maxsize=8)
def _read_weights(path: str, mtime_ns: int, size: int) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle errors, truncation, not a torch file: all one answer
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"not a safe weights file ({first})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("expected a mapping of names to tensors")
    return state


class _LossCall(torch.nn.Module):
    """Routes ``functional_call``'s forward to the decoder's ``training_loss``."""

    def __init__(self, decoder: SelfTrainedDecoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, task: Task, batch: Any, generator: torch.Generator) -> Any:
        return self.decoder.training_loss(task, batch, generator)


def as_one_individual(result: EvalResult) -> EvalResult:
    """A population's result as one individual's: mean fitness (``[1]``; ``[P, k]`` averaged over k
    first) and mean metrics; sample-forward passes kept. What ``training_score`` usually returns."""
    fit = torch.as_tensor(result.fitness).double()
    fit = fit.mean(dim=1) if fit.dim() == 2 else fit
    return EvalResult(
        fitness=fit.mean().reshape(1),
        metrics={k: torch.as_tensor(v).float().mean().reshape(1) for k, v in result.metrics.items()},
        sample_forwards=result.sample_forwards,
    )


def is_self_trained(decoder: Any) -> bool:
    return bool(getattr(decoder, "trains_own_parameters", False))
