"""Shared fixtures. Ray is imported only by the fixture, so non-Ray tests never start it."""
from __future__ import annotations

import os

import pytest
import torch
from hypothesis import settings

# CI runs the same hypothesis examples every time (a red CI must be reproducible); local runs explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def one_torch_thread():
    """One torch intra-op thread for the test (tiny kernels run faster on 1 than 2 on a shared
    2-core machine); restores the previous setting. Use with ``pytestmark = pytest.mark.usefixtures``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def ray_local():
    """ONE private local Ray instance (2 CPUs, 127.0.0.1, dashboard off) for the whole session.

    Backends created while it is up reuse it and leave it running on close()."""
    pytest.importorskip("ray")
    import ray

    from evohyper.engine.backends.ray import runtime as ray_runtime

    started = ray_runtime.connect(None, num_cpus=2)  # GPUs: whatever Ray detects
    yield ray
    if started:
        ray_runtime.disconnect()
