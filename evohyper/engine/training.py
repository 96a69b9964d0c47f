"""Runs a TrainingJob inside an evaluator: k torch-optimizer steps through ``task.loss``, then scoring.

Why here: this is the code a Ray actor runs, next to the task's data and the decoder, on the
actor's device. Minibatches depend only on (data seed, global step), so training is identical on
any backend and after a resume. The population's genotypes form one ``[P, D]`` leaf tensor and the
loss is summed over individuals, so each row receives exactly its own gradient; the optimizers used
are elementwise (Adam, AdamW, SGD), so P rows train independently in one batched computation.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from evohyper.api.decoder import Decoder
from evohyper.api.registry import component_name
from evohyper.api.self_trained import is_self_trained
from evohyper.api.task import EvalResult, NotDifferentiableError, Task
from evohyper.api.training import TrainingJob, batch_len, minibatches, step_generator
from evohyper.engine.errors import TaskShapeError

OPTIMIZERS = {"Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW, "SGD": torch.optim.SGD}


def _to(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to(v, device) for v in obj)
    return obj


def check_differentiable(task: Task) -> None:
    if not type(task).differentiable():
        raise NotDifferentiableError(
            f"task {component_name(task)!r} defines no differentiable loss() / train_batches(); "
            "it can be searched by evolution strategies but not trained by gradient")


def train(task: Task, decoder: Decoder, job: TrainingJob, seed: int,
          device: torch.device) -> tuple[EvalResult, TrainingJob]:
    """Train ``job`` for ``job.steps`` steps, score the result, return it with the updated job."""
    check_differentiable(task)
    if job.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {job.optimizer!r}; allowed: {sorted(OPTIMIZERS)}")
    P = len(job)
    D = decoder.trained_size if is_self_trained(decoder) else decoder.genome_size
    if is_self_trained(decoder) and P != 1:
        raise ValueError(f"decoder {component_name(decoder)!r} trains its own parameters: one row per job, got {P}")
    if job.genotypes is None:
        init = decoder.initial_genotype(torch.Generator().manual_seed(int(job.data_seed)))
        start = torch.zeros(P, D) if init is None else init.reshape(1, D).expand(P, D)
    else:
        start = job.genotypes
    param = start.to(device=device, dtype=torch.float32).clone().requires_grad_(True)
    opt = OPTIMIZERS[job.optimizer]([param], **job.options)
    if job.optimizer_state is not None:
        opt.load_state_dict(_to(job.optimizer_state, device))
    forwards = 0
    self_trained = is_self_trained(decoder)
    logs: dict[str, float] = {}
    with torch.enable_grad():
        batches = minibatches(task, job.batch_size, job.data_seed, job.step, job.steps)
        for k, batch in enumerate(batches):
            if self_trained:  # the decoder's own parameters, one flat row (see api/self_trained.py)
                loss, step_logs = decoder.functional_loss(
                    param[0], task, batch, step_generator(job.data_seed, job.step + k)
                )
                for name, value in step_logs.items():
                    logs[name] = logs.get(name, 0.0) + float(value) / job.steps
            else:
                loss = _checked(task, task.loss(decoder.decode(param, device=device), batch), P)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            if job.clip_grad_norm is not None:
                _clip_rows(param.grad, job.clip_grad_norm)
            opt.step()
            forwards += P * batch_len(batch) * getattr(decoder, "networks_per_step", 1)
    result = _score(task, decoder, param.detach(), int(seed), device)
    spent = P if result.sample_forwards is None else int(result.sample_forwards)
    metrics = dict(result.metrics)
    metrics.update({f"train_{name}": torch.full((P,), value) for name, value in logs.items()})
    result = replace(result, sample_forwards=spent + forwards, metrics=metrics)
    updated = replace(
        job,
        genotypes=param.detach().cpu(),
        optimizer_state=_to(opt.state_dict(), torch.device("cpu")),
        step=job.step + job.steps,
    )
    return result, updated


def _checked(task: Task, loss: Any, P: int) -> torch.Tensor:
    """``task.loss`` must give one value per individual (a scalar would silently train on the sum)."""
    if not isinstance(loss, torch.Tensor) or loss.shape != (P,):
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise TaskShapeError(f"task {component_name(task)!r}.loss must return one value per individual, a tensor "
                             f"of shape [P]=[{P}]; got {got}")
    return loss


def _clip_rows(grad: torch.Tensor, max_norm: float) -> None:
    """Per-row gradient-norm clipping (what ``clip_grad_norm_`` does for one model; rows are independent)."""
    norms = grad.norm(dim=1, keepdim=True)
    grad.mul_(torch.clamp(max_norm / (norms + 1e-6), max=1.0))


def _score(task: Task, decoder: Decoder, param: torch.Tensor, seed: int, device: torch.device) -> EvalResult:
    with torch.no_grad():
        if is_self_trained(decoder):
            decoder.load_parameter_vector(param[0])
            return decoder.training_score(task, seed)
        return task.evaluate(decoder.decode(param, device=device), seed)
