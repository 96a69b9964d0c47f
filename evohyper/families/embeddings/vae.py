"""The conditional VAE of agent embeddings (Chang et al., AAMAS 2019): whole networks <-> a small latent code.

Our reading of the paper, as built:

- **Data.** A network is its flat weight vector (the ``direct`` layout of the target MLP, ``w0, b0, w1, b1``),
  standardised per weight with the training set's mean and standard deviation (kept as buffers, so the
  generator emits raw weights). The condition is the one-hot survival group (four groups of a 200-step episode).
- **Model.** Encoder ``q(z | w, c)``: an MLP on ``[w, c]`` to the mean and log-variance of a diagonal Gaussian;
  decoder (the *generator*) ``p(w | z, c)``: an MLP on ``[z, c]`` to the (standardised) weights. ReLU hidden
  layers. The paper trains a VAE on weight vectors with the survival group as the condition; the widths and the
  latent size are ours (options).
- **Loss.** The usual negative ELBO: the squared error of the reconstructed standardised weights summed over
  weights (a unit-variance Gaussian likelihood up to a constant) plus ``beta`` times the KL divergence of
  ``q(z | w, c)`` from ``N(0, I)``, averaged over a minibatch; ``beta = 1`` is the plain VAE. Adam.
- **Sampling.** ``z ~ N(0, I)`` and the chosen group's one-hot, through the generator.

Training is deterministic under its seed (seeded initialisation under ``torch.random.fork_rng``, a seeded
``Generator`` for shuffling and for the reparameterisation noise). The trained model is saved as a plain tensor
dict (``torch.save`` of its state dict, loaded with ``torch.load(weights_only=True)``) next to a JSON sidecar
``<file>.json`` holding everything needed to rebuild it (sizes, groups, the target network it generates).
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from evohyper.api.checks import Checks
from evohyper.api.self_trained import read_weights

FORMAT = "evohyper-agent-embedding-1"
_checks = Checks("decoder")


def _mlp(sizes: list[int]) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


class ConditionalVAE(torch.nn.Module):
    """``encode(w, c) -> (mu, logvar)``, ``generate(z, c) -> w``: weights ``[N, D]``, groups ``[N]`` (0-based)."""

    def __init__(self, input_size: int, groups: int = 4, latent: int = 8, hidden: tuple[int, ...] = (128, 128),
                 init_seed: int = 0):
        super().__init__()
        self.input_size, self.groups, self.latent, self.hidden = int(input_size), int(groups), int(latent), \
            [int(h) for h in hidden]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(init_seed))
            self.encoder = _mlp([self.input_size + self.groups, *self.hidden, 2 * self.latent])
            self.generator = _mlp([self.latent + self.groups, *self.hidden[::-1], self.input_size])
        self.register_buffer("mean", torch.zeros(self.input_size))
        self.register_buffer("std", torch.ones(self.input_size))

    def set_normalisation(self, weights: torch.Tensor) -> None:
        """Standardise per weight with ``weights``' mean and std (a constant weight keeps std 1)."""
        std = weights.std(dim=0)
        self.mean.copy_(weights.mean(dim=0))
        self.std.copy_(torch.where(std > 1e-8, std, torch.ones_like(std)))

    def condition(self, group: torch.Tensor | int, n: int) -> torch.Tensor:
        """Condition rows ``[n, groups]``: one-hot rows of group indices ``[n]`` (a scalar index is broadcast to all
        n rows), or a float tensor ``[n, groups]`` used as it is (a mixture of groups, e.g. along an
        interpolation between agents of two groups)."""
        if isinstance(group, torch.Tensor) and group.is_floating_point():
            if group.shape != (n, self.groups):
                raise ValueError(f"a soft condition must be [{n}, {self.groups}], got {tuple(group.shape)}")
            return group.to(self.mean)
        g = torch.as_tensor(group, dtype=torch.long, device=self.mean.device)
        g = g.expand(n) if g.dim() == 0 else g
        return torch.nn.functional.one_hot(g, self.groups).to(self.mean.dtype)

    def encode(self, weights: torch.Tensor, group: torch.Tensor | int) -> tuple[torch.Tensor, torch.Tensor]:
        x = (weights - self.mean) / self.std
        h = self.encoder(torch.cat([x, self.condition(group, len(x))], dim=1))
        return h[:, :self.latent], h[:, self.latent:]

    def generate_normalised(self, z: torch.Tensor, group: torch.Tensor | int) -> torch.Tensor:
        return self.generator(torch.cat([z, self.condition(group, len(z))], dim=1))

    def generate(self, z: torch.Tensor, group: torch.Tensor | int) -> torch.Tensor:
        """Raw network weights ``[N, D]`` from latent codes ``[N, latent]`` (one batched MLP call)."""
        return self.generate_normalised(z, group) * self.std + self.mean

    def loss(self, weights: torch.Tensor, group: torch.Tensor,
             generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(loss, reconstruction, KL), each averaged over the batch, for ``beta`` applied by the caller."""
        mu, logvar = self.encode(weights, group)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator).to(mu.device)
        x = (weights - self.mean) / self.std
        recon = ((self.generate_normalised(z, group) - x) ** 2).sum(dim=1).mean()
        kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(dim=1)).mean()
        return recon + kl, recon, kl

    @torch.no_grad()
    def reconstruction_error(self, weights: torch.Tensor, group: torch.Tensor) -> float:
        """Mean summed squared error (standardised) of the mean reconstruction ``generate(mu(w, c), c)``."""
        mu, _ = self.encode(weights, group)
        x = (weights - self.mean) / self.std
        return float(((self.generate_normalised(mu, group) - x) ** 2).sum(dim=1).mean())

    def metadata(self) -> dict[str, Any]:
        return {"format": FORMAT, "input_size": self.input_size, "groups": self.groups, "latent": self.latent,
                "hidden": self.hidden}


def train_vae(weights: torch.Tensor, groups: torch.Tensor, *, latent: int = 8, hidden: tuple[int, ...] = (128, 128),
              epochs: int = 50, batch: int = 256, lr: float = 1e-3, beta: float = 1.0, seed: int = 0,
              n_groups: int = 4, log: Callable[[str], None] | None = print,
              log_every: int = 5) -> tuple[ConditionalVAE, list[dict[str, float]]]:
    """Train a ``ConditionalVAE`` on weights ``[N, D]`` with 0-based groups ``[N]``; returns it and the per-epoch
    history (``epoch, loss, recon, kl, seconds``). Deterministic in ``seed``."""
    weights = torch.as_tensor(weights, dtype=torch.float32)
    groups = torch.as_tensor(groups, dtype=torch.long)
    vae = ConditionalVAE(weights.shape[1], n_groups, latent, hidden, init_seed=seed)
    vae.set_normalisation(weights)
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    history, start = [], time.perf_counter()
    for epoch in range(1, epochs + 1):   # loops over epochs and minibatches; each step is one batched call
        order = torch.randperm(len(weights), generator=gen)
        totals, n = torch.zeros(3, dtype=torch.float64), 0
        for idx in torch.split(order, batch):
            _, recon, kl = vae.loss(weights[idx], groups[idx], gen)
            loss = recon + beta * kl
            opt.zero_grad()
            loss.backward()
            opt.step()
            step = [float(loss.detach()), float(recon.detach()), float(kl.detach())]
            totals += torch.tensor(step, dtype=torch.float64) * len(idx)
            n += len(idx)
        row = {"epoch": epoch, **dict(zip(("loss", "recon", "kl"), (totals / n).tolist())),
               "seconds": time.perf_counter() - start}
        history.append(row)
        if log is not None and (epoch % log_every == 0 or epoch in (1, epochs)):
            log(f"[vae] epoch {epoch}/{epochs}: loss {row['loss']:.3f} (recon {row['recon']:.3f}, "
                f"kl {row['kl']:.3f}) {row['seconds']:.0f} s")
    vae.eval()
    return vae, history


def save_generator(vae: ConditionalVAE, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Atomically write the tensors (``torch.save`` of the state dict) and the sidecar ``<path>.json``
    (``vae.metadata()`` plus ``extra``: the target network, the groups' step ranges, training facts)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({k: v.detach().cpu() for k, v in vae.state_dict().items()}, tmp)
    Path(str(path) + ".json").write_text(json.dumps({**(extra or {}), **vae.metadata()}, indent=1))
    os.replace(tmp, path)
    return path


def load_generator(path: str | Path, key: str = "generator") -> tuple[ConditionalVAE, dict[str, Any]]:
    """A saved ``ConditionalVAE`` and its metadata. Tensors are read with ``torch.load(weights_only=True)``; a
    missing file, a pickle, a non-tensor payload, a missing or foreign sidecar or mismatched tensors are refused
    in one line naming the decoder option ``key``."""
    path = Path(path)
    written_by = "a file written by evohyper.families.embeddings.save_generator (with its .json sidecar)"
    if not path.is_file():
        _checks.fail(key, str(path), written_by)
    sidecar = Path(str(path) + ".json")
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        _checks.refuse(key, f"{str(path)!r}: its sidecar {sidecar.name} cannot be read ({type(exc).__name__}); "
                            f"allowed: {written_by}")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        _checks.refuse(key, f"{str(path)!r}: the sidecar is not an agent-embedding generator's "
                            f"(format {meta.get('format') if isinstance(meta, dict) else None!r}, expected {FORMAT!r})")
    state = read_weights(path, key)
    try:
        vae = ConditionalVAE(meta["input_size"], meta["groups"], meta["latent"], tuple(meta["hidden"]))
        vae.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        _checks.refuse(key, f"{str(path)!r}: the tensors do not match the sidecar's model: "
                            f"{' '.join(str(exc).split())[:300]}")
    vae.eval()
    return vae, meta
