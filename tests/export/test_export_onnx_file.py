"""Issue 21 item 12: an ONNX export is one self-contained ``.onnx`` file when the model fits protobuf's 2 GB
limit (it used to write ``model.onnx.data`` beside ``model.onnx`` even for a 2-input network)."""
from __future__ import annotations

import shutil

import pytest
import torch

from evohyper.api.phenotypes import MLPSpec
from evohyper.export import modules, save_onnx, to_module

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")


def _xor_module():
    spec = MLPSpec([2, 3, 1])
    gen = torch.Generator().manual_seed(0)
    return to_module(spec.build({k: torch.randn(1, *s, generator=gen) for k, s in spec.shapes().items()}), 0)


def test_a_small_model_is_one_self_contained_file(tmp_path):
    module = _xor_module()
    x = torch.rand(8, 2)
    out = tmp_path / "a"
    out.mkdir()
    save_onnx(module, out / "model.onnx", x)
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx"]
    moved = tmp_path / "b"
    moved.mkdir()
    shutil.copy(out / "model.onnx", moved / "model.onnx")    # nothing else needed beside it
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(moved / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        assert torch.allclose(torch.as_tensor(got), module(x), atol=1e-5)


def test_a_model_past_the_single_file_limit_keeps_its_weights_beside_it(tmp_path, monkeypatch):
    monkeypatch.setattr(modules, "ONNX_SINGLE_FILE_BYTES", 16)   # as if these 16 weights were past 2 GB
    save_onnx(_xor_module(), tmp_path / "model.onnx", torch.rand(8, 2))
    assert (tmp_path / "model.onnx.data").exists()
