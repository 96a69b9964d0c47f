"""The hypernetwork circuit designer (Rotman & Wolf 2020) and its ablations, in torch.

A 1-D CNN ``f`` reads the response ``[4, K]`` (log magnitude and phase of V_out and I_in) into an
embedding ``e``. A GRU ``g`` then emits the chain one component per step: a kind (six kinds or STOP)
and an E12 value index given that kind. What differs between the variants is where ``g``'s weights
come from, so every variant runs the same per-sample GRU (``_gru_step``; ``torch.nn.GRUCell``'s
equations, because torch has no GRU that takes a different weight set per sample):

=================  ==========================================================================
``gru``            one learned weight set shared by all samples; ``e`` is fed at every step
``gru_per_length`` one learned weight set per circuit length (picked by the true length: oracle)
``hyper_gru_only`` ``f`` generates the GRU weights; the output heads are ordinary learned layers
``hyper``          ``f`` generates the GRU weights and the output heads (ours; ours w/o simulator)
=================  ==========================================================================
"""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from evohyper.families.circuits.space import N_KINDS, N_VALUES

STOP = N_KINDS             # kind token 6 ends the chain
START = N_KINDS + 1        # kind token 7 starts it
VARIANTS = ("gru", "gru_per_length", "hyper_gru_only", "hyper")
Variant = Literal["gru", "gru_per_length", "hyper_gru_only", "hyper"]


def features(resp: torch.Tensor, load: float) -> torch.Tensor:
    """``[N, 2, K]`` complex response -> ``[N, 4, K]`` float32 network input (scaled log-magnitude, phase)."""
    v, i = resp[:, 0], resp[:, 1] * load
    return torch.stack([v.abs().log() / 5, v.angle() / math.pi, i.abs().log() / 5, i.angle() / math.pi], 1).float()


class Encoder(nn.Module):
    """f's trunk: a 1-D CNN over the frequency axis."""

    def __init__(self, k: int, dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(4, 16, 5, stride=2, padding=2), nn.ReLU(),
                                 nn.Conv1d(16, 32, 5, stride=2, padding=2), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(32 * math.ceil(math.ceil(k / 2) / 2), dim), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Designer(nn.Module):
    """Response -> component sequence logits; ``variant`` selects the ablation (see module doc)."""

    def __init__(self, variant: Variant = "hyper", k: int = 64, embed: int = 64, hidden: int = 48, token: int = 24,
                 max_length: int = 10, min_length: int = 4):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.variant, self.hidden, self.max_length, self.min_length = variant, hidden, max_length, min_length
        self.encoder = Encoder(k, embed)
        self.kind_emb, self.value_emb = nn.Embedding(N_KINDS + 2, token), nn.Embedding(N_VALUES, token)
        self.cur_kind_emb = nn.Embedding(N_KINDS + 1, token)
        self.h0 = nn.Linear(embed, hidden)
        n_in = token + (embed if variant in ("gru", "gru_per_length") else 0)
        h = hidden
        self.gru_shapes = {"w_ih": (3 * h, n_in), "w_hh": (3 * h, h), "b_ih": (3 * h,), "b_hh": (3 * h,)}
        self.head_shapes = {"w_k": (N_KINDS + 1, h), "b_k": (N_KINDS + 1,), "w_v": (N_VALUES, h + token),
                            "b_v": (N_VALUES,)}
        n_gru = sum(math.prod(s) for s in self.gru_shapes.values())
        n_head = sum(math.prod(s) for s in self.head_shapes.values())
        generated = {"gru": 0, "gru_per_length": 0, "hyper_gru_only": n_gru, "hyper": n_gru + n_head}[variant]
        table = {"gru": 1, "gru_per_length": max_length - min_length + 1}.get(variant, 1)
        own = {"gru": n_gru + n_head, "gru_per_length": n_gru + n_head, "hyper_gru_only": n_head, "hyper": 0}[variant]
        scale = 1 / math.sqrt(h)
        self.table = nn.Parameter(torch.empty(table, own).uniform_(-scale, scale)) if own else None
        if generated:  # the hypernetwork's head: e -> g's weights (small init: start near a fixed GRU)
            self.generator = nn.Linear(embed, generated)
            nn.init.uniform_(self.generator.weight, -scale / math.sqrt(embed), scale / math.sqrt(embed))
            nn.init.uniform_(self.generator.bias, -scale, scale)
        else:
            self.generator = None

    # ------------------------------------------------------------------ weights of g per sample
    def _weights(self, e: torch.Tensor, lengths: torch.Tensor | None) -> dict[str, torch.Tensor]:
        b = e.shape[0]
        parts = []
        if self.generator is not None:
            parts.append(self.generator(e))
        if self.table is not None:
            if self.variant == "gru_per_length":
                if lengths is None:
                    raise ValueError("gru_per_length needs the circuits' lengths (an oracle input)")
                parts.append(self.table[lengths - self.min_length])
            else:
                parts.append(self.table.expand(b, -1))
        shared = self.variant == "gru"
        flat = torch.cat(parts, 1)          # generated GRU weights first, then the learned ones
        shapes = {**self.gru_shapes, **self.head_shapes}
        out, i = {}, 0
        for name, shape in shapes.items():
            n = math.prod(shape)
            piece = flat[:, i:i + n]
            out[name] = piece[:1].view(1, *shape).expand(b, *shape) if shared else piece.reshape(b, *shape)
            i += n
        return out

    @classmethod
    def _gru_step(cls, x: torch.Tensor, h: torch.Tensor, w: dict[str, torch.Tensor]) -> torch.Tensor:
        """torch.nn.GRUCell's update with per-sample weights (batched matrix products)."""
        gi, gh = cls._linear(x, w["w_ih"], w["b_ih"]), cls._linear(h, w["w_hh"], w["b_hh"])
        i_r, i_z, i_n = gi.chunk(3, 1)
        h_r, h_z, h_n = gh.chunk(3, 1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return (1 - z) * n + z * h

    @staticmethod
    def _linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``x @ w[i].T + b[i]`` per sample; one shared GEMM when the weights are one set broadcast."""
        if w.stride(0) == 0 and b.stride(0) == 0:
            return F.linear(x, w[0], b[0])
        return torch.baddbmm(b.unsqueeze(1), x.unsqueeze(1), w.transpose(1, 2)).squeeze(1)

    def _start(self, x: torch.Tensor, lengths: torch.Tensor | None):
        e = self.encoder(x)
        return e, self._weights(e, lengths), torch.tanh(self.h0(e))

    def _input(self, e: torch.Tensor, prev_kind: torch.Tensor, prev_value: torch.Tensor) -> torch.Tensor:
        tok = self.kind_emb(prev_kind) + self.value_emb(prev_value)
        return torch.cat([tok, e], 1) if self.variant in ("gru", "gru_per_length") else tok

    # ------------------------------------------------------------------ training (teacher forcing)
    def forward(self, x: torch.Tensor, kinds: torch.Tensor, index: torch.Tensor,
                lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Kind logits ``[B, L, 7]`` and value logits ``[B, L, 36]`` given the true previous components."""
        e, w, h = self._start(x, lengths)
        b = x.shape[0]
        prev_k = torch.full((b,), START, dtype=torch.long, device=x.device)
        prev_v = torch.zeros((b,), dtype=torch.long, device=x.device)
        kl, vl = [], []
        for t in range(self.max_length):
            h = self._gru_step(self._input(e, prev_k, prev_v), h, w)
            cur = kinds[:, t].clamp(min=0)       # teacher-forced current kind conditions the value head
            kl.append(self._linear(h, w["w_k"], w["b_k"]))
            vl.append(self._linear(torch.cat([h, self.cur_kind_emb(cur)], 1), w["w_v"], w["b_v"]))
            prev_k, prev_v = cur, index[:, t]
        return torch.stack(kl, 1), torch.stack(vl, 1)

    # ------------------------------------------------------------------ inference (greedy)
    @torch.no_grad()
    def generate(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Greedy decoding of the whole batch at once: ``(kinds, value_index)`` ``[B, L]``, EMPTY after STOP."""
        e, w, h = self._start(x, lengths)
        b = x.shape[0]
        prev_k = torch.full((b,), START, dtype=torch.long, device=x.device)
        prev_v = torch.zeros((b,), dtype=torch.long, device=x.device)
        done = torch.zeros((b,), dtype=torch.bool, device=x.device)
        kinds = torch.full((b, self.max_length), -1, dtype=torch.long, device=x.device)
        index = torch.zeros((b, self.max_length), dtype=torch.long, device=x.device)
        for t in range(self.max_length):
            h = self._gru_step(self._input(e, prev_k, prev_v), h, w)
            logits = self._linear(h, w["w_k"], w["b_k"])
            if t < self.min_length:
                logits[:, STOP] = float("-inf")
            if lengths is not None and self.variant == "gru_per_length":   # the oracle knows the length
                logits[:, STOP] = torch.where(t >= lengths, float("inf"), float("-inf"))
            k = logits.argmax(1)
            done = done | (k == STOP)
            k = k.clamp(max=N_KINDS - 1)
            v = self._linear(torch.cat([h, self.cur_kind_emb(k)], 1), w["w_v"], w["b_v"]).argmax(1)
            kinds[:, t] = torch.where(done, -1, k)
            index[:, t] = torch.where(done, 0, v)
            prev_k, prev_v = k, v
        return kinds, index
