"""Family tests run tiny convolutions and tensors: one torch thread avoids oversubscription slowdowns on shared CPUs."""
import pytest


@pytest.fixture(autouse=True)
def _one_thread_everywhere(one_torch_thread):
    """Every test in this directory gets the shared ``one_torch_thread`` fixture (tests/conftest.py)."""
    yield
