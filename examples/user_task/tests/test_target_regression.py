from bandit_task import TargetRegression

from evohyper.testing import TaskContract


class TestTargetRegression(TaskContract):
    network = {"hidden": [4]}

    def make_task(self):
        return TargetRegression(inputs=3, outputs=2)

    def loss_batch(self, task):
        import torch
        return torch.randn(16, 3, generator=torch.Generator().manual_seed(0))
