"""Test utilities shipped with evohyper: contract suites that third-party components subclass
(as Optuna ships ``optuna.testing``); evohyper's own tasks, strategies and decoders run them too.

``TaskContract``, ``StrategyContract``, ``DecoderContract`` — subclass one in a ``Test*`` class::

    from evohyper.testing import TaskContract

    class TestMyTask(TaskContract):
        def make_task(self):
            return MyTask()
"""
from evohyper.testing._decoder_contract import DecoderContract
from evohyper.testing._strategy_contract import StrategyContract
from evohyper.testing._task_contract import TaskContract

__all__ = ["DecoderContract", "StrategyContract", "TaskContract"]
