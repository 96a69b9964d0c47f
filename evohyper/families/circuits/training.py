"""Training the circuit designer: teacher-forced cross-entropy on fresh circuits, validation, early stopping.

Every step draws a new batch of random reduced circuits (lengths uniform in 4-10) from a generator
seeded by ``(seed, step)`` and simulates them, so the network never sees a circuit twice and a run is
a function of its ``TrainConfig`` alone. The learning rate warms up linearly, then follows a cosine
to ``steps``; every ``eval_every`` steps the validation split (a fixed-seed block, disjoint from
training by its seed) is scored: teacher-forced loss, and greedy designs' kinds-only, exact and
response-equivalent accuracy (no refinement). The weights with the lowest validation loss are kept;
training stops after ``patience`` evaluations without a new best, or at ``steps``, or at ``seconds``.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from evohyper.api.checks import Checks
from evohyper.api.self_trained import read_weights
from evohyper.families.circuits.beam import beam_search
from evohyper.families.circuits.canonical import canonicalize
from evohyper.families.circuits.dataset import DATA_SEED, CircuitSet, circuit_split
from evohyper.families.circuits.designer import STOP, VARIANTS, Designer, Variant
from evohyper.families.circuits.inference import score
from evohyper.families.circuits.simulator import EMPTY
from evohyper.families.circuits.space import DEFAULT_SPACE, N_VALUES, CircuitSpace


@dataclass
class TrainConfig:
    steps: int = 20000
    batch: int = 256
    lr: float = 2e-3
    warmup: int = 300
    eval_every: int = 500
    patience: int = 8
    val_per_length: int = 100
    seconds: float | None = None
    value_sigma: float = 1.0                      # soft value labels (E12 steps); 0 = one-hot
    seed: int = 0
    model: dict = field(default_factory=dict)     # Designer options (embed, hidden, token, width)


@dataclass
class TrainLog:
    variant: str
    seconds: float = 0.0
    steps: int = 0
    best_step: int = 0
    stopped: str = ""
    losses: list[float] = field(default_factory=list)            # training loss, every step
    evals: list[dict[str, float]] = field(default_factory=list)  # validation, every eval_every steps


def labels(kinds: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per step: kind label (STOP right after the last component, ignored (-100) after it) and value label."""
    present = kinds != EMPTY
    first_empty = torch.cumsum((~present).long(), 1) == 1
    kind_lab = torch.where(present, kinds, torch.where(first_empty & ~present, STOP, -100))
    return kind_lab, torch.where(present, index, -100)


def training_batch(space: CircuitSpace, n: int, seed: int, step: int) -> tuple[torch.Tensor, ...]:
    """Step ``step``'s fresh circuits: canonical ``kinds``, ``index``, ``lengths``, their responses
    (complex128, like the targets: peeling a long chain needs all the precision it has) and the
    generator that draws the step's remaining randomness (peel noise)."""
    state = np.random.SeedSequence([DATA_SEED, 3, int(seed), int(step)]).generate_state(1)[0]
    gen = torch.Generator().manual_seed(int(state))
    kinds, index = space.sample(n, space.max_length, gen)
    lengths = torch.randint(space.min_length, space.max_length + 1, (n,), generator=gen)
    active = torch.arange(space.max_length) < lengths.unsqueeze(1)        # a prefix of a reduced chain is reduced
    kinds, index = canonicalize(torch.where(active, kinds, EMPTY), torch.where(active, index, 0))
    resp = space.response(kinds, space.values(kinds, index))
    return kinds, index, lengths, resp, gen


def _value_targets(value_lab: torch.Tensor, sigma: float) -> torch.Tensor:
    """Soft value labels: a Gaussian over E12 indices around the true one (``sigma`` in E12 steps)."""
    j = torch.arange(N_VALUES, dtype=torch.float32)
    t = torch.exp(-0.5 * ((j - value_lab.clamp(min=0).unsqueeze(-1).float()) / sigma) ** 2)
    return t / t.sum(-1, keepdim=True)


def _losses(kl, vl, kinds, index, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forced cross-entropy of the kinds (with STOP) and of the values (``sigma > 0``: against
    soft labels that make a near miss cheaper than a far one; values are ordered)."""
    kind_lab, value_lab = labels(kinds, index)
    kind_loss = F.cross_entropy(kl.flatten(0, 1), kind_lab.flatten(), ignore_index=-100)
    present = value_lab.flatten() >= 0
    vl = vl.flatten(0, 1)[present]
    target = value_lab.flatten()[present]
    value_loss = F.cross_entropy(vl, _value_targets(target, sigma) if sigma > 0 else target)
    return kind_loss, value_loss


def loss_of(model: Designer, resp, kinds, index, lengths, sigma: float = 0.0,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """The training loss: kind plus value cross-entropy (``_losses``) of the model's teacher-forced outputs."""
    return sum(_losses(*model(resp, kinds, index, lengths, generator), kinds, index, sigma))


@torch.no_grad()
def validate(model: Designer, val: CircuitSet, space: CircuitSpace = DEFAULT_SPACE) -> dict[str, float]:
    """Validation loss, teacher-forced next-kind accuracy and greedy-design accuracies (no refinement)."""
    model.eval()
    kl, vl = model(val.response, val.kinds, val.index, val.lengths)
    kind_loss, value_loss = (float(v) for v in _losses(kl, vl, val.kinds, val.index, 0.0))
    kind_lab, _ = labels(val.kinds, val.index)
    kind_accuracy = float((kl.argmax(-1) == kind_lab)[kind_lab >= 0].float().mean())
    kinds, index, _ = beam_search(model, val.response, 1, val.lengths)
    s = score(kinds[:, 0], index[:, 0], val, space)
    model.train()
    return {"loss": kind_loss + value_loss, "kind_loss": kind_loss, "value_loss": value_loss,
            "kind_accuracy": kind_accuracy,
            **{k: float(s[k].float().mean()) for k in ("kinds_match", "exact", "equivalent")}}


def _lr_factor(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))))


def train_designer(variant: Variant, cfg: TrainConfig | None = None, space: CircuitSpace = DEFAULT_SPACE,
                   val: CircuitSet | None = None,
                   on_eval: Callable[[dict[str, float]], None] | None = None) -> tuple[Designer, TrainLog]:
    """Train one variant from ``cfg.seed``; returns the weights with the best validation loss and the log
    (``on_eval`` is called with every validation record, e.g. to print progress)."""
    cfg = cfg if cfg is not None else TrainConfig()
    val = val if val is not None else circuit_split("val", cfg.val_per_length, space)
    torch.manual_seed(cfg.seed)               # initial weights (batches come from their own generators)
    model = Designer(variant, k=space.frequencies, f_min=space.f_min, f_max=space.f_max, load=space.load,
                     max_length=space.max_length, min_length=space.min_length, **cfg.model)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, cfg))
    log, best, best_state, since = TrainLog(variant), float("inf"), None, 0
    start = time.perf_counter()
    for step in range(cfg.steps):
        kinds, index, lengths, resp, gen = training_batch(space, cfg.batch, cfg.seed, step)
        loss = loss_of(model, resp, kinds, index, lengths, cfg.value_sigma, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        log.losses.append(float(loss.detach()))
        log.steps = step + 1
        last = step + 1 == cfg.steps or (cfg.seconds is not None and time.perf_counter() - start > cfg.seconds)
        if (step + 1) % cfg.eval_every == 0 or last:
            ev = {"step": step + 1, "seconds": time.perf_counter() - start, **validate(model, val, space)}
            log.evals.append(ev)
            if on_eval is not None:
                on_eval(ev)
            if ev["loss"] < best:
                best, since, log.best_step = ev["loss"], 0, step + 1
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                since += 1
            if since >= cfg.patience:
                log.stopped = f"early stop: no better validation loss in {cfg.patience} evaluations"
                break
        if last:
            log.stopped = log.stopped or ("step budget" if step + 1 == cfg.steps else "time budget")
            break
    log.seconds = time.perf_counter() - start
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, log


# ---------------------------------------------------------------------- safe weights files
def save_designer(model: Designer, path: str | Path) -> Path:
    """Tensors only (the options as ``config.*`` scalar tensors, parameters in float16 to keep the files
    small: ~2 bytes per parameter), written atomically; see ``load_designer``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {}
    for key, value in model.config.items():
        value = VARIANTS.index(value) if key == "variant" else value
        state[f"config.{key}"] = torch.tensor(value, dtype=torch.float64 if isinstance(value, float) else torch.long)
    state.update({k: v.detach().cpu().to(torch.float16 if v.is_floating_point() else v.dtype).contiguous()
                  for k, v in model.state_dict().items()})
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_designer(path: str | Path) -> Designer:
    """A designer from a file written by ``save_designer`` (read with ``torch.load(weights_only=True)``)."""
    state = dict(read_weights(path, key="designer"))
    cfg = {k.removeprefix("config."): state.pop(k).item() for k in list(state) if k.startswith("config.")}
    if not 0 <= int(cfg.get("variant", -1)) < len(VARIANTS):
        Checks("decoder").refuse("designer", f"{str(path)!r}: a weights file without a designer configuration")
    cfg["variant"] = VARIANTS[int(cfg["variant"])]
    cfg["residual"] = bool(cfg.get("residual", 0))
    try:
        model = Designer(**cfg)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except (TypeError, RuntimeError) as exc:
        raise ValueError(f"invalid designer weights file {str(path)!r}: {str(exc).splitlines()[0]}") from None
    return model.eval()
