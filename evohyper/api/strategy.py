"""Strategy: ask/tell over genotypes. The base class keeps the bookkeeping, subclasses the algorithm.

Internally higher fitness is better: the engine flips minimising tasks before ``tell``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import torch

from evohyper.api import object_state
from evohyper.api.decoder import DecoderInfo
from evohyper.api.registry import component_name
from evohyper.api.task import TaskInfo


def sanitize_fitness(fitness: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Replace NaN/inf by a value just below the worst finite fitness, so they rank last.

    Returns the cleaned fitness and the number of non-finite entries. Pure function.
    """
    f = torch.as_tensor(fitness, dtype=torch.float64).reshape(-1)
    bad = ~torch.isfinite(f)
    n_bad = int(bad.sum())
    if n_bad == 0:
        return f, 0
    finite = f[~bad]
    worst = float(finite.min()) - 1.0 - abs(float(finite.min())) * 1e-6 if finite.numel() else 0.0
    return torch.where(bad, torch.full_like(f, worst), f), n_bad


class Strategy(ABC):
    """Ask/tell search strategy with best-so-far tracking and a code-free ``state_dict``.

    Subclasses implement ``_ask`` and ``_tell`` only. Their constructor takes ``genome_size`` and
    ``seed`` (injected by the engine) followed by keyword-only config options; the options' type
    annotations and defaults are what the config validator checks.

    Checkpointing: the default ``state_dict`` is the strategy's explicit state: its attributes and the
    objects of ``state_libraries`` it holds (cma's mean, covariance, paths and step size, EvoTorch's
    distribution and optimizer, DEAP's population, every random generator's state), recorded as
    tensors + JSON by ``evohyper.api.object_state`` (no pickle); ``load_state_dict`` writes it into a
    freshly constructed strategy. Its size and load time do not grow with the run. Strategies whose
    state is easier to write by hand (NEAT, gradient) override both methods.

    Options a running search may change (Ray Tune's PBT does) are listed in ``mutable_options`` and
    changed through ``set_options``; nothing else of a live strategy is written from outside.
    """

    #: what the strategy reads from each evaluation besides fitness: ``"descriptors"`` (quality-diversity:
    #: ``[P, d]`` float64 behaviour descriptors) and/or ``"objectives"`` (multi-objective: ``[P, m]`` float64,
    #: every column flipped to higher-is-better); ``tell`` hands them to ``_tell`` as keyword arguments, and
    #: a config pairing such a strategy with a task that declares none is refused before the run
    consumes: ClassVar[tuple[str, ...]] = ()
    #: the genotypes ``ask`` returns, and so the decoders it can drive (``Decoder.genotype_kind``):
    #: "vector" = ``Tensor[P, D]``; other kinds ("neat", "graph", "circuit") declare themselves.
    genotype_kind: ClassVar[str] = "vector"
    #: True for strategies that train through the task's differentiable ``loss`` (checked at config time).
    needs_loss: ClassVar[bool] = False
    #: options ``set_options`` may change in the middle of a run (read by the update step only).
    mutable_options: ClassVar[tuple[str, ...]] = ()
    #: packages (besides the strategy's own) whose objects the default ``state_dict`` records attribute by attribute
    state_libraries: ClassVar[tuple[str, ...]] = ("cma", "evotorch", "deap")
    #: dotted attribute paths the default ``state_dict`` leaves out (diagnostics that grow with the run)
    state_exclude: ClassVar[tuple[str, ...]] = ()

    def __init__(self, genome_size: int | None, seed: int):
        self.genome_size = genome_size
        self.seed = int(seed)
        self.generation = 0
        self.best_genotype: Any = None
        self.best_fitness = float("-inf")
        self._population: Any = None

    # ---------------------------------------------------------------- algorithm (subclasses)
    @abstractmethod
    def _ask(self) -> Any:
        """Return the next population of genotypes (``Tensor[P, D]`` for vector strategies)."""

    @abstractmethod
    def _tell(self, fitness: torch.Tensor) -> None:
        """Update from finite fitness ``[P]`` (float64, higher is better) of the last ask. A strategy that
        ``consumes`` descriptors or objectives takes them as keyword arguments of the same names:
        ``descriptors`` ``[P, d]`` float64 (a row may be NaN: an individual that raised; leave it out of an
        archive), ``objectives`` ``[P, m]`` float64, finite, every column higher-is-better."""

    # ---------------------------------------------------------------- bookkeeping (base)
    @property
    def popsize(self) -> int:
        raise NotImplementedError

    def ask(self) -> Any:
        if self._population is not None:
            raise RuntimeError("ask() called twice without tell(); every population must be told")
        self._population = self._ask()
        return self._population

    def tell(self, fitness: torch.Tensor, *, descriptors: torch.Tensor | None = None,
             objectives: torch.Tensor | None = None) -> None:
        """Report the fitness of the last ``ask`` (higher is better, NaN/inf rank last), with the behaviour
        descriptors ``[P, d]`` and objectives ``[P, m]`` (higher is better) a strategy ``consumes``."""
        if self._population is None:
            raise RuntimeError("tell() called before ask()")
        population = self._population
        raw = torch.as_tensor(fitness, dtype=torch.float64).reshape(-1)
        finite = torch.isfinite(raw)
        # the usual case, every value finite, with one host sync (sanitize_fitness would return ``raw`` itself)
        clean = bool(finite.all())
        f = raw if clean else sanitize_fitness(raw)[0]
        if f.shape[0] != len(population):
            raise ValueError(f"tell() got {f.shape[0]} fitness values for {len(population)} genotypes")
        if clean and raw.numel():
            i = int(raw.argmax())
            best = float(raw[i])
            if best > self.best_fitness:
                self.best_fitness = best
                self.best_genotype = self._copy_genotype(population, i)
        elif finite.any():
            i = int(torch.where(finite, raw, torch.tensor(float("-inf"), dtype=raw.dtype)).argmax())
            if float(raw[i]) > self.best_fitness:
                self.best_fitness = float(raw[i])
                self.best_genotype = self._copy_genotype(population, i)
        extras = self._extras(len(population), descriptors=descriptors, objectives=objectives)
        self._tell(f, **extras)
        self._population = None
        self.generation += 1

    def _extras(self, n: int, **given: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The keyword arguments ``_tell`` takes: what ``consumes`` names, checked as ``[n, ...]`` float64.
        Objectives are cleaned column by column as fitness is (NaN/inf just below the column's worst, so they
        rank last); descriptors are passed as they are: a row with NaN (an individual that raised, in lenient
        mode) has no place in an archive, and the strategy must leave it out."""
        out = {}
        for name in self.consumes:
            value = given.get(name)
            if value is None:
                raise ValueError(f"strategy {component_name(self)!r} needs the {name} of every evaluation; "
                                 f"tell() got none")
            v = torch.as_tensor(value, dtype=torch.float64)
            if v.dim() != 2 or v.shape[0] != n:
                raise ValueError(f"tell() got {name} of shape {tuple(v.shape)}; expected [{n}, columns]")
            if name == "objectives" and not bool(torch.isfinite(v).all()):
                v = torch.stack([sanitize_fitness(v[:, j])[0] for j in range(v.shape[1])], 1) if v.shape[1] else v
            out[name] = v
        return out

    def bind_task(self, info: TaskInfo) -> None:  # noqa: B027 - optional hook: most strategies need nothing
        """Called once the task exists, after ``bind`` and before the first ask or a checkpoint load, with
        what the task declares (``Task.info()``): a quality-diversity strategy reads the descriptors' bounds,
        a multi-objective one the objectives and the reference point. Raise ValueError for a task it cannot
        serve. Default: nothing to learn."""

    def metrics(self) -> dict[str, float]:
        """Numbers the strategy reports after each ``tell`` (an archive's QD score and coverage, a front's
        hypervolume): they become metrics.csv/TensorBoard columns and Tune metrics, by these names (so they
        must not repeat a task metric's column). Return the same keys every generation (metrics.csv's
        header is its first row's). Default: none."""
        return {}

    def write_archive(self, directory: Path) -> list[Path]:
        """Write what the strategy keeps beyond one best individual (a quality-diversity archive's elites,
        a Pareto front, their pictures) under ``directory`` (the run's ``archive/``, ``RunDir.archive``;
        create it), at the end of a run (also a resumed one); return the files written. Default: nothing."""
        return []

    @classmethod
    def state_bytes(cls, genome_size: int, options: dict[str, Any]) -> int:
        """Memory of the strategy's own state for a genome of ``genome_size`` values and these config
        options (population aside), for the config's memory estimate. Default: a few vectors."""
        return 4 * 8 * genome_size

    @classmethod
    def state_advice(cls) -> str:
        """What to change when ``state_bytes`` does not fit (ends the config error's message)."""
        return "use a smaller genome"

    @classmethod
    def accepts(cls, genotype: str, self_trained: bool = False) -> bool:
        """Can this strategy drive a decoder of genotype kind ``genotype`` (``self_trained``: a decoder
        whose own parameters gradient training changes)? Checked when a config is built."""
        return genotype == cls.genotype_kind

    def bind(self, info: DecoderInfo) -> None:  # noqa: B027 - optional hook: vector strategies need nothing
        """Called once the decoder exists, before the first ask or a checkpoint load, with what the
        decoder declares (``Decoder.info()``): the only facts a strategy reads from its decoder.

        Vector strategies get everything from ``genome_size``; a strategy whose genotypes have other
        structure reads it here (NEAT the genome's inputs/outputs, a graph search the cell space).
        Raise ValueError for a decoder it cannot serve. Default: nothing to learn."""

    def set_options(self, **options: Any) -> None:
        """Change options listed in ``mutable_options`` on a live strategy (e.g. PBT's exploit);
        any other option is a ValueError naming the mutable ones."""
        for name, value in options.items():
            if name not in self.mutable_options:
                raise ValueError(f"option {name!r} of strategy {component_name(self)!r} cannot change during a run; "
                                 f"mutable options: {', '.join(self.mutable_options) or '(none)'}")
            self._set_option(name, value)

    def _set_option(self, name: str, value: Any) -> None:
        """Apply one mutable option (subclasses with ``mutable_options`` implement it)."""
        raise NotImplementedError(f"strategy {component_name(self)!r} declares {name!r} mutable but cannot set it")

    def center(self) -> Any:
        """The centre of the search distribution as one genotype (what ES users deploy: CMA-ES's mean,
        SNES/PGPE's mu), or None for a strategy without one (the default). Read only: it draws no random
        numbers and changes nothing, so re-evaluating it (``evaluation.reevaluate``) leaves the search as is."""
        return None

    def export_genotype(self, genotype: Any) -> dict[str, Any] | None:
        """JSON data describing one non-tensor genotype (written as ``best/genotype.json``), or None."""
        return None

    def import_genotype(self, data: dict[str, Any]) -> Any:
        """The genotype ``export_genotype`` described (``evohyper export`` reads ``best/genotype.json``
        back); the default suits genotypes that are plain JSON already."""
        return data

    def copy_genotype(self, population: Any, i: int) -> Any:
        """Genotype ``i`` of a population this strategy asked for, as a copy that keeps no view of the
        population (best-so-far, the re-evaluation's candidates). Subclasses override ``_copy_genotype``."""
        return self._copy_genotype(population, i)

    def discard(self) -> None:
        """Forget the last ``ask`` without telling it (a population drawn only to look at, e.g. an
        ensemble of the final search distribution): the strategy is askable again. The draw itself is not
        undone (the strategy's generators moved on), so a discarded ask changes the rest of the run."""
        self._population = None

    @staticmethod
    def _copy_genotype(population: Any, i: int) -> Any:
        """The copy ``copy_genotype`` hands out; the default suits tensors and immutable genotypes."""
        item = population[i]
        return item.detach().clone() if isinstance(item, torch.Tensor) else item

    # ---------------------------------------------------------------- checkpoints
    def _state_libraries(self) -> tuple[str, ...]:
        return (*self.state_libraries, type(self).__module__.split(".")[0])

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "explicit", "class": object_state.qualified_name(type(self)),
                "generation": self.generation,
                "state": object_state.capture(self, self._state_libraries(), self.state_exclude)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.generation != 0:
            raise RuntimeError("load_state_dict() needs a freshly constructed strategy")
        name = object_state.qualified_name(type(self))
        if state.get("kind") != "explicit" or state.get("class") != name:
            raise ValueError(f"{type(self).__name__} cannot load a {state.get('kind')!r} state of "
                             f"{state.get('class')!r}")
        object_state.restore(self, state["state"], self._state_libraries())
        if self.generation != state["generation"]:
            raise ValueError(f"strategy state is inconsistent: generation {self.generation} != {state['generation']}")


class TrainingStrategy(Strategy):
    """A strategy whose population is a ``TrainingJob`` that the backend *trains* (``backend.train``)
    rather than scores: the search hands the trained job back through ``adopt`` before ``tell``, so
    the fitness, the best genotype and the next ask all belong to the trained parameters."""

    def adopt(self, trained: Any) -> None:
        """Take over the trained job returned by the backend for the population of the last ``ask``."""
        if self._population is None:
            raise RuntimeError("adopt() called before ask()")
        if len(trained) != len(self._population):
            raise ValueError(f"adopt() got {len(trained)} trained rows for {len(self._population)} asked")
        self._adopt(trained)
        self._population = trained

    @abstractmethod
    def _adopt(self, trained: Any) -> None:
        """Take over the trained state (parameters, optimizer moments, step count)."""
