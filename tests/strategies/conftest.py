"""Strategy tests run tiny tensors: one intra-op thread is faster and immune to CPU contention."""
import pytest


@pytest.fixture(autouse=True)
def _one_thread_everywhere(one_torch_thread):
    """Every test in this directory gets the shared ``one_torch_thread`` fixture (tests/conftest.py)."""
    yield
