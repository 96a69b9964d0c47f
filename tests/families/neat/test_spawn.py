"""``reproduction.compute_spawn`` / ``adjust_spawn_exact`` against neat-python's (S4), on hypothesis inputs.

Both are ports on Python lists, so the comparison is exact: same lists, or the same exception with the same
message. Inputs cover a zero adjusted-fitness sum, minimum sizes, totals short of and over ``pop_size``,
the ``num_species * min_species_size > pop_size`` conflict, and the division by a zero total.
"""
from __future__ import annotations

import neat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evohyper.families.neat.reproduction import adjust_spawn_exact, compute_spawn

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REF = neat.DefaultReproduction


def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the exception itself is what is compared
        return type(exc).__name__, str(exc)


@st.composite
def spawn_inputs(draw):
    n = draw(st.integers(1, 12))
    zero = draw(st.booleans())
    af = [0.0] * n if zero else draw(st.lists(st.one_of(st.just(0.0), st.floats(0.0, 1.0)), min_size=n, max_size=n))
    sizes = draw(st.lists(st.integers(1, 60), min_size=n, max_size=n))
    pop_size = draw(st.integers(1, 300))
    msz = draw(st.integers(0, 6))
    return af, sizes, pop_size, msz


@SETTINGS
@given(spawn_inputs())
def test_compute_spawn_equals_neat(case):
    af, sizes, pop_size, msz = case
    assert _outcome(compute_spawn, af, sizes, pop_size, msz) == _outcome(REF.compute_spawn, af, sizes, pop_size, msz)


@SETTINGS
@given(st.lists(st.integers(0, 80), min_size=1, max_size=15), st.integers(1, 400), st.integers(0, 8))
def test_adjust_spawn_exact_equals_neat(spawn, pop_size, msz):
    ours = _outcome(adjust_spawn_exact, list(spawn), pop_size, msz)
    theirs = _outcome(REF._adjust_spawn_exact, None, list(spawn), pop_size, msz)
    assert ours == theirs


@SETTINGS
@given(spawn_inputs())
def test_the_pipeline_equals_neat(case):
    """compute then adjust, as ``reproduce`` chains them."""
    af, sizes, pop_size, msz = case
    first = _outcome(compute_spawn, af, sizes, pop_size, msz)
    if first[0] != "ok":
        return
    assert _outcome(adjust_spawn_exact, list(first[1]), pop_size, msz) == \
        _outcome(REF._adjust_spawn_exact, None, list(first[1]), pop_size, msz)


def test_known_cases_hit_every_branch():
    # a zero sum gives everybody the minimum; the total is then short and grows smallest-first
    assert compute_spawn([0.0, 0.0], [10, 30], 40, 2) == REF.compute_spawn([0.0, 0.0], [10, 30], 40, 2)
    assert adjust_spawn_exact([3, 1, 2], 10, 1) == [4, 3, 3]  # short: round robin, smallest first
    assert adjust_spawn_exact([9, 2, 5], 14, 2) == [8, 2, 4]  # over: largest first, never under the minimum
    # quirk: when over, one pass only; what it cannot remove is neat's "Internal error" (reachable from
    # compute_spawn: nine species clamped up to the minimum, one large one)
    spawn = compute_spawn([0.0] * 9 + [1.0], [1] * 9 + [40], 50, 2)
    assert spawn == [2] * 9 + [36]
    assert _outcome(adjust_spawn_exact, spawn, 50, 2) == _outcome(REF._adjust_spawn_exact, None, spawn, 50, 2)
    assert "Internal error" in _outcome(adjust_spawn_exact, spawn, 50, 2)[1]
    assert _outcome(adjust_spawn_exact, [3, 3, 3, 3], 7, 2)[0] == "RuntimeError"  # 4 * 2 > 7
    assert "num_species * min_species_size" in _outcome(adjust_spawn_exact, [3, 3, 3, 3], 7, 2)[1]
    spawn = [4, 4]
    adjust_spawn_exact(spawn, 10, 1)
    assert spawn == [4, 4]  # the caller's list is not modified
