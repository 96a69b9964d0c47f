"""``Strategy.discard`` and ``copy_genotype``: the public ways to drop an ask and to copy one genotype
(outside code used to write ``strategy._population`` and call ``_copy_genotype``)."""
import pytest
import torch

from evohyper.strategies import CMAES


def test_discard_makes_the_strategy_askable_again():
    s = CMAES(4, 0, popsize=6)
    s.ask()
    with pytest.raises(RuntimeError, match="twice"):
        s.ask()
    s.discard()
    x = s.ask()                      # no error: the discarded population is forgotten
    s.tell(-(x.double() ** 2).sum(1))
    assert s.generation == 1


def test_copy_genotype_keeps_no_view_of_the_population():
    s = CMAES(4, 0, popsize=6)
    x = s.ask()
    one = s.copy_genotype(x, 2)
    assert torch.equal(one, x[2])
    x[2] += 1.0
    assert not torch.equal(one, x[2])
