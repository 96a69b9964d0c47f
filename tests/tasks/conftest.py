import pytest
import torch


def adam_minimise(loss_fn, params: torch.Tensor, steps_or_batches, lr: float) -> torch.Tensor:
    """Minimise ``loss_fn(params, batch).sum()`` with Adam, written out (torch.optim's first step
    imports torch._dynamo, seconds of start-up that would dominate these short trainings)."""
    params = params.detach().clone().requires_grad_(True)
    m, v = torch.zeros_like(params), torch.zeros_like(params)
    for t, batch in enumerate(steps_or_batches, start=1):
        (grad,) = torch.autograd.grad(loss_fn(params, batch).sum(), params)
        with torch.no_grad():
            m.mul_(0.9).add_(0.1 * grad)
            v.mul_(0.999).add_(0.001 * grad * grad)
            params -= lr * (m / (1 - 0.9 ** t)) / ((v / (1 - 0.999 ** t)).sqrt() + 1e-8)
    return params.detach()


@pytest.fixture
def adam():
    return adam_minimise
