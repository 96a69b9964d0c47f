"""Run library code that draws from a *global* RNG on a generator owned by one strategy instance.

DEAP draws from Python's ``random`` module and a few corners of ``cma`` from ``np.random``. Swapping our
own state in (and the caller's back out) makes those draws a function of the strategy's seed only, and
leaves the process-wide generators exactly as the caller left them. Not thread-safe: two threads
running swapped code at once would interleave their draws (strategies are driven by one thread).
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np


@contextmanager
def python_random(own: random.Random) -> Iterator[None]:
    saved = random.getstate()
    random.setstate(own.getstate())
    try:
        yield
    finally:
        own.setstate(random.getstate())
        random.setstate(saved)


@contextmanager
def numpy_random(own: np.random.RandomState) -> Iterator[None]:
    saved = np.random.get_state()
    np.random.set_state(own.get_state())
    try:
        yield
    finally:
        own.set_state(np.random.get_state())
        np.random.set_state(saved)
