"""Shared fixtures. Ray is imported only by the fixture, so non-Ray tests never start it."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_local():
    """ONE private local Ray instance (2 CPUs, 127.0.0.1, dashboard off) for the whole session.

    Backends created while it is up reuse it and leave it running on close()."""
    pytest.importorskip("ray")
    import ray

    from evohyper.engine.backends import ray_runtime

    started = ray_runtime.connect(None, num_cpus=2)  # GPUs: whatever Ray detects
    yield ray
    if started:
        ray_runtime.disconnect()
