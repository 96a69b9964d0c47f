"""Evaluator: a task and a decoder built once on one device, then decoding + scoring chunks of genotypes.

This is the unit every backend runs (in-process, or inside a Ray actor). It receives genotypes
only; phenotype tensors never leave it. It also enforces the task contract: result shapes,
and the strict / lenient policy for tasks that raise. ``train`` runs a gradient strategy's
``TrainingJob`` where the data and the decoder live.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from evohyper.api.task import EvalResult, NotDifferentiableError
from evohyper.api.training import TrainingJob
from evohyper.config.build import Components, ComponentsSpec, build
from evohyper.engine.errors import AllFailedError, TaskError, TaskShapeError
from evohyper.engine.training import train

__all__ = ["AllFailedError", "ChunkResult", "Evaluator", "TaskError", "TaskShapeError"]   # errors: old home


@dataclass
class ChunkResult:
    """Scores for a chunk, in the task's own direction; fitness already reduced to ``[n]``.

    For a task that declares m objectives, ``objectives`` holds all of them ``[n, m]`` (each in its own
    direction, averaged over repeats) and ``fitness`` is its first column; for one that declares d behaviour
    descriptors, ``descriptors`` is ``[n, d]``. Both are None for a task that declares none."""

    fitness: torch.Tensor  # float64 [n]
    metrics: dict[str, torch.Tensor]
    sample_forwards: int
    errors: int = 0
    #: lenient mode: (index in this result, exception text with traceback) of every individual that raised
    error_texts: list[tuple[int, str]] = field(default_factory=list)
    env_steps: int = 0
    state: dict[str, torch.Tensor] = field(default_factory=dict)  # float64 rows [n, ...] (EvalResult.state)
    objectives: torch.Tensor | None = None    # float64 [n, m] (Task.objective_space), task direction
    descriptors: torch.Tensor | None = None   # float64 [n, d] (Task.descriptor_space)

    @staticmethod
    def concat(parts: list[ChunkResult]) -> ChunkResult:
        keys, names = parts[0].metrics.keys(), parts[0].state.keys()
        texts, offset = [], 0
        for p in parts:
            texts += [(offset + i, text) for i, text in p.error_texts]
            offset += len(p.fitness)
        return ChunkResult(
            fitness=torch.cat([p.fitness for p in parts]),
            metrics={k: torch.cat([p.metrics[k] for p in parts]) for k in keys},
            sample_forwards=sum(p.sample_forwards for p in parts),
            errors=sum(p.errors for p in parts), error_texts=texts,
            env_steps=sum(p.env_steps for p in parts),
            state={k: torch.cat([p.state[k] for p in parts]) for k in names},
            objectives=_cat([p.objectives for p in parts]), descriptors=_cat([p.descriptors for p in parts]))


def _cat(columns: list[torch.Tensor | None]) -> torch.Tensor | None:
    """Rows of every part, or None when the task declares none (no part has any)."""
    if all(c is None for c in columns):
        return None
    if any(c is None for c in columns):
        raise ValueError("chunks disagree on whether the task returns objectives/descriptors")
    return torch.cat(columns)  # type: ignore[arg-type]


class Evaluator:
    """Task + decoder built once on one device; ``evaluate`` scores a chunk in one batched call.

    ``components``: the task and decoder already built in this process (the in-process backend reuses
    the driver's build); otherwise they are built here from ``spec`` (a Ray actor)."""

    def __init__(self, spec: ComponentsSpec, device: str | torch.device = "cpu", components: Components | None = None):
        self.spec = spec
        self.device = torch.device(device)
        built = components if components is not None else build(spec.without_strategy())
        self.task, self.decoder = built.task, built.decoder
        self.task.setup(self.device)
        if isinstance(self.decoder, torch.nn.Module):
            self.decoder.to(self.device)
        self.task_name = spec.task["name"]
        #: what ``evaluate`` must return besides fitness: m objective columns, d descriptor columns
        self.task_info = self.task.info()

    def evaluate(self, genotypes: Any, seed: int, state: dict[str, torch.Tensor] | None = None) -> ChunkResult:
        """Score ``genotypes`` with ``seed``, the task evaluating with the run's evaluation ``state``
        (``Task.load_evaluation_state``; it travels with every call, so a fresh actor is never stale)."""
        n = len(genotypes)
        try:
            self.task.load_evaluation_state(state)
        except Exception as exc:  # noqa: BLE001 - a state the task refuses is the task's error, not a crash
            raise TaskError(f"task {self.task_name!r} refused the run's evaluation state: "
                            f"{type(exc).__name__}: {exc}") from exc
        try:
            with torch.no_grad():
                result = self._run(genotypes, seed)
        except TaskShapeError:
            raise
        except Exception as exc:  # noqa: BLE001 - the policy decides what a task failure means
            if self.spec.on_error == "strict":
                raise TaskError(
                    f"task {self.task_name!r} raised {type(exc).__name__}: {exc} "
                    f"(set evaluation.on_error: lenient to score failing individuals as worst)\n"
                    + "".join(traceback.format_exception(exc)[-3:])) from exc
            return self._evaluate_one_by_one(genotypes, seed)
        return self._check(result, n)

    def train(self, job: TrainingJob, seed: int) -> tuple[ChunkResult, TrainingJob]:
        """Gradient steps where the data and decoder live (see ``engine/training.py``); the trained
        job's score and the trained job."""
        try:
            result, trained = train(self.task, self.decoder, job, int(seed), self.device)
        except (TaskShapeError, NotDifferentiableError):
            raise
        except Exception as exc:  # noqa: BLE001 - a failed training step has no "individual" to blame
            raise TaskError(f"training on task {self.task_name!r} raised {type(exc).__name__}: {exc}\n"
                            + "".join(traceback.format_exception(exc)[-3:])) from exc
        return self._check(result, len(job)), trained

    def _run(self, genotypes: Any, seed: int) -> EvalResult:
        phenotypes = self.decoder.decode(genotypes, device=self.device)
        result = self.task.evaluate(phenotypes, int(seed))
        # an individual that is a set of k networks (SetPhenotypes) runs k forwards per sample
        per = getattr(phenotypes, "networks_per_individual", 1)
        if per != 1 and isinstance(result, EvalResult):
            spent = len(phenotypes) if result.sample_forwards is None else int(result.sample_forwards)
            result = replace(result, sample_forwards=spent * per)
        return result

    def _evaluate_one_by_one(self, genotypes: Any, seed: int) -> ChunkResult:
        """Lenient fallback after a failed batch: find the individuals that fail, score them worst.
        An error path, not the hot path (tasks are chunk-invariant, so scores are unchanged)."""
        parts: list[ChunkResult | str] = []
        for i in range(len(genotypes)):
            try:
                with torch.no_grad():
                    parts.append(self._check(self._run(genotypes[i:i + 1], seed), 1))
            except TaskShapeError:
                raise
            except Exception as exc:  # noqa: BLE001 - kept, with its traceback, for errors.log
                text = "".join(traceback.format_exception(exc, chain=False))
                parts.append(f"task {self.task_name!r} raised:\n{text}")
        template = next((p for p in parts if isinstance(p, ChunkResult)), None)
        keys = template.metrics.keys() if template else ()
        rows = {k: torch.zeros(1, *v.shape[1:], dtype=torch.float64) for k, v in template.state.items()} \
            if template else {}  # a failed individual taught the task nothing
        nan = torch.full((1,), float("nan"), dtype=torch.float64)
        m, d = len(self.task_info.objectives), len(self.task_info.descriptors)
        objectives = torch.full((1, m), float("nan"), dtype=torch.float64) if m else None
        descriptors = torch.full((1, d), float("nan"), dtype=torch.float64) if d else None
        filled = [p if isinstance(p, ChunkResult)
                  else ChunkResult(nan, {k: nan.float() for k in keys}, 0, errors=1, error_texts=[(0, p)], state=rows,
                                   objectives=objectives, descriptors=descriptors)
                  for p in parts]
        return ChunkResult.concat(filled)

    def _check(self, result: EvalResult, n: int) -> ChunkResult:
        if not isinstance(result, EvalResult):
            raise TaskShapeError(f"task {self.task_name!r}.evaluate must return EvalResult, "
                                 f"got {type(result).__name__}")
        f = torch.as_tensor(result.fitness).detach()
        objectives = None
        if self.task_info.objectives:
            objectives = self._columns("fitness", f, n, self.task_info.objectives, "Task.objective_space")
            fit = objectives[:, 0].clone()
        else:
            if f.dim() not in (1, 2) or f.shape[0] != n:
                raise TaskShapeError(
                    f"task {self.task_name!r} returned fitness of shape {tuple(f.shape)}; "
                    f"expected [{n}] or [{n}, k] for a population of {n}"
                )
            fit = (f.mean(dim=1) if f.dim() == 2 else f).to(torch.float64).cpu()
        descriptors = None
        if self.task_info.descriptors:
            if result.descriptors is None:
                d = len(self.task_info.descriptors)
                raise TaskShapeError(f"task {self.task_name!r} returned no descriptors; expected [{n}, {d}] or "
                                     f"[{n}, k, {d}] (it declares {_names(self.task_info.descriptors)} in "
                                     "Task.descriptor_space)")
            descriptors = self._columns("descriptors", torch.as_tensor(result.descriptors).detach(), n,
                                        self.task_info.descriptors, "Task.descriptor_space")
        elif result.descriptors is not None:
            raise TaskShapeError(f"task {self.task_name!r} returned descriptors of shape "
                                 f"{tuple(torch.as_tensor(result.descriptors).shape)}; expected none: it declares "
                                 "no descriptors (Task.descriptor_space)")
        metrics = {}
        for name, value in result.metrics.items():
            v = torch.as_tensor(value).detach()
            if v.shape != (n,):
                raise TaskShapeError(
                    f"task {self.task_name!r} returned metric {name!r} of shape {tuple(v.shape)}; expected [{n}]"
                )
            metrics[name] = v.to(torch.float32).cpu()
        forwards = n if result.sample_forwards is None else int(result.sample_forwards)
        state = {}
        for name, value in result.state.items():
            v = torch.as_tensor(value).detach()
            if v.dim() == 0 or v.shape[0] != n:
                raise TaskShapeError(f"task {self.task_name!r} returned evaluation state {name!r} of shape "
                                     f"{tuple(v.shape)}; expected one row per individual [{n}, ...]")
            state[name] = v.to(torch.float64).cpu()
        env_steps = 0 if result.env_steps is None else int(result.env_steps)
        return ChunkResult(fit, metrics, forwards, env_steps=env_steps, state=state, objectives=objectives,
                           descriptors=descriptors)

    def _columns(self, field_name: str, value: torch.Tensor, n: int, declared: tuple[Any, ...],
                 where: str) -> torch.Tensor:
        """``[n, c]`` or ``[n, k, c]`` (k repeats, averaged) for the c columns the task declares, as float64
        ``[n, c]``; any other shape is the task's error."""
        c = len(declared)
        if value.dim() not in (2, 3) or value.shape[0] != n or value.shape[-1] != c:
            raise TaskShapeError(
                f"task {self.task_name!r} returned {field_name} of shape {tuple(value.shape)}; expected "
                f"[{n}, {c}] or [{n}, k, {c}] for a population of {n} (one column per {_names(declared)} "
                f"it declares in {where})")
        return (value.mean(dim=1) if value.dim() == 3 else value).to(torch.float64).cpu()


def _names(declared: tuple[Any, ...]) -> str:
    return ", ".join(repr(x.name) for x in declared)
