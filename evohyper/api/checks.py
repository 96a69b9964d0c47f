"""The one option-check toolkit of tasks, decoders and strategies (issue 25).

Why one toolkit: a user who mistypes an option reads the same one line whichever component refused it,
``strategy.popsize: 1; allowed: an integer >= 2``: the key path (the component kind, then the key, dotted
into nested blocks), the value, and what is allowed. Each component module makes the checks of its kind
once (``_checks = Checks("decoder")``; a task checks its ``network:`` block with ``Checks("network")``)
and calls them in its constructor; every check returns the value it accepted. The failure is an
``OptionError`` (a ``ValueError``) that carries its path, so the config build reports it as a ``ConfigError``
at that key (the CLI prints it and exits 2), and a component built directly in Python says the same thing.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

# Bounds on values that size memory or loops, or that the libraries turn into float32 (issue 21): a value past
# them crashed or hung in the first generation (an OverflowError in evotorch, a never-ending episode).
MAX_POPULATION = 1_000_000   # individuals per generation
MAX_LOOP = 100_000           # iterations an option asks for inside one generation (steps, rounds, passes)
MAX_SCALE = 1e6              # a spread or a location in genome space: its square stays finite in float32
MAX_RATE = 1e3               # a learning rate or a weighting coefficient
MAX_EPISODES = 1_000         # episodes per individual (P x E environments or states are held at once)
MAX_STEPS = 1_000_000        # steps per episode (10**16 never ended)
MAX_LAYERS = 64              # layers of a network block (each a step of every forward)
MAX_MAGNITUDE = 1e6          # a number added to or compared with rewards, actions or genome values


def shown(value: Any) -> str:
    """A value as a message quotes it: its repr, cut at 80 characters (a list can be long)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class OptionError(ValueError):
    """One refused option: ``path`` (``decoder.cppn.hidden``) and ``detail`` (the value and what is allowed)."""

    def __init__(self, path: str, detail: str):
        super().__init__(f"{path}: {detail}")
        self.path, self.detail = path, detail

    def __reduce__(self) -> tuple:
        """Picklable with both arguments (a Ray actor's build error reaches the driver as itself)."""
        return type(self), (self.path, self.detail)


class Checks:
    """The option checks of one component kind (``"strategy"``, ``"decoder"``, ``"task"``, ``"network"``)."""

    def __init__(self, kind: str):
        self.kind = kind

    def at(self, block: str) -> Checks:
        """The checks of a nested block: ``Checks("decoder").at("cppn")`` names ``decoder.cppn.<key>``."""
        return Checks(f"{self.kind}.{block}")

    def fail(self, key: str, value: Any, allowed: str) -> NoReturn:
        raise OptionError(f"{self.kind}.{key}", f"{shown(value)}; allowed: {allowed}")

    def refuse(self, key: str, detail: str) -> NoReturn:
        """A refusal that is not "this value, that range" (a file that cannot be read, a target it cannot serve)."""
        raise OptionError(f"{self.kind}.{key}", detail)

    def keys(self, block: Mapping[str, Any] | None, allowed: Iterable[str]) -> dict[str, Any]:
        """``block`` as a dict, refusing its first key not in ``allowed``."""
        block, allowed = dict(block or {}), list(allowed)
        for key in block:
            if key not in allowed:
                self.refuse(key, f"unknown key; allowed keys: {', '.join(allowed) or '(none)'}")
        return block

    def integer(self, key: str, value: Any, minimum: int, maximum: int | None = None, *,
                optional: bool = False) -> int | None:
        if value is None and optional:
            return None
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        if not (ok and (maximum is None or value <= maximum)):
            bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
            self.fail(key, value, f"an integer {bound}" + (" or null" if optional else ""))
        return int(value)

    def real(self, key: str, value: Any, low: float = -math.inf, high: float = math.inf, *,
             low_open: bool = False, high_open: bool = False, optional: bool = False) -> float | None:
        """A finite number in the interval given (open or closed at each end)."""
        if value is None and optional:
            return None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok:
            v = float(value)
            ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
        if not ok:
            lo, hi = f"{'(' if low_open else '['}{low:g}", f"{high:g}{')' if high_open else ']'}"
            self.fail(key, value, f"a finite number in {lo}, {hi}" + (" or null" if optional else ""))
        return float(value)

    def boolean(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            self.fail(key, value, "true or false")
        return value

    def one_of(self, key: str, value: Any, allowed: Iterable[Any]) -> Any:
        allowed = tuple(allowed)
        if not any(value == a and isinstance(value, bool) == isinstance(a, bool) for a in allowed):
            self.fail(key, value, "one of " + ", ".join(repr(a) for a in allowed))
        return value

    def sizes(self, key: str, value: Any, *, minimum: int = 1, max_len: int = MAX_LAYERS,
              non_empty: bool = False, example: str = "") -> list[int]:
        """A list of integers >= ``minimum`` (layer widths, channels) of at most ``max_len`` entries."""
        ok = isinstance(value, (list, tuple)) and len(value) <= max_len and (len(value) > 0 or not non_empty)
        if not (ok and all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value)):
            what = "a non-empty list" if non_empty else "a list"
            self.fail(key, value, f"{what} of at most {max_len} integers >= {minimum}{example}")
        return [int(v) for v in value]

    # Named bounds: what a kind of option may be, said once.
    def size(self, key: str, value: Any) -> int:
        """A width or count that sizes a network (``embedding``, ``hidden``): an integer >= 1."""
        return self.integer(key, value, 1)  # type: ignore[return-value]

    def positive(self, key: str, value: Any, *, optional: bool = False) -> float | None:
        return self.real(key, value, 0.0, low_open=True, optional=optional)

    def probability(self, key: str, value: Any) -> float:
        return self.real(key, value, 0.0, 1.0)  # type: ignore[return-value]

    def population(self, key: str, value: Any, minimum: int = 1, *, optional: bool = False) -> int | None:
        return self.integer(key, value, minimum, MAX_POPULATION, optional=optional)

    def loop(self, key: str, value: Any, minimum: int = 1, *, optional: bool = False) -> int | None:
        return self.integer(key, value, minimum, MAX_LOOP, optional=optional)

    def scale(self, key: str, value: Any, *, optional: bool = False) -> float | None:
        """A spread (stdev, radius, sigma): finite, > 0 and at most ``MAX_SCALE``."""
        return self.real(key, value, 0.0, MAX_SCALE, low_open=True, optional=optional)

    def location(self, key: str, value: Any) -> float:
        """A point or offset in genome space: finite and within ``MAX_SCALE`` of 0."""
        return self.real(key, value, -MAX_SCALE, MAX_SCALE)  # type: ignore[return-value]

    def rate(self, key: str, value: Any, *, optional: bool = False) -> float | None:
        """A learning rate or coefficient: finite, > 0 and at most ``MAX_RATE``."""
        return self.real(key, value, 0.0, MAX_RATE, low_open=True, optional=optional)

    def magnitude(self, key: str, value: Any) -> float:
        """A number added to or compared with rewards, actions or values: finite, within ``MAX_MAGNITUDE`` of 0."""
        return self.real(key, value, -MAX_MAGNITUDE, MAX_MAGNITUDE)  # type: ignore[return-value]

    def point(self, key: str, value: Any, bound: float = MAX_RATE * MAX_SCALE) -> list[float] | None:
        """A point in objective space (a hypervolume reference point): null, or a non-empty list of finite numbers
        within ``bound`` of 0; its length is checked by the strategy once it knows the task's objectives."""
        if value is None:
            return None
        if not (isinstance(value, (list, tuple)) and value and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= bound for v in value)):
            self.fail(key, value, "a list of finite numbers, one per objective, or null")
        return [float(v) for v in value]

    def genome_size(self, value: Any, minimum: int = 1) -> int:
        return self.integer("genome_size", value, minimum)  # type: ignore[return-value]
