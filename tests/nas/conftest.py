"""NAS tests run tiny convolutions: one torch thread avoids oversubscription slowdowns on shared CPUs."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
