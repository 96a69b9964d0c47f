from bandit_task import TargetRegression
from evohyper.testing import TaskContract


class TestTargetRegression(TaskContract):
    network = {"hidden": [4]}

    def make_task(self):
        return TargetRegression(inputs=3, outputs=2)
