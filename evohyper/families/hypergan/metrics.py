"""Ensemble metrics: accuracy by ensemble size, weight diversity, predictive entropy, calibration (ECE).

All work on batched tensors: ``probs [B, C]`` (ensemble-averaged), member probabilities ``[n, B, C]``,
phenotypes with stacked ``[n, ...]`` tensors.
"""
from __future__ import annotations

import torch

from evohyper.api.phenotypes import Phenotypes
from evohyper.families.hypergan.ensemble import Ensemble, Source


def accuracy(probs: torch.Tensor, y: torch.Tensor) -> float:
    return float((probs.argmax(dim=-1) == y).float().mean())


def accuracy_by_size(source: Source, x: torch.Tensor, y: torch.Tensor, sizes: tuple[int, ...] = (1, 5, 10, 100),
                     seed: int = 0) -> dict[int, float]:
    """Accuracy of an ensemble of each size drawn from ``source`` (probabilities averaged)."""
    return {n: accuracy(Ensemble.from_source(source, n, seed).predict_proba(x), y) for n in sizes}


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Predictive entropy (nats) per row of ``probs [..., C]``."""
    return -(probs * probs.clamp_min(1e-12).log()).sum(dim=-1)


def mean_entropy(probs: torch.Tensor) -> float:
    return float(entropy(probs).mean())


def expected_calibration_error(probs: torch.Tensor, y: torch.Tensor, bins: int = 10) -> float:
    """ECE: |accuracy - confidence| per equal-width confidence bin, weighted by the bin's share."""
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"invalid ECE option bins={bins!r}; allowed: an integer >= 1")
    conf, pred = probs.max(dim=-1)
    correct = (pred == y).float()
    idx = torch.clamp((conf * bins).long(), max=bins - 1)
    conf_sum = torch.zeros(bins).index_add_(0, idx, conf)
    acc_sum = torch.zeros(bins).index_add_(0, idx, correct)
    return float((acc_sum - conf_sum).abs().sum() / len(y))


def weight_diversity(members: Phenotypes) -> dict[str, dict[str, float]]:
    """Per tensor: mean and std over members of its L2 norm (the HyperGAN paper's Table 1), plus the
    mean pairwise L2 distance relative to the mean norm (scale-free spread; 0 = identical members)."""
    out = {}
    for name, t in members.tensors.items():
        flat = t.detach().reshape(len(members), -1).float()
        norms = flat.norm(dim=1)
        n = flat.shape[0]
        pair = torch.cdist(flat, flat).sum() / max(n * (n - 1), 1)
        out[name] = {"norm_mean": float(norms.mean()), "norm_std": float(norms.std()) if n > 1 else 0.0,
                     "relative_spread": float(pair / norms.mean().clamp_min(1e-12))}
    return out


def relative_spread(members: Phenotypes) -> float:
    """Mean pairwise L2 distance of the members' full weight vectors over their mean norm."""
    flat = torch.cat([t.detach().reshape(len(members), -1).float() for t in members.tensors.values()], dim=1)
    n = flat.shape[0]
    return float(torch.cdist(flat, flat).sum() / max(n * (n - 1), 1) / flat.norm(dim=1).mean().clamp_min(1e-12))


def disagreement(member_probs: torch.Tensor) -> float:
    """Share of (member, input) pairs whose prediction differs from the ensemble's: functional diversity."""
    vote = member_probs.mean(dim=0).argmax(dim=-1)
    return float((member_probs.argmax(dim=-1) != vote).float().mean())


def permuted_pixels(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Out-of-distribution inputs: every image's features shuffled by one fixed permutation."""
    perm = torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(int(seed)))
    return x[:, perm]


def uniform_noise(n: int, features: int, seed: int = 0) -> torch.Tensor:
    """Out-of-distribution inputs: U(0, 1) pixels (the digits' pixel range)."""
    return torch.rand(n, features, generator=torch.Generator().manual_seed(int(seed)))
