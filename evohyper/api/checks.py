"""Option checks shared by the built-in strategies: every error names the option, the value and what is allowed."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def fail(name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"invalid strategy option {name}={value!r}; allowed: {allowed}")


def genome_size(value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        fail("genome_size", value, f"an integer >= {minimum}")
    return int(value)


def integer(name: str, value: Any, minimum: int, maximum: int | None = None, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    ok = ok and (maximum is None or value <= maximum)
    if not ok:
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        fail(name, value, f"an integer {bound}" + (" or null" if optional else ""))
    return int(value)


def real(name: str, value: Any, low: float = -math.inf, high: float = math.inf, *,
         low_open: bool = False, high_open: bool = False, optional: bool = False) -> float | None:
    """A finite float in the interval given (open or closed at each end)."""
    if value is None and optional:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        v = float(value)
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        lo = f"{'(' if low_open else '['}{low:g}"
        hi = f"{high:g}{')' if high_open else ']'}"
        fail(name, value, f"a finite number in {lo}, {hi}" + (" or null" if optional else ""))
    return float(value)


def positive(name: str, value: Any, *, optional: bool = False) -> float | None:
    return real(name, value, 0.0, low_open=True, optional=optional)


def probability(name: str, value: Any) -> float:
    return real(name, value, 0.0, 1.0)  # type: ignore[return-value]


def one_of(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    allowed = tuple(allowed)
    if value not in allowed:
        fail(name, value, "one of " + ", ".join(repr(a) for a in allowed))
    return value


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        fail(name, value, "true or false")
    return value


# Bounds on values that size memory or loops, or that the libraries turn into float32 (issue 21): a value past
# them crashed or hung in the first generation (an OverflowError in evotorch, a never-ending episode).
MAX_POPULATION = 1_000_000   # individuals per generation
MAX_LOOP = 100_000           # iterations an option asks for inside one generation (steps, rounds, passes)
MAX_SCALE = 1e6              # a spread or a location in genome space: its square stays finite in float32
MAX_RATE = 1e3               # a learning rate or a weighting coefficient


def population(name: str, value: Any, minimum: int = 1, *, optional: bool = False) -> int | None:
    return integer(name, value, minimum, MAX_POPULATION, optional=optional)


def loop(name: str, value: Any, minimum: int = 1, *, optional: bool = False) -> int | None:
    return integer(name, value, minimum, MAX_LOOP, optional=optional)


def scale(name: str, value: Any, *, optional: bool = False) -> float | None:
    """A spread (stdev, radius, sigma): finite, > 0 and at most ``MAX_SCALE``."""
    return real(name, value, 0.0, MAX_SCALE, low_open=True, optional=optional)


def location(name: str, value: Any) -> float:
    """A point or offset in genome space: finite and within ``MAX_SCALE`` of 0."""
    return real(name, value, -MAX_SCALE, MAX_SCALE)  # type: ignore[return-value]


def rate(name: str, value: Any, *, optional: bool = False) -> float | None:
    """A learning rate or coefficient: finite, > 0 and at most ``MAX_RATE``."""
    return real(name, value, 0.0, MAX_RATE, low_open=True, optional=optional)
