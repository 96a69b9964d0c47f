"""StrategyContract with a strategy that consumes descriptors and objectives (issue 23): the contract binds it
to a task declaring them and tells it what it consumes, so QD/multi-objective strategies run the same suite."""
import pytest
import torch

from evohyper.api.task import TaskInfo
from evohyper.strategies.random_search import RandomSearch
from evohyper.testing import StrategyContract


class ConsumingRandom(RandomSearch):
    """Random search that insists on the descriptors and objectives it is told (a stand-in for QD/MO)."""

    consumes = ("descriptors", "objectives")
    state_exclude = ("info", "last")

    def bind_task(self, info):
        if not info.descriptors or len(info.objectives) != 2:
            raise ValueError("needs descriptors and two objectives")
        self.info = info

    def _tell(self, fitness, *, descriptors, objectives):
        assert descriptors.shape == (len(fitness), 2) and objectives.shape == (len(fitness), 2)
        assert torch.isfinite(objectives).all()        # cleaned as fitness is: non-finite ranks last
        assert torch.equal(objectives[:, 0], fitness)
        self.last = (descriptors, objectives)
        super()._tell(fitness)


class TestConsumingRandomConforms(StrategyContract):
    strategy_class = ConsumingRandom
    options = {"popsize": 16}


def test_the_contract_binds_the_task_and_tells_the_extras():
    contract = TestConsumingRandomConforms()
    s = contract.make_strategy()
    assert s.info.descriptors[0].name == "d0" and s.info.reference_point == (-100.0, -100.0)
    contract.run(s, 1)
    descriptors, objectives = s.last
    assert ((descriptors >= -1) & (descriptors <= 1)).all() and objectives.dtype == torch.float64


def test_a_strategy_consuming_nothing_is_told_nothing_extra():
    class Plain(StrategyContract):
        strategy_class = RandomSearch

    assert Plain().extras(torch.zeros(3, 4)) == {} and Plain().task_info() == TaskInfo()


def test_without_the_extras_a_consuming_strategy_refuses_to_be_told():
    s = TestConsumingRandomConforms().make_strategy()
    population = s.ask()
    with pytest.raises(ValueError, match="needs the descriptors"):
        s.tell(-(population ** 2).sum(1))


def test_non_finite_objectives_rank_last_column_by_column():
    s = TestConsumingRandomConforms().make_strategy()
    population = s.ask()
    extras = TestConsumingRandomConforms().extras(population)
    objectives = extras["objectives"].clone()
    objectives[0, 1] = float("nan")
    s.tell(objectives[:, 0], descriptors=extras["descriptors"], objectives=objectives)
    told = s.last[1]
    assert torch.isfinite(told).all() and told[0, 1] < objectives[1:, 1].min()
    assert torch.equal(told[1:], objectives[1:])
