"""Hold SIGINT/SIGTERM while a file is written, then deliver them.

The CLI turns Ctrl-C and SIGTERM into an exception raised wherever the main thread happens to be. Inside
``torch.save`` that leaves a half-written zip whose writer then fails on the way out ("unexpected pos"),
so the clean stop became a traceback. Around a checkpoint write the signal is recorded instead and
re-raised once the file is complete and renamed: the stop is delayed by one write (milliseconds), never
lost, and the newest checkpoint is whole.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Inside the block, SIGINT/SIGTERM are recorded; on leaving, the Python handlers that were installed
    are put back and the first recorded signal is raised again for them. Only the main thread can set
    handlers; elsewhere (and for handlers not set from Python) nothing is deferred."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {}
    for signum in _SIGNALS:
        handler = signal.getsignal(signum)
        if handler is None:          # installed outside Python: it cannot be put back, so leave it
            continue
        previous[signum] = handler
        signal.signal(signum, lambda received, frame: pending.append(received))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if pending:
            signal.raise_signal(pending[0])
