"""How much the end-of-run re-evaluation may spend: a share of the run's budget, in the units the budget sets.

Why: the end re-evaluation runs after the budget is spent, so without a bound it can cost more than the run
(a quality-diversity archive of ~1,000 walker elites x 10 fresh episodes is ~10 M environment steps after a
4 M-step run). The usual candidates (at most ``top_k`` + 3, a cost the config fixes) are bounded by
``budget.seconds`` only, so a ``seconds`` budget stays wall-clock; an archive's or a front's members, whose
number grows with the run, are bounded in every unit the budget limits, the tightest winning: ``seconds`` (the measured
cost of one candidate-episode), ``env_steps`` and ``sample_forwards`` (the run's own mean per episode so far),
``evaluations`` (one candidate on E episodes is E / k evaluations, k the run's episodes per evaluation) and
``generations`` (as evaluations: the limit times the run's mean evaluations per generation). ``share`` is
``evaluation.reevaluate.end_share`` (null: no bound). The allowance is counted in candidate-episodes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Allowance:
    """Candidate-episodes the end re-evaluation may spend (``episodes``; None: no bound) and the budget key
    that binds (``unit``, e.g. ``env_steps``), for the one line that says why it was cut."""

    episodes: float | None = None
    unit: str | None = None
    share: float | None = None

    def words(self) -> str:
        return f"{self.share:.0%} of budget.{self.unit}" if self.unit else "no bound"


#: every unit an allowance can be counted in (``budget.<unit>``)
UNITS = ("seconds", "env_steps", "sample_forwards", "evaluations", "generations")


def end_allowance(share: float | None, budget: Any, counters: Any, seconds_per_episode: float | None,
                  episodes_per_evaluation: int, units: tuple[str, ...] = UNITS) -> Allowance:
    """The allowance for a run with ``budget`` (``config.budget.Budget``) that has spent ``counters``, counted
    in ``units`` only."""
    if share is None or budget is None:
        return Allowance()
    k = max(1, int(episodes_per_evaluation))
    evaluations = max(1, int(counters.evaluations))
    per_episode = {   # one candidate-episode's cost in each unit (None: not measured, that unit cannot bind)
        "seconds": seconds_per_episode if seconds_per_episode and seconds_per_episode > 0 else None,
        "env_steps": counters.env_steps / (evaluations * k) if counters.env_steps > 0 else None,
        "sample_forwards": counters.sample_forwards / (evaluations * k) if counters.sample_forwards > 0 else None,
        "evaluations": 1.0 / k,
        "generations": 1.0 / k * counters.generation / evaluations if counters.generation > 0 else None,
    }
    best = Allowance(share=share)
    for unit, cost in per_episode.items():
        limit = getattr(budget, unit, None)
        if unit not in units or limit is None or cost is None:
            continue
        episodes = share * float(limit) / cost
        if best.episodes is None or episodes < best.episodes:
            best = Allowance(episodes, unit, share)
    return best


def episodes_for(episodes: int, candidates: int, allowance: Allowance) -> int:
    """Episodes per candidate when every one of ``candidates`` must be scored: ``episodes``, or fewer (at least
    1) when they would not fit in the allowance."""
    if allowance.episodes is None:
        return episodes
    return max(1, min(episodes, int(allowance.episodes / max(1, candidates))))


def members_for(episodes: int, members: int, allowance: Allowance) -> int:
    """How many archive members (the best first) can be scored on ``episodes`` episodes each: all of them,
    or as many as fit (at least 1: the one ``best/`` would otherwise export unchecked)."""
    if allowance.episodes is None:
        return members
    return max(1, min(members, int(allowance.episodes / max(1, episodes))))
