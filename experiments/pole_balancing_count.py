"""One counted run of the pole study, shared by the study (``pole_balancing.run_one``) and the probes
(``pole_balancing_probes``): the arm's validated config, a bare search whose backend keeps each generation's result,
and the count of evaluations to the first solver (how it is counted: ``pole_balancing``'s module docstring)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from experiments.pole_balancing_spec import ARMS, dct_scale, radius_scale, raw_config, solved_mask


class Capture:
    """The search's backend, keeping the last evaluated generation's result (its per-individual metrics)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.last: Any = None

    def evaluate(self, *args: Any) -> Any:
        self.last = self.backend.evaluate(*args)
        return self.last

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)


def build(task: str, variant: str, arm: str, seed: int, max_steps: int | None = None, cap: int | None = None,
          strategy: dict[str, Any] | None = None):
    """The validated config and its components (a ``dct`` arm without ``gain: size``: ``scale`` set by
    ``dct_scale``; a radius-matched arm: by ``radius_scale``); ``strategy``: options over the arm's (probes)."""
    from evohyper.config import validate

    raw = raw_config(task, variant, arm, seed, max_steps=max_steps, cap=cap)
    raw["strategy"].update(strategy or {})
    config = validate(raw)
    components = config.components()
    if raw["decoder"]["name"] == "dct" and (ARMS[arm].match_radius or raw["decoder"].get("gain", "none") == "none"):
        decoder = components.decoder
        raw["decoder"]["scale"] = radius_scale(decoder.target, raw["decoder"], raw["strategy"]["sigma0"]) \
            if ARMS[arm].match_radius else dct_scale(decoder.target.num_params, decoder.genome_size)
        config = validate(raw)
        components = config.components()
    return config, components


def evaluations_to_solve(next_generation: Callable[[], torch.Tensor], cap: int,
                         out_of_time: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """Step generations (``next_generation()`` evaluates one and returns its solved mask ``[P]``) until one solves
    within ``cap`` evaluations or ``cap`` is spent (or ``out_of_time()``, checked between generations). Returns
    ``solved``, ``evaluations`` (to the first solving individual, in population order; unsolved: all spent),
    ``evaluations_generation_end``, ``generations``, ``index`` (the solver's position in its generation; None
    unsolved) and ``timed_out`` (stopped by the clock before the cap: a failure of its own kind)."""
    done, generation = 0, 0
    while done < cap:
        if out_of_time():
            return {"solved": False, "evaluations": done, "evaluations_generation_end": done,
                    "generations": generation, "index": None, "timed_out": True}
        mask = torch.as_tensor(next_generation()).bool().reshape(-1)
        generation += 1
        hits = torch.nonzero(mask).flatten()
        if len(hits) and done + int(hits[0]) + 1 <= cap:
            i = int(hits[0])
            return {"solved": True, "evaluations": done + i + 1, "evaluations_generation_end": done + len(mask),
                    "generations": generation, "index": i, "timed_out": False}
        done += len(mask)
    return {"solved": False, "evaluations": done, "evaluations_generation_end": done, "generations": generation,
            "index": None, "timed_out": False}


def counted_run(task: str, variant: str, arm: str, seed: int, cap: int, *, max_seconds: float | None = None,
                max_steps: int | None = None, strategy: dict[str, Any] | None = None,
                observe: Callable[[Any, Any], None] | None = None) -> tuple[dict[str, Any], Any, Any, Any]:
    """One run stepped generation by generation until it solves within ``cap`` evaluations, spends them, or its
    process has used ``max_seconds`` of CPU time (None: no clock; a loaded machine slows a run, never times it
    out); ``observe(result, strategy)`` after every generation. Returns ``evaluations_to_solve``'s outcome, the
    config, the components and the search (its backend closed)."""
    from evohyper.engine.runner import build_search

    torch.set_num_threads(1)
    cpu_started = time.process_time()
    config, components = build(task, variant, arm, seed, max_steps, cap, strategy)
    steps = int(config.to_dict()["task"]["max_steps"])
    search = build_search(config, None, components=components)
    capture = Capture(search.backend)
    search.backend = capture

    def next_generation() -> torch.Tensor:
        search.step()
        if observe is not None:
            observe(capture.last, components.strategy)
        return solved_mask(task, capture.last, steps)

    try:
        outcome = evaluations_to_solve(next_generation, cap, lambda: max_seconds is not None
                                       and time.process_time() - cpu_started > max_seconds)
    finally:
        capture.backend.close()
    return outcome, config, components, search
