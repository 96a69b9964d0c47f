"""Gradient training as a strategy: one generation = k torch-optimizer steps through the task's loss.

The strategy itself does no arithmetic: ``ask`` hands the evaluator a ``TrainingJob`` (current
genotype, optimizer name/options/state, steps, minibatch position); the evaluator (in-process or on
a Ray actor, on its GPU) trains and scores it and returns the trained job, which ``tell`` adopts.
So the same engine loop, observers, budget and checkpoints serve gradient and evolution alike.
Its state is explicit data (genotype + optimizer moments as tensors), not a replay.
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
from typing import Any, ClassVar, Literal

import torch

from evohyper.api.checks import MAX_RATE, Checks
from evohyper.api.decoder import DecoderInfo
from evohyper.api.strategy import TrainingStrategy
from evohyper.api.training import TrainingJob

_checks = Checks("strategy")

_TORCH_NAMES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}


class GradientStrategy(TrainingStrategy):
    """Gradient descent (torch.optim Adam/AdamW/SGD) on the decoder's genotype through the task's loss.

    A population of one. Fitness = the task's ``evaluate`` score after each generation's
    ``steps_per_generation`` minibatch steps; sample-forward passes count training and scoring.
    Needs a task with ``loss`` and ``train_batches`` (config validation says so otherwise).

    Options:
      optimizer: the torch optimizer: ``adam``, ``adamw`` or ``sgd``.
      lr: learning rate (> 0).
      momentum: SGD momentum, in [0, 1); must stay 0 for Adam/AdamW (they keep their own moments).
      weight_decay: L2 penalty (Adam, SGD) or decoupled weight decay (AdamW), >= 0.
      steps_per_generation: optimizer steps (minibatches) per generation (>= 1).
      batch_size: the ``batch_size`` given to the task's ``train_batches`` (>= 1).
      clip_grad_norm: largest L2 norm of each step's gradient (> 0), e.g. 5.0 for a graph hypernetwork, whose
        gradients spike on unlucky sampled cells; null: no clipping.
    """

    genotype_kind: ClassVar[str] = "vector"
    needs_loss: ClassVar[bool] = True

    def __init__(self, genome_size: int, seed: int, *,
                 optimizer: Literal["adam", "adamw", "sgd"] = "adam",
                 lr: float = 0.01,
                 momentum: float = 0.0,
                 weight_decay: float = 0.0,
                 steps_per_generation: int = 10,
                 batch_size: int = 64,
                 clip_grad_norm: float | None = None):
        # None: a decoder without vector genotypes (a graph hypernetwork); bind resolves it
        super().__init__(None if genome_size is None else _checks.genome_size(genome_size), seed)
        _checks.one_of("optimizer", optimizer, tuple(_TORCH_NAMES))
        _checks.rate("lr", lr)
        _checks.real("momentum", momentum, 0.0, 1.0, high_open=True)
        _checks.real("weight_decay", weight_decay, 0.0, MAX_RATE)
        if optimizer != "sgd" and momentum:
            _checks.fail("momentum", momentum, "0 unless optimizer is 'sgd' (Adam keeps its own moments)")
        self.steps = _checks.loop("steps_per_generation", steps_per_generation)
        self.batch_size = _checks.population("batch_size", batch_size)
        self.clip_grad_norm = _checks.positive("clip_grad_norm", clip_grad_norm, optional=True)
        self.optimizer = _TORCH_NAMES[optimizer]
        self.options: dict[str, Any] = {"lr": float(lr), "weight_decay": float(weight_decay)}
        if optimizer == "sgd":
            self.options["momentum"] = float(momentum)
        self.genotype: torch.Tensor | None = None   # [1, D]; None until the first generation trained
        self.optimizer_state: dict[str, Any] | None = None
        self.steps_done = 0

    @property
    def popsize(self) -> int:
        return 1

    @classmethod
    def accepts(cls, genotype: str, self_trained: bool = False) -> bool:
        """Vector genotypes, or any decoder whose own parameters gradient training changes."""
        return self_trained or genotype == "vector"

    def bind(self, info: DecoderInfo) -> None:
        """A self-trained decoder (HyperGAN, GHN) is trained on its own parameters: that flat vector,
        not the decoder's evolutionary genotype, is what this strategy optimises."""
        if info.trained_size is not None:
            self.genome_size = info.trained_size
        elif self.genome_size is None:
            raise ValueError(f"strategy 'gradient' needs vector genotypes or a self-trained decoder; the decoder "
                             f"decodes {info.genotype!r} genotypes and trains no parameters of its own")

    def _ask(self) -> TrainingJob:
        return TrainingJob(genotypes=self.genotype, size=1, optimizer=self.optimizer, options=dict(self.options),
                           optimizer_state=self.optimizer_state, steps=self.steps, batch_size=self.batch_size,
                           data_seed=self.seed, step=self.steps_done, clip_grad_norm=self.clip_grad_norm)

    def _adopt(self, trained: TrainingJob) -> None:
        if not isinstance(trained, TrainingJob) or trained.genotypes is None:
            raise ValueError("gradient strategy expects the trained TrainingJob back from backend.train")
        self.genotype = trained.genotypes.detach().clone()
        self.optimizer_state = trained.optimizer_state
        self.steps_done = trained.step

    def _tell(self, fitness: torch.Tensor) -> None:
        if self.genotype is None:
            raise RuntimeError("gradient strategy was told fitness before adopting the trained job "
                               "(the search calls backend.train, then adopt, then tell)")

    @staticmethod
    def _copy_genotype(population: Any, i: int) -> Any:
        return population.genotypes[i].detach().clone()

    # ---------------------------------------------------------------- explicit checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {"kind": "gradient", "generation": self.generation,
                "best_fitness": self.best_fitness, "best_genotype": self.best_genotype,
                "genotype": self.genotype, "optimizer_state": self.optimizer_state, "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != "gradient":
            raise ValueError(f"{type(self).__name__} cannot load a {state.get('kind')!r} state")
        self.generation = int(state["generation"])
        self.best_fitness = float(state["best_fitness"])
        self.best_genotype = state["best_genotype"]
        self.genotype = state["genotype"]
        self.optimizer_state = state["optimizer_state"]
        self.steps_done = int(state["steps_done"])
