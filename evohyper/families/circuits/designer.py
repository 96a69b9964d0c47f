"""The hypernetwork circuit designer (Rotman & Wolf 2020) and its ablations, in torch.

A network ``f`` (a strided 1-D convolution over the frequency axis and two dense layers) reads the
target response into an embedding ``e``. A GRU ``g`` then emits the chain one component per step; one
fused head gives, from the GRU state, the logits of the next kind (six kinds or STOP) and of the E12
value *for each kind* (``[6, 36]``), so training reads the true kind's row and beam search scores every
(kind, value) pair from one product. The variants differ only in where ``g``'s weights come from:

=================  ==========================================================================
``gru``            one learned weight set shared by all samples; ``e`` is fed at every step
``gru_per_length`` one learned weight set per circuit length (picked by the true length: oracle)
``hyper_gru_only`` ``f`` generates the GRU's weights; the head is an ordinary learned layer
``hyper``          ``f`` generates the GRU's weights and the head's (ours)
=================  ==========================================================================

Generated weights follow Ha et al.'s memory-efficient HyperRNN: per sample, a weight matrix is the
shared ``W`` scaled row- and column-wise, ``W_b = diag(d_out(e_b)) W diag(d_in(e_b))``, plus a generated
bias, so ``x @ W_b.T = ((x * d_in) @ W.T) * d_out``: one shared product per step for the whole batch
(a full generated matrix per sample cost ~100 ms per training step here, mostly in zero-filling and
accumulating per-sample weight gradients).

``residual`` (our addition, not the paper's): at step t the GRU also reads the response of what is
still to be designed, the target with the t components chosen so far removed by the simulator
(``simulator.peel``; the true components under teacher forcing, with ``peel_noise`` jitter on their
values so that inference, which peels its own estimates, is not a surprise). Every step then asks the
same local question, "what is the first component of this chain?".
"""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from evohyper.families.circuits.simulator import EMPTY, peel
from evohyper.families.circuits.space import N_KINDS, N_VALUES, CircuitSpace

STOP = N_KINDS             # kind token 6 ends the chain
START = N_KINDS + 1        # kind token 7 starts it
VARIANTS = ("gru", "gru_per_length", "hyper_gru_only", "hyper")
Variant = Literal["gru", "gru_per_length", "hyper_gru_only", "hyper"]
N_HEAD = N_KINDS + 1 + N_KINDS * N_VALUES   # kind logits (with STOP), then value logits per kind
CHANNELS = 6


def features(resp: torch.Tensor, load: float) -> torch.Tensor:
    """``[..., 2, K]`` complex response ``(V_out, I_in)`` -> ``[..., 6, K]`` float32 network input.

    Per channel (``V_out`` and ``I_in * load``, both dimensionless): the log-magnitude (clamped to
    [-60, 20], /10) and the phase as (cos, sin), continuous where the angle wraps around +-pi. Computed
    from real and imaginary parts (a complex log was the slowest op of a training batch).
    """
    scale = torch.tensor([1.0, load], dtype=resp.real.dtype).view(2, 1)
    r = torch.view_as_real(resp * scale).float()
    sq = (r * r).sum(-1).clamp_min(1e-37)
    inv = sq.rsqrt()
    mag = (0.5 * sq.log()).clamp(-60.0, 20.0) / 10
    cos, sin = r[..., 0] * inv, r[..., 1] * inv
    return torch.stack([mag, cos, sin], -2).flatten(-3, -2)     # [..., (V: mag cos sin, I: mag cos sin), K]


class Encoder(nn.Module):
    """A strided 1-D convolution over the frequency axis, then two dense layers (three conv layers cost
    4-7x more per training step on a CPU, mostly in the convolutions' weight gradients)."""

    def __init__(self, k: int, dim: int, width: int = 16, fc: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(CHANNELS, width, 5, stride=2, padding=2), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(width * math.ceil(k / 2), fc), nn.ReLU(), nn.Linear(fc, dim), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _Modulation(nn.Module):
    """e -> per-sample (d_in, d_out, bias) of the generated matrices (``1 + small`` scales at init)."""

    def __init__(self, embed: int, shapes: dict[str, tuple[int, int]]):
        super().__init__()
        self.shapes = shapes
        self.sizes = [n for out, inp in shapes.values() for n in (inp, out, out)]
        self.linear = nn.Linear(embed, sum(self.sizes))
        nn.init.normal_(self.linear.weight, std=0.01 / math.sqrt(embed))
        nn.init.zeros_(self.linear.bias)

    def forward(self, e: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        parts = self.linear(e).split(self.sizes, dim=-1)
        return {name: (1 + parts[3 * i], 1 + parts[3 * i + 1], parts[3 * i + 2])
                for i, name in enumerate(self.shapes)}


def _mod_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                mod: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
    """``x @ W_b.T + b_b`` with ``W_b = diag(d_out) W diag(d_in)`` per sample (``mod=None``: ``W`` itself)."""
    if mod is None:
        return F.linear(x, weight, bias)
    d_in, d_out, b = mod
    return torch.addcmul(bias + b, F.linear(x * d_in, weight), d_out)


def _rows(mod: dict | None, f) -> dict | None:
    return None if mod is None else {k: tuple(f(t) for t in v) for k, v in mod.items()}


class Designer(nn.Module):
    """Target response -> component sequence logits; ``variant`` selects the ablation (module doc)."""

    def __init__(self, variant: Variant = "hyper", residual: bool = True, embed: int = 128, hidden: int = 128,
                 token: int = 32, width: int = 16, res_dim: int = 64, peel_noise: float = 0.25,
                 k: int = 64, f_min: float = 1e2, f_max: float = 1e7, load: float = 1e3,
                 max_length: int = 10, min_length: int = 4):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.config = {"variant": variant, "residual": bool(residual), "embed": embed, "hidden": hidden,
                       "token": token, "width": width, "res_dim": res_dim, "peel_noise": float(peel_noise),
                       "k": k, "f_min": float(f_min), "f_max": float(f_max), "load": float(load),
                       "max_length": max_length, "min_length": min_length}
        self.variant, self.residual, self.peel_noise = variant, bool(residual), float(peel_noise)
        self.max_length, self.min_length = max_length, min_length
        self.space = CircuitSpace(min_length, max_length, k, f_min, f_max, load)
        self.encoder = Encoder(k, embed, width)
        self.step_encoder = Encoder(k, res_dim, width, fc=128) if self.residual else None
        self.kind_emb, self.value_emb = nn.Embedding(N_KINDS + 2, token), nn.Embedding(N_VALUES, token)
        self.h0 = nn.Linear(embed, hidden)
        self.n_step = token + (res_dim if self.residual else 0)      # per-step input (e is added for gru)
        n_in = self.n_step + (embed if variant == "gru" else 0)
        tables = max_length - min_length + 1 if variant == "gru_per_length" else 1
        self.cells = nn.ModuleList(nn.GRUCell(n_in, hidden) for _ in range(tables))
        self.heads = nn.ModuleList(nn.Linear(hidden, N_HEAD) for _ in range(tables))
        shapes = {}
        if variant in ("hyper_gru_only", "hyper"):
            shapes.update(ih=(3 * hidden, n_in), hh=(3 * hidden, hidden))
        if variant == "hyper":
            shapes["head"] = (N_HEAD, hidden)
        self.modulation = _Modulation(embed, shapes) if shapes else None

    # ------------------------------------------------------------------ g
    def _gates_in(self, x: torch.Tensor, e: torch.Tensor, table: int, mod: dict | None) -> torch.Tensor:
        """The GRU's input gates from the step input ``x`` (``gru`` also reads ``e``: ``W [x; e] = W_x x +
        W_e e``, the constant ``W_e e`` once per sample)."""
        cell = self.cells[table]
        if self.variant != "gru":
            return _mod_linear(x, cell.weight_ih, cell.bias_ih, None if mod is None else mod.get("ih"))
        from_e = F.linear(e, cell.weight_ih[:, self.n_step:], cell.bias_ih)
        return F.linear(x, cell.weight_ih[:, :self.n_step]) + (from_e.unsqueeze(1) if x.dim() == 3 else from_e)

    def _recur(self, gi: torch.Tensor, h: torch.Tensor, table: int, mod: dict | None) -> torch.Tensor:
        """torch.nn.GRUCell's update from precomputed input gates ``gi`` (weights possibly generated)."""
        cell = self.cells[table]
        gh = _mod_linear(h, cell.weight_hh, cell.bias_hh, None if mod is None else mod.get("hh"))
        i_r, i_z, i_n = gi.chunk(3, -1)
        h_r, h_z, h_n = gh.chunk(3, -1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(torch.addcmul(i_n, r, h_n))
        return torch.lerp(n, h, z)

    def _head(self, h: torch.Tensor, table: int, mod: dict | None) -> torch.Tensor:
        head = self.heads[table]
        return _mod_linear(h, head.weight, head.bias, None if mod is None else mod.get("head"))

    def _step_input(self, prev_k: torch.Tensor, prev_v: torch.Tensor, resid: torch.Tensor | None) -> torch.Tensor:
        tok = self.kind_emb(prev_k) + self.value_emb(prev_v)
        if not self.residual:
            return tok
        r = self.step_encoder(features(resid, self.space.load).flatten(0, -3)).view(*tok.shape[:-1], -1)
        return torch.cat([tok, r], -1)

    def _start(self, resp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict | None]:
        e = self.encoder(features(resp, self.space.load))
        mod = self.modulation(e) if self.modulation is not None else None
        return e, torch.tanh(self.h0(e)), mod

    # ------------------------------------------------------------------ training (teacher forcing)
    def forward(self, resp: torch.Tensor, kinds: torch.Tensor, index: torch.Tensor,
                lengths: torch.Tensor | None = None, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Kind logits ``[B, L, 7]`` and the true kind's value logits ``[B, L, 36]`` for target responses
        ``resp`` ``[B, 2, K]`` (complex) given the true previous components (teacher forcing: the input
        gates of all steps and the head over all states are one product each; only the recurrent product
        runs per step). ``generator`` draws the ``peel_noise`` jitter (training); None peels exactly."""
        e, h, mod = self._start(resp)
        b = resp.shape[0]
        prev_k = torch.cat([torch.full((b, 1), START, dtype=torch.long), kinds[:, :-1].clamp(min=0)], 1)
        prev_v = torch.cat([torch.zeros((b, 1), dtype=torch.long), index[:, :-1]], 1)
        x = self._step_input(prev_k, prev_v, self._residuals(resp, kinds, index, generator) if self.residual else None)
        if self.variant == "gru_per_length":
            if lengths is None:
                raise ValueError("gru_per_length needs the circuits' lengths (an oracle input)")
            out = torch.empty((b, self.max_length, N_HEAD), dtype=e.dtype)
            for table in range(len(self.cells)):                 # one group per length (<= 7), not per sample
                idx = torch.nonzero(lengths == table + self.min_length).squeeze(1)
                if idx.numel():
                    out[idx] = self._teacher(x[idx], e[idx], h[idx], None, table)
        else:
            out = self._teacher(x, e, h, mod, 0)
        values = out[..., N_KINDS + 1:].unflatten(-1, (N_KINDS, N_VALUES))
        cur = kinds.clamp(min=0)
        value_logits = values.gather(2, cur[..., None, None].expand(-1, -1, 1, N_VALUES)).squeeze(2)
        return out[..., :N_KINDS + 1], value_logits

    def _residuals(self, resp, kinds, index, generator) -> torch.Tensor:
        """``[B, L, 2, K]``: the target with the first t true components removed, t = 0..L-1 (complex128)."""
        if generator is not None and self.peel_noise > 0:
            jitter = torch.randint(-2, 3, index.shape, generator=generator)
            jitter = jitter * (torch.rand(index.shape, generator=generator) < self.peel_noise)
            index = (index + jitter).clamp(0, N_VALUES - 1)
        values = self.space.values(kinds, index)
        out, r, omega = [], resp.to(torch.complex128), self.space.omega
        for t in range(self.max_length):
            out.append(r)
            if t + 1 < self.max_length:
                r = peel(r, kinds[:, t], values[:, t], omega)
        return torch.stack(out, 1)

    def _teacher(self, x, e, h, mod, table) -> torch.Tensor:
        seq_mod = _rows(mod, lambda t: t.unsqueeze(1))
        gi = self._gates_in(x, e, table, seq_mod)                                  # [B, L, 3H]
        states = []
        for g in gi.unbind(1):                 # unbind, not gi[:, t]: its backward is one stack, not L zero-fills
            h = self._recur(g, h, table, mod)
            states.append(h)
        return self._head(torch.stack(states, 1), table, seq_mod)

    # ------------------------------------------------------------------ inference
    def start_state(self, resp: torch.Tensor, lengths: torch.Tensor | None = None) -> dict:
        """What decoding needs per target: embedding, hidden state, modulation, weight table, residual."""
        e, h, mod = self._start(resp)
        table = torch.zeros(resp.shape[0], dtype=torch.long)
        if self.variant == "gru_per_length":
            if lengths is None:
                raise ValueError("gru_per_length needs the circuits' lengths (an oracle input)")
            table = lengths - self.min_length
        return {"e": e, "h": h, "mod": mod, "table": table, "resid": resp.to(torch.complex128)}

    def step_logits(self, state: dict, prev_k: torch.Tensor, prev_v: torch.Tensor
                    ) -> tuple[dict, torch.Tensor, torch.Tensor]:
        """One decoding step for the rows of ``state`` after component ``(prev_k, prev_v)`` (START first):
        the new state, kind log-probs ``[B, 7]`` and value log-probs given each kind ``[B, 6, 36]``."""
        e, resid = state["e"], state["resid"]
        if self.residual:
            placed = torch.where(prev_k < N_KINDS, prev_k, EMPTY)
            resid = peel(resid, placed, self.space.values(placed, prev_v), self.space.omega)
        x = self._step_input(prev_k, prev_v, resid)
        if self.variant == "gru_per_length":
            h = torch.empty_like(state["h"])
            logits = torch.empty((e.shape[0], N_HEAD), dtype=e.dtype)
            for table in torch.unique(state["table"]).tolist():
                idx = torch.nonzero(state["table"] == table).squeeze(1)
                h[idx] = self._recur(self._gates_in(x[idx], e[idx], table, None), state["h"][idx], table, None)
                logits[idx] = self._head(h[idx], table, None)
        else:
            mod = state["mod"]
            h = self._recur(self._gates_in(x, e, 0, mod), state["h"], 0, mod)
            logits = self._head(h, 0, mod)
        kind_lp = F.log_softmax(logits[:, :N_KINDS + 1], 1)
        value_lp = F.log_softmax(logits[:, N_KINDS + 1:].unflatten(1, (N_KINDS, N_VALUES)), 2)
        return {**state, "h": h, "resid": resid}, kind_lp, value_lp


def select_state(state: dict, rows: torch.Tensor) -> dict:
    """The decoding state of the given rows (beam search reorders and repeats rows)."""
    return {"e": state["e"][rows], "h": state["h"][rows], "table": state["table"][rows],
            "resid": state["resid"][rows], "mod": _rows(state["mod"], lambda t: t[rows])}


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
