"""The static hypernetwork head of Ha, Dai & Le (2017), batched over the population (and inputs).

For one generated tensor with ``n_in`` input slices (its ``in_axis``) of ``s`` numbers each:
``a_i = W_in[i] z + B_in[i]`` (``d`` numbers per slice), ``K_i = W_out a_i + B_out`` (``s`` numbers).
With ``mip`` (Ortiz, Guttag & Dalca 2023) the input is first projected to constant norm,
``E(z) = [z, 1] / ||[z, 1]||``, and the head's output is a residual added to learnable base
weights ``theta0``, so the generated kernel's magnitude no longer follows the input's magnitude.
"""
from __future__ import annotations

import math

import torch


def mip_encode(z: torch.Tensor) -> torch.Tensor:
    """``[..., n] -> [..., n + 1]`` of unit L2 norm (the magnitude-invariant input encoding)."""
    e = torch.cat([z, torch.ones_like(z[..., :1])], dim=-1)
    return e / e.norm(dim=-1, keepdim=True)


def head_shapes(shape: tuple[int, ...], in_axis: int, embedding: int, hidden: int, mip: bool
                ) -> dict[str, tuple[int, ...]]:
    """Parameter shapes of the head generating one tensor of ``shape``."""
    n_in = shape[in_axis]
    s = math.prod(shape) // n_in
    z_dim = embedding + 1 if mip else embedding
    out = {"w_in": (n_in, hidden, z_dim), "b_in": (n_in, hidden), "w_out": (s, hidden), "b_out": (s,)}
    if mip:
        out["base"] = tuple(shape)
    return out


def generate(z: torch.Tensor, p: dict[str, torch.Tensor], shape: tuple[int, ...], in_axis: int,
             mip: bool) -> torch.Tensor:
    """Kernels from embeddings. ``z``: ``[P, n_z]`` (static) or ``[P, B, n_z]`` (one per input);
    head params ``[P, ...]``. Returns ``[P, *shape]`` or ``[P, B, *shape]``: one einsum per map."""
    if mip:
        z = mip_encode(z)
    per_input = z.dim() == 3
    if per_input:
        a = torch.einsum("pidz,pbz->pbid", p["w_in"], z) + p["b_in"].unsqueeze(1)
        k = torch.einsum("pbid,psd->pbis", a, p["w_out"]) + p["b_out"][:, None, None, :]
    else:
        a = torch.einsum("pidz,pz->pid", p["w_in"], z) + p["b_in"]
        k = torch.einsum("pid,psd->pis", a, p["w_out"]) + p["b_out"].unsqueeze(1)
    lead = k.shape[:-2]
    slice_shape = shape[:in_axis] + shape[in_axis + 1:]
    k = k.reshape(*lead, shape[in_axis], *slice_shape).movedim(len(lead), len(lead) + in_axis)
    if mip:
        base = p["base"].unsqueeze(1) if per_input else p["base"]
        k = k + base
    return k


def init_head(shapes: dict[str, tuple[int, ...]], target_std: float, embedding: int, mip: bool,
              base: torch.Tensor | None, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Init so generated kernels start with the target layer's standard scale (``target_std``).

    Plain: ``z ~ N(0, 1)`` gives ``a ~ N(0, 1)`` through ``W_in ~ N(0, 1/n_z)``; MIP: the encoded
    input has unit norm, so ``W_in ~ N(0, 1)``. ``W_out ~ N(0, target_std^2 / d)``; biases zero."""
    n_in, d, z_dim = shapes["w_in"]
    w_in_std = 1.0 if mip else 1.0 / math.sqrt(embedding)
    out = {"w_in": torch.randn(n_in, d, z_dim, generator=gen) * w_in_std,
           "b_in": torch.zeros(n_in, d),
           "w_out": torch.randn(*shapes["w_out"], generator=gen) * (target_std / math.sqrt(d)),
           "b_out": torch.zeros(shapes["b_out"])}
    if mip:
        assert base is not None
        out["base"] = base
    return out
