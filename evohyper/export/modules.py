"""Phenotype -> ``torch.nn.Module`` -> file (``torch.export`` program or ONNX), each step checked.

Why ``torch.export`` for the torch format: TorchScript (``torch.jit``) is deprecated in the torch we
pin; an ``ExportedProgram`` saved with ``torch.export.save`` loads with ``torch.export.load(path).module()``
and needs nothing but torch. The ONNX file is made from the same program by torch's exporter
(``dynamo=True``, which needs the ``onnx`` and ``onnxscript`` packages). Both keep the batch dimension
dynamic.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from evohyper.api.phenotypes import Phenotypes

#: what a file must reproduce: max |exported - phenotype| over random inputs (float32 rounding ~1e-7)
TOLERANCE = 1e-5


class ExportError(RuntimeError):
    """A phenotype or a run cannot be exported (the message says why and what would work)."""


def to_module(phenotypes: Phenotypes, index: int = 0) -> torch.nn.Module:
    """Individual ``index`` of a population as a plain module: ``forward(x [B, ...]) -> [B, n_out]``.

    The module's parameters are ordinary ``nn.Parameter``s (fine-tune it by gradient); its
    ``input_shape`` attribute is the shape of one input row."""
    if not 0 <= index < len(phenotypes):
        raise ExportError(f"index {index} is outside the population of {len(phenotypes)}")
    try:
        module = phenotypes.to_module(index)
    except NotImplementedError as exc:
        raise ExportError(str(exc)) from None
    return module.eval()


def example_input(module: torch.nn.Module, batch: int = 16, seed: int = 0) -> torch.Tensor:
    """Random inputs ``[batch, *module.input_shape]`` in the module's dtype (a local generator)."""
    dtype = next(module.parameters()).dtype
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, *module.input_shape, generator=gen, dtype=torch.float64).mul_(2).sub_(1).to(dtype)


def max_difference(a: Any, b: Any) -> float:
    return float((torch.as_tensor(a).double() - torch.as_tensor(b).double()).abs().max())


def exported_program(module: torch.nn.Module, x: torch.Tensor) -> torch.export.ExportedProgram:
    batch = torch.export.Dim("batch", min=1)
    with torch.no_grad():
        return torch.export.export(module, (x,), dynamic_shapes=({0: batch},))


def save_torch(module: torch.nn.Module, path: str | Path, x: torch.Tensor) -> float:
    """Write a ``torch.export`` program; returns max |loaded program - module| on ``x``."""
    path = Path(path)
    torch.export.save(exported_program(module, x), path)
    with torch.no_grad():
        return max_difference(torch.export.load(path).module()(x), module(x))


#: weights up to this size go inside the one ``.onnx`` file (protobuf refuses messages over 2 GiB); larger
#: models keep them in ``<file>.data`` beside it (ONNX external data)
ONNX_SINGLE_FILE_BYTES = 1_800_000_000


def _weight_bytes(module: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


def save_onnx(module: torch.nn.Module, path: str | Path, x: torch.Tensor) -> float | None:
    """Write ONNX, one self-contained file unless the weights pass ``ONNX_SINGLE_FILE_BYTES``; returns
    max |onnxruntime - module| on ``x`` (None when onnxruntime is not installed)."""
    import importlib.util
    import logging
    import warnings

    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise ExportError(f"--format onnx needs the package(s) {missing}: pip install onnx onnxscript onnxruntime")
    path = Path(path)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(exported_program(module, x), (x,), str(path), dynamo=True, verbose=False,
                          input_names=["x"], output_names=["y"], optimize=True,
                          external_data=_weight_bytes(module) > ONNX_SINGLE_FILE_BYTES)
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        return max_difference(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0], module(x))
