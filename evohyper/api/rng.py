"""Run library code that draws from a *global* RNG on a generator owned by one strategy instance.

DEAP draws from Python's global ``random`` module. Swapping our own state in (and the caller's back
out) makes those draws a function of the strategy's seed only, and leaves the process-wide generator
exactly as the caller left it. Not thread-safe: two threads running swapped code at once would
interleave their draws (a strategy is driven by one thread).
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def python_random(own: random.Random) -> Iterator[None]:
    saved = random.getstate()
    random.setstate(own.getstate())
    try:
        yield
    finally:
        own.setstate(random.getstate())
        random.setstate(saved)

