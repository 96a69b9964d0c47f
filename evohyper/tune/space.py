"""Validated `tune:` data -> Ray Tune objects: search space, scheduler, a trial's placement group."""
from __future__ import annotations

from typing import Any

from evohyper.config.schema import Config
from evohyper.config.tune_schema import ParamSpec, SchedulerSpec, TuneSpec


def domain(spec: ParamSpec) -> Any:
    """A Ray Tune search-space domain (uniform, loguniform, randint, choice, grid_search)."""
    from ray import tune

    lo_hi = spec.values
    if spec.kind == "uniform":
        return tune.uniform(*lo_hi)
    if spec.kind == "loguniform":
        return tune.loguniform(*lo_hi)
    if spec.kind == "randint":
        return tune.randint(*lo_hi)
    if spec.kind == "choice":
        return tune.choice(spec.values)
    return tune.grid_search(spec.values)


def param_space(spec: TuneSpec) -> dict[str, Any]:
    """Flat ``{dotted.key: domain}``: Tune's result tables then show one column per searched key."""
    return {key: domain(p) for key, p in sorted(spec.params.items())}


def mode_of(spec: TuneSpec, config: Config) -> str:
    """The tune mode: as given, else the task's own direction (records are in the task's direction)."""
    if spec.mode:
        return spec.mode
    from evohyper.api import registry

    return "max" if registry.tasks.get(config.task["name"]).maximize else "min"


def scheduler(s: SchedulerSpec, metric: str, mode: str, max_generations: int | None) -> Any:
    """FIFO, ASHA over generations, or PBT whose exploit goes through our trial checkpoints."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, PopulationBasedTraining

    if s.name == "fifo":
        return FIFOScheduler()
    if s.name == "asha":
        if max_generations is None:
            raise ValueError("the ASHA scheduler needs budget.generations (it stops trials by generation)")
        return ASHAScheduler(time_attr="generation", metric=metric, mode=mode, max_t=max_generations,
                             grace_period=s.grace_period, reduction_factor=s.reduction_factor,
                             brackets=s.brackets)
    return PopulationBasedTraining(time_attr="generation", metric=metric, mode=mode,
                                   perturbation_interval=s.perturbation_interval,
                                   hyperparam_mutations={k: domain(v) for k, v in s.hyperparam_mutations.items()},
                                   quantile_fraction=s.quantile_fraction,
                                   resample_probability=s.resample_probability, synch=s.synch)


def bundles(config: Config, driver_cpus: float) -> list[dict[str, float]]:
    """The trial's resource request: the driver, then one bundle per evaluator actor (ray backend).

    The actors are created inside this placement group by ``RayBackend`` (``placement_group="current"``),
    so a trial holds everything it needs before it starts: no over-subscription, no deadlock."""
    out = [{"CPU": float(driver_cpus)}]
    b = config.backend
    if b.name == "ray":
        actor = {"CPU": float(b.num_cpus_per_actor)}
        if b.num_gpus_per_actor > 0:
            actor["GPU"] = float(b.num_gpus_per_actor)
        out += [dict(actor) for _ in range(b.num_actors)]
    elif b.evaluation_device().startswith("cuda"):
        out[0]["GPU"] = 1.0
    return out


def placement_group_factory(config: Config, driver_cpus: float) -> Any:
    from ray.tune import PlacementGroupFactory

    return PlacementGroupFactory(bundles(config, driver_cpus), strategy="PACK")
