"""The Task seam: what a user implements to plug a fitness problem into evohyper.

A task never imports Ray. It scores a whole population in one batched call.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from evohyper.api.registry import component_name

if TYPE_CHECKING:
    from evohyper.api.phenotypes import Phenotypes, TargetSpec


#: the YAML ``network:`` keys of an MLP target (``MLPSpec``): the default of ``Task.network_keys``
MLP_NETWORK_KEYS: tuple[str, ...] = ("hidden", "activation", "output_activation", "bias")


class NotDifferentiableError(NotImplementedError):
    """Raised when a gradient strategy asks a task that has no differentiable loss."""


@dataclass(frozen=True)
class Objective:
    """One objective a multi-objective task declares (``Task.objective_space``): its name (a metrics.csv
    column, a front plot's axis) and its direction."""

    name: str
    maximize: bool = True


@dataclass(frozen=True)
class Descriptor:
    """One behaviour descriptor (pyribs: a *measure*) a task declares (``Task.descriptor_space``): its name
    and the bounds a quality-diversity archive spans by default (a config may override them)."""

    name: str
    low: float
    high: float


@dataclass(frozen=True)
class TaskInfo:
    """What a task declares to strategies (``Strategy.bind_task``): the only facts a strategy reads from it.

    maximize: the direction of ``fitness`` (for a multi-objective task: of its first objective).
    descriptors: the behaviour descriptors ``evaluate`` returns (``()``: none).
    objectives: the objectives ``evaluate`` returns (``()``: one objective, today's ``[P]``/``[P, k]``).
    reference_point: where a front's hypervolume is measured from, one value per objective in each
      objective's own direction (None: not declared).
    """

    maximize: bool = True
    descriptors: tuple[Descriptor, ...] = ()
    objectives: tuple[Objective, ...] = ()
    reference_point: tuple[float, ...] | None = None


@dataclass
class EvalResult:
    """Scores of one population, in the task's own direction (see ``Task.maximize``).

    fitness: ``[P]`` or ``[P, k]``: k scores of the same objective per individual (episodes, seeds),
      averaged over k by the engine, so ``[P, 1]`` is exactly ``[P]``. A task that declares m objectives
      (``Task.objective_space``) returns ``[P, m]``, or ``[P, k, m]`` averaged over k, each column in its
      objective's own direction; the engine's ``fitness`` (best, ``target_fitness``, ``best/``) is then
      the first objective.
    descriptors: for a task that declares descriptors (``Task.descriptor_space``): ``[P, d]``, or
      ``[P, k, d]`` averaged over k; None for a task that declares none.
    metrics: named per-individual tensors ``[P]`` (logged as best/mean per generation).
    sample_forwards: forward passes of one sample through one network spent on this call
      (the budget unit shared with gradient methods). ``None`` means one per individual.
    env_steps: environment steps spent on this call (control tasks; ``budget.env_steps`` and the
      ``env_steps`` column of metrics.csv count them). ``None``: the task has no environment.
    state: what the task learned while evaluating, as one row of sums per individual
      (``{name: [P, ...]}``, e.g. observation counts, sums and squares). The engine adds the rows
      of all individuals exactly into the run's evaluation state and hands that to every evaluator
      before the next generation (``Task.load_evaluation_state``). Empty: nothing learned.
    """

    fitness: torch.Tensor
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)
    descriptors: torch.Tensor | None = None
    sample_forwards: int | None = None
    env_steps: int | None = None
    state: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class Replay:
    """Episodes of one policy played in a task's real environment (``Task.replay``)."""

    returns: list[float]
    lengths: list[int]
    seeds: list[int]
    frames: list[Any] = field(default_factory=list)  # RGB arrays [H, W, 3] of the first episode, when rendered
    fps: float = 30.0                                # frames per second of the environment's own clock


class Task(ABC):
    """A fitness problem. Subclass it, register it under the ``evohyper.tasks`` entry-point group.

    Constructor keyword arguments are the task's config options (``task:`` block of the YAML);
    their annotations and defaults are what the config validator checks against.
    """

    #: set True if higher fitness is better; False if the task minimises (declared once, here).
    maximize: ClassVar[bool] = True
    #: the keys ``target`` reads from the YAML ``network:`` block; the config validator refuses any other key
    #: (a typo such as ``hiden`` is an error, not a silent default). ``()``: the task takes no network options;
    #: ``None``: not checked.
    network_keys: ClassVar[tuple[str, ...] | None] = MLP_NETWORK_KEYS
    #: True if fitness depends on the ``evaluate`` seed (episodes, start states or minibatches drawn from it):
    #: the best single evaluation is then partly luck, so ``evaluation.reevaluate`` is on by default and
    #: ``best/`` is chosen on fresh episodes. An instance may set it from its options (``TaskContract`` checks it).
    stochastic: bool = False

    def descriptor_space(self) -> tuple[Descriptor, ...]:
        """The behaviour descriptors ``evaluate`` returns, in column order (quality-diversity search).
        Default: none. An instance may derive them from its options."""
        return ()

    def objective_space(self) -> tuple[Objective, ...]:
        """The objectives ``evaluate`` returns as fitness columns, in order (multi-objective search).
        Default: none (one objective, ``fitness`` ``[P]``/``[P, k]``)."""
        return ()

    def reference_point(self) -> tuple[float, ...] | None:
        """Where hypervolume is measured from, one value per objective in its own direction (worse than
        any front member worth counting). Default: none declared (a config must then give one)."""
        return None

    def info(self) -> TaskInfo:
        """What strategies may know about this task (``Strategy.bind_task``)."""
        return TaskInfo(maximize=bool(type(self).maximize), descriptors=tuple(self.descriptor_space()),
                        objectives=tuple(self.objective_space()), reference_point=self.reference_point())

    def setup(self, device: torch.device | str = "cpu") -> None:
        """Load data / build environments once per worker. Idempotent."""
        self.device = torch.device(device)

    @abstractmethod
    def target(self, network: dict[str, Any]) -> TargetSpec:
        """The phenotype this task needs, given the YAML ``network:`` block (e.g. hidden sizes)."""

    @abstractmethod
    def evaluate(self, phenotypes: Phenotypes, seed: int) -> EvalResult:
        """Score all ``phenotypes`` at once. Must be chunk-invariant: an individual's fitness
        may depend on ``seed`` but not on which other individuals share the call."""

    def loss(self, phenotypes: Phenotypes, batch: Any) -> torch.Tensor:
        """Differentiable loss for gradient strategies, one value per individual: ``[P]`` (checked). Optional."""
        raise NotDifferentiableError(
            f"task {component_name(self)!r} defines no differentiable loss(); "
            "it can be searched by evolution strategies but not trained by gradient"
        )

    def train_batches(self, batch_size: int, seed: int) -> Any:
        """One finite epoch of training minibatches (each fed to ``loss``), in an order drawn from ``seed``
        (same seed, same batches). Optional; needed with ``loss`` by gradient strategies. Read lazily; more
        than ``evohyper.api.training.MAX_EPOCH_BATCHES`` batches is taken for an endless stream (an error)."""
        raise NotDifferentiableError(f"task {component_name(self)!r} defines no train_batches()")

    @classmethod
    def differentiable(cls) -> bool:
        """True if the task can be trained by gradient (it overrides ``loss`` and ``train_batches``)."""
        return cls.loss is not Task.loss and cls.train_batches is not Task.train_batches

    def load_evaluation_state(self, state: dict[str, torch.Tensor] | None) -> None:  # noqa: B027 - optional hook
        """Optional, for tasks that learn while they evaluate (``EvalResult.state``, e.g. running
        observation statistics): evaluate with ``state`` from now on. ``state`` is the exact sum of
        the rows of every individual scored so far in the run (None: nothing yet); the engine loads it
        before every evaluation, on every actor, so evaluate stays a pure function of (phenotypes,
        seed, state), and the run's exporter loads the state the best individual was scored with."""

    def replay(self, phenotypes: Phenotypes, seed: int, episodes: int, render: bool = False) -> Replay:
        """Optional, for tasks with environments: play the first individual's ``episodes`` episodes one
        by one in the real environment (the viewer's path, not the batched one), seeded so that the
        first episodes of ``seed`` are those ``evaluate(phenotypes, seed)`` scored; ``render``: keep
        the RGB frames of the first episode. ``evohyper show RUN_DIR --episodes N`` calls it."""
        raise NotImplementedError(f"task {component_name(self)!r} has no environment to replay episodes in")

    def pictures(self, phenotypes: Phenotypes, out_dir: Path) -> list[Path]:
        """Optional: write images of the best individual's behaviour into ``out_dir`` (end of a run)."""
        return []

    def test_metrics(self, phenotypes: Phenotypes) -> dict[str, torch.Tensor]:
        """Final held-out metrics ``{name: [P]}`` reported once at the end of a run. Optional."""
        return {}
