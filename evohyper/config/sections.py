"""The engine's own config sections: where evaluation runs (``backend``), what a task failure means
(``evaluation``) and what a run writes (``output``). Each option is declared once, here: the YAML
validator reads these dataclasses, and the backends take them as they are."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal


def _finite(name: str, value: Any, low: float, *, strict: bool) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value <= low if strict else value < low):
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {low:g}, got {value!r}")


MAX_THREADS = 1024   # more is a typo, not a machine


def _thread_count(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_THREADS):
        raise ValueError(f"{name} must be an integer from 1 to {MAX_THREADS} or null (the thread policy's "
                         f"choice), got {value!r}")


@dataclass
class BackendConfig:
    """Where evaluation runs: ``local`` (in this process) or ``ray`` (a pool of evaluator actors).

    device: the evaluation device (``cpu``, ``cuda``, ``cuda:1``); null = ``cuda`` for Ray actors with
      GPUs (the GPU Ray assigned each), else ``cpu``.
    num_actors, num_cpus_per_actor, num_gpus_per_actor: the actor pool and what each actor reserves
      (fractions allowed); ``resources``: extra custom Ray resources per actor.
    address: null starts a private local Ray on 127.0.0.1 (dashboard off); ``auto``, ``host:port`` or
      ``ray://host:10001`` joins a cluster. num_cpus / num_gpus: size of that local Ray (null: all).
    timeout_s: longest a chunk may take on a started actor before it counts as hung;
      startup_timeout_s: longest an actor may take to be placed and built; max_retries: retries of
      one chunk, each on a fresh actor.
    scheduling_strategy: ``SPREAD`` places actors over as many nodes as possible, ``DEFAULT`` packs them.
    runtime_env: a Ray runtime environment for the actors.
    driver_threads, driver_blas_threads, evaluator_torch_threads, evaluator_blas_threads: torch and BLAS
      threads of the driver and of each evaluator (a Ray actor; on ``local``, the one process, where an
      ``evaluator_*`` count wins over a ``driver_*`` one); null = the engine's thread policy
      (:mod:`evohyper.engine.threads`: 1 each for a Ray driver, the actor's CPUs for an actor, 1 BLAS and
      ``cores // 2`` torch threads locally). ``driver_threads`` keeps its earlier meaning (the driver's
      torch threads; its old default 1 is now the policy's choice on Ray).
    """

    name: Literal["local", "ray"] = "local"
    device: str | None = None
    num_actors: int = 2
    num_cpus_per_actor: float = 1.0
    num_gpus_per_actor: float = 0.0
    resources: dict[str, float] = field(default_factory=dict)
    address: str | None = None
    num_cpus: float | None = None
    num_gpus: float | None = None
    timeout_s: float = 300.0
    startup_timeout_s: float = 300.0
    max_retries: int = 3
    scheduling_strategy: Literal["SPREAD", "DEFAULT"] = "SPREAD"
    runtime_env: dict[str, Any] | None = None
    driver_threads: int | None = None
    driver_blas_threads: int | None = None
    evaluator_torch_threads: int | None = None
    evaluator_blas_threads: int | None = None

    def __post_init__(self) -> None:
        if self.num_actors < 1:
            raise ValueError(f"num_actors must be >= 1, got {self.num_actors}")
        _finite("num_cpus_per_actor", self.num_cpus_per_actor, 0, strict=True)
        _finite("num_gpus_per_actor", self.num_gpus_per_actor, 0, strict=False)
        for key in ("num_cpus", "num_gpus"):
            if getattr(self, key) is not None:
                _finite(key, getattr(self, key), 0, strict=False)
        _finite("timeout_s", self.timeout_s, 0, strict=True)
        _finite("startup_timeout_s", self.startup_timeout_s, 0, strict=True)
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        for key, value in self.resources.items():
            _finite(f"resources.{key}", value, 0, strict=False)
        for key in ("driver_threads", "driver_blas_threads", "evaluator_torch_threads", "evaluator_blas_threads"):
            _thread_count(key, getattr(self, key))
        if self.device is not None:
            self._check_device()
        if self.name == "ray" and self.address is None:   # a local Ray of num_cpus / num_gpus: can all actors fit?
            for kind, per, total in (("cpus", self.num_cpus_per_actor, self.num_cpus),
                                     ("gpus", self.num_gpus_per_actor, self.num_gpus)):
                if total is not None and self.num_actors * per > total:
                    raise ValueError(f"num_actors * num_{kind}_per_actor = {self.num_actors * per:g} exceeds "
                                     f"num_{kind} = {total:g} of the local Ray instance, so the actors could never "
                                     f"all be placed; lower num_actors or num_{kind}_per_actor, or raise num_{kind}")

    def _check_device(self) -> None:
        """A device this machine (local backend) or a Ray actor (with GPUs reserved) can actually use."""
        import torch

        try:
            device = torch.device(self.device)
        except (RuntimeError, ValueError, TypeError):
            raise ValueError(f"device must be a torch device such as cpu, cuda or cuda:1, got {self.device!r}") \
                from None
        if device.type != "cuda":
            return
        if self.name == "ray" and self.num_gpus_per_actor <= 0:
            raise ValueError(f"device {self.device!r} on the ray backend needs num_gpus_per_actor > 0 (Ray hides "
                             f"the GPUs from actors that reserve none)")
        if self.name == "local" and not torch.cuda.is_available():
            raise ValueError(f"device {self.device!r}, but torch sees no CUDA device on this machine "
                             f"(torch.cuda.is_available() is false); use device: cpu, or the ray backend with "
                             f"num_gpus_per_actor > 0 on a cluster with GPUs")
        if self.name == "local" and device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {self.device!r}, but this machine has {torch.cuda.device_count()} CUDA "
                             f"device(s): cuda:0..cuda:{torch.cuda.device_count() - 1}")

    def evaluation_device(self) -> str:
        """The device evaluation runs on (``device``, or its default)."""
        if self.device is not None:
            return self.device
        return "cuda" if self.name == "ray" and self.num_gpus_per_actor > 0 else "cpu"


@dataclass
class ReevaluateConfig:
    """Re-evaluation of candidates on fresh episodes (``evaluation.reevaluate``); ``best/`` is chosen by it.

    enabled: true / false; null (default): on for tasks that declare stochastic evaluation
      (``Task.stochastic``: gym, cart-pole), off for deterministic ones.
    every: also re-evaluate every this many generations (the best re-evaluated candidate so far stays in
      the running); null: only at the end of the run.
    top_k: the generation's k best individuals (by search fitness) are candidates, with the search's
      best so far and the strategy's distribution centre.
    episodes: episodes per candidate (the task's ``episodes`` option, one batched call); for a task
      without that option, this many evaluations with different seeds.
    centre: also re-evaluate the strategy's distribution centre (``Strategy.center()``: CMA-ES's mean,
      SNES/XNES/PGPE/CEM's mu).
    end_share: the share of the run's budget the end-of-run re-evaluation may spend (null: no bound). The
      usual candidates are bounded by ``budget.seconds`` only (fewer episodes each, at least 1); an archive's
      or front's members, whose number grows with the run, by every limit the budget sets (seconds,
      env_steps, evaluations, generations, sample_forwards; the run's own cost per episode so far): the best
      members by the search's score are re-evaluated, as many as fit (at least 1), the rest left unscored.
    """

    enabled: bool | None = None
    every: int | None = None
    top_k: int = 3
    episodes: int = 10
    centre: bool = True
    end_share: float | None = 0.05

    def __post_init__(self) -> None:
        # top_k x episodes environments may exist at once (gym): both bounded
        for key, high in (("every", 10**9), ("top_k", 1000), ("episodes", 1000)):
            value = getattr(self, key)
            if value is None and key == "every":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
                raise ValueError(f"reevaluate.{key} must be an integer in [1, {high}], got {value!r}")
        share = self.end_share
        if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float))
                                  or not 0 < share <= 100 or share != share):
            raise ValueError(f"reevaluate.end_share must be a number in (0, 100] or null, got {share!r}")
        for key in ("enabled", "centre"):
            value = getattr(self, key)
            if not (isinstance(value, bool) or (value is None and key == "enabled")):
                raise ValueError(f"reevaluate.{key} must be true or false{' or null' * (key == 'enabled')}, "
                                 f"got {value!r}")


@dataclass
class EvaluationConfig:
    """What a task failure means: ``strict`` stops the run, ``lenient`` scores the individual worst.

    on_error: ``strict`` (a task exception stops the run) or ``lenient`` (the failing individual scores
      worst; its exception goes to ``errors.log``).
    reevaluate: re-score the best candidates on fresh episodes and choose ``best/`` by that score
      (``{enabled, every, top_k, episodes, centre}``, see ``ReevaluateConfig``; true / false switch it
      with the defaults).
    """

    on_error: Literal["strict", "lenient"] = "strict"
    reevaluate: dict[str, Any] | bool | None = None

    def __post_init__(self) -> None:
        value = self.reevaluate
        if isinstance(value, ReevaluateConfig):
            return
        if value is None or isinstance(value, bool):
            self.reevaluate = ReevaluateConfig(enabled=value)
            return
        allowed = [f.name for f in fields(ReevaluateConfig)]
        unknown = [k for k in value if k not in allowed]
        if unknown:
            raise ValueError(f"reevaluate.{unknown[0]}: unknown key; allowed keys: {', '.join(allowed)}")
        self.reevaluate = ReevaluateConfig(**value)


@dataclass
class OutputConfig:
    """What a run writes: ``runs_dir/<name>-<time>/`` with a checkpoint at most every ``checkpoint_seconds``
    of wall-clock (stretched to 50x a save's duration, so saving costs <= 2% of the run) and at the end, or
    every ``checkpoint_every`` generations when set (the newest ``keep_checkpoints`` kept), TensorBoard
    events and a progress bar."""

    runs_dir: str = "runs"
    checkpoint_every: int | None = None
    keep_checkpoints: int = 3
    tensorboard: bool = True
    progress: bool = True
    checkpoint_seconds: float = 30.0

    def __post_init__(self) -> None:
        if (self.checkpoint_every is not None and self.checkpoint_every < 1) or self.keep_checkpoints < 1:
            raise ValueError("checkpoint_every and keep_checkpoints must be >= 1")
        if not (math.isfinite(self.checkpoint_seconds) and self.checkpoint_seconds > 0):
            raise ValueError(f"checkpoint_seconds must be a finite number > 0, got {self.checkpoint_seconds!r}")
        if "\x00" in self.runs_dir:
            raise ValueError(f"runs_dir must be a directory path, got {self.runs_dir!r} (a NUL character)")
        try:
            for parent in (Path(self.runs_dir), *Path(self.runs_dir).parents):   # nothing is created here
                if parent.exists():
                    if not parent.is_dir():
                        raise ValueError(f"runs_dir {self.runs_dir!r} lies under {str(parent)!r}, which is not a "
                                         "directory")
                    break
        except OSError as exc:   # e.g. a name longer than the file system allows
            raise ValueError(f"runs_dir {self.runs_dir[:80]!r}... is not a usable directory path "
                             f"({exc.strerror or exc})") from None
