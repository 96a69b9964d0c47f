"""A user module that registers a task by decorator (no entry point): loaded through `plugins:`."""

from evohyper import EvalResult, Task, VectorSpec
from evohyper.api.registry import tasks


@tasks.register("plugin-quadratic")
class PluginQuadratic(Task):
    """-(x - 1)^2 summed; registered by decorator in a plain module."""

    def __init__(self, dim: int = 3):
        self.dim = dim

    def target(self, network):
        return VectorSpec(self.dim)

    def evaluate(self, phenotypes, seed):
        return EvalResult(-((phenotypes.x - 1.0) ** 2).sum(1))
