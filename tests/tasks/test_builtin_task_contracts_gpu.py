"""The built-in tasks' contract suite again, on a CUDA device (marker ``gpu``; skipped without one)."""
import pytest
import torch

from evohyper.testing import TaskContract
from evohyper_tasks.cartpole import CartPoleTask
from evohyper_tasks.digits import DigitsTask
from evohyper_tasks.sphere import SphereTask
from evohyper_tasks.xor import XorTask

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


class TestXorContractCuda(TaskContract):
    device = "cuda"

    def make_task(self):
        return XorTask()


class TestSphereContractCuda(TaskContract):
    device = "cuda"

    def make_task(self):
        return SphereTask()


class TestDigitsContractCuda(TaskContract):
    device = "cuda"

    def make_task(self):
        return DigitsTask(eval_batch=100)


class TestCartPoleContractCuda(TaskContract):
    device = "cuda"
    genotype_scale = 1.0

    def make_task(self):
        return CartPoleTask(episodes=3, max_steps=200)
