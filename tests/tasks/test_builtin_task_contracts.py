"""Every built-in task proves it conforms by passing the same contract suite a user's task runs."""
from evohyper.testing import TaskContract
from evohyper_tasks.cartpole import CartPoleTask
from evohyper_tasks.digits import DigitsTask
from evohyper_tasks.sphere import SphereTask
from evohyper_tasks.xor import XorTask


class TestXorContract(TaskContract):
    def make_task(self):
        return XorTask()


class TestXorNoHiddenContract(TaskContract):
    network = {"hidden": [], "bias": False}

    def make_task(self):
        return XorTask()


class TestSphereContract(TaskContract):
    def make_task(self):
        return SphereTask(dim=7, shift=-1.5)


class TestDigitsContract(TaskContract):
    def make_task(self):
        return DigitsTask()


class TestDigitsMinibatchAccuracyContract(TaskContract):
    network = {"hidden": [8, 8], "activation": "relu"}
    population = 6

    def make_task(self):
        return DigitsTask(fitness="accuracy", eval_batch=64)


class TestCartPoleContract(TaskContract):
    genotype_scale = 1.0

    def make_task(self):
        return CartPoleTask(episodes=3, max_steps=200)


class TestCartPoleLinearContract(TaskContract):
    network = {"hidden": []}
    population = 10

    def make_task(self):
        return CartPoleTask()
