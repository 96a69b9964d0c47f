"""Test utilities shipped with evohyper: contract suites that third-party components subclass.

``TaskContract`` — the conformance tests of a task::

    from evohyper.testing import TaskContract

    class TestMyTask(TaskContract):
        def make_task(self):
            return MyTask()
"""
from evohyper.testing._task_contract import TaskContract

__all__ = ["TaskContract"]
