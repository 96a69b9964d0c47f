"""Training, decoding and simulator-based value refinement of the circuit designer (a plain torch loop).

``train_designer`` fits one variant by teacher-forced cross-entropy on the fixed-seed training split;
``design`` decodes a set of target responses greedily; ``refine`` is the paper's last stage: the
predicted values become continuous log-values, tuned by Adam through the differentiable simulator to
match the target response, then snapped back to E12 (kept only where that lowers the error).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from evohyper.families.circuits.canonical import same_circuit, same_kinds
from evohyper.families.circuits.dataset import CircuitSet, circuit_split
from evohyper.families.circuits.designer import STOP, Designer, Variant, features
from evohyper.families.circuits.simulator import EMPTY, log_ratio
from evohyper.families.circuits.space import DEFAULT_SPACE, CircuitSpace


@dataclass
class TrainConfig:
    train_per_length: int = 3000
    steps: int = 1500
    batch: int = 256
    lr: float = 2e-3
    seed: int = 0


@dataclass
class TrainLog:
    variant: str
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)


def labels(kinds: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per step: kind label (STOP right after the last component, ignored (-100) after it) and value label."""
    present = kinds != EMPTY
    first_empty = torch.cumsum((~present).long(), 1) == 1
    kind_lab = torch.where(present, kinds, torch.where(first_empty & ~present, STOP, -100))
    return kind_lab, torch.where(present, index, -100)


def train_designer(variant: Variant, cfg: TrainConfig | None = None, space: CircuitSpace = DEFAULT_SPACE,
                   data: CircuitSet | None = None) -> tuple[Designer, TrainLog]:
    cfg = cfg if cfg is not None else TrainConfig()
    data = data if data is not None else circuit_split("train", cfg.train_per_length, space)
    torch.manual_seed(cfg.seed)               # initial weights (a local generator for batches below)
    model = Designer(variant, k=space.frequencies, max_length=space.max_length, min_length=space.min_length)
    x = features(data.response, space.load)
    kind_lab, value_lab = labels(data.kinds, data.index)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    gen = torch.Generator().manual_seed(cfg.seed)
    log = TrainLog(variant)
    start = time.perf_counter()
    for _ in range(cfg.steps):
        idx = torch.randint(0, len(data), (cfg.batch,), generator=gen)
        kl, vl = model(x[idx], data.kinds[idx], data.index[idx], data.lengths[idx])
        loss = F.cross_entropy(kl.flatten(0, 1), kind_lab[idx].flatten(), ignore_index=-100) \
            + F.cross_entropy(vl.flatten(0, 1), value_lab[idx].flatten(), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        log.losses.append(float(loss.detach()))
    log.seconds = time.perf_counter() - start
    model.eval()
    return model, log


def design(
    model: Designer, targets: CircuitSet, space: CircuitSpace = DEFAULT_SPACE
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy designs ``(kinds, value_index)`` for every target response (one batched call)."""
    return model.generate(features(targets.response, space.load), targets.lengths)


def response_error(
    space: CircuitSpace, kinds: torch.Tensor, values: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and max |log(r / r_target)| per circuit."""
    d = log_ratio(space.response(kinds, values), target).abs()
    return d.mean((1, 2)), d.amax((1, 2))


def refine(
    kinds: torch.Tensor,
    index: torch.Tensor,
    target: torch.Tensor,
    space: CircuitSpace = DEFAULT_SPACE,
    steps: int = 150,
    lr: float = 0.05,
) -> torch.Tensor:
    """Tune the values of every designed circuit at once through the differentiable simulator, snap to
    E12; returns the new value indices (a circuit keeps its old ones unless the snapped error is lower)."""
    start = space.values(kinds, index)
    log_v = start.log().clone().requires_grad_(True)
    opt = torch.optim.Adam([log_v], lr=lr)
    for _ in range(steps):
        d = log_ratio(space.response(kinds, log_v.exp()), target)
        loss = (d.real**2 + d.imag**2).mean((1, 2)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    snapped = space.nearest_index(kinds, log_v.detach().exp())
    with torch.no_grad():
        before, _ = response_error(space, kinds, start, target)
        after, _ = response_error(space, kinds, space.values(kinds, snapped), target)
    better = (after < before).unsqueeze(1) & (kinds != EMPTY)
    return torch.where(better, snapped, index)


def score(
    kinds: torch.Tensor,
    index: torch.Tensor,
    targets: CircuitSet,
    space: CircuitSpace = DEFAULT_SPACE,
    tol: float = 0.01,
) -> dict[str, torch.Tensor]:
    """Per target: ``exact``, ``kinds_match``, ``equivalent`` (bool) and ``error`` (the task's metrics)."""
    values = space.values(kinds, index)
    with torch.no_grad():
        err, max_err = response_error(space, kinds, values, targets.response)
    return {
        "exact": same_circuit(kinds, values, targets.kinds, targets.values),
        "kinds_match": same_kinds(kinds, targets.kinds),
        "equivalent": max_err < tol,
        "error": err,
    }
