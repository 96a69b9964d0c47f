"""Every registered vector strategy, built-in or plug-in, passes the shipped ``StrategyContract``
(evosax-style: a newly registered strategy is tested for free), and evolves a small network."""
import pytest
import torch

from evohyper.api.phenotypes import MLPSpec
from evohyper.api.registry import strategies
from evohyper.api.strategy import TrainingStrategy
from evohyper.decoders import DirectDecoder
from evohyper.testing import StrategyContract

# Strategies over flat real vectors; the others (NEAT genomes, cells, circuits) run the contract in
# their family's tests; gradient training has its own (tests/engine/test_gradient.py); strategies that consume
# descriptors or objectives run it with them (quality diversity: tests/strategies/qd).
NAMES = [n for n in strategies.names() if strategies.get(n).genotype_kind == "vector"
         and not issubclass(strategies.get(n), TrainingStrategy) and not strategies.get(n).consumes]

for _name in NAMES:
    globals()[f"TestContract_{_name}"] = type(f"TestContract_{_name}", (StrategyContract,),
                                              {"strategy_class": strategies.get(_name)})


class TestContract_cmaes_restarts(StrategyContract):
    """cmaes with restarts on a staircase (every run ends on its flat top, as integer fitness does), so they
    happen within the contract's runs: the state-size test (generations 5 to 60) spans the restarts of
    seed 2. Factor 1 keeps the popsize, so a constant state size is still the test's question."""
    strategy_class = strategies.get("cmaes")
    genome_size = 4
    options = {"restarts": 3, "restart_popsize_factor": 1}

    def fitness(self, population):
        return -torch.floor(4 * ((torch.as_tensor(population).double() - 0.5) ** 2).sum(1)) / 4

    def test_restarts_happen_in_the_contracts_runs(self):
        s = self.make_strategy(seed=2)
        self.run(s, 60)
        assert s.restarts_done == 3 and s.popsize == self.make_strategy().popsize


XOR_DECODER = DirectDecoder(MLPSpec([2, 4, 1]))
XOR_X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = torch.tensor([0.0, 1.0, 1.0, 0.0])


def xor(genotypes: torch.Tensor) -> torch.Tensor:
    """-MSE of the whole population's 2-4-1 MLPs on XOR, in one batched forward."""
    out = XOR_DECODER.decode(genotypes).forward(XOR_X)[..., 0]  # [P, 4]
    return -((out - XOR_Y) ** 2).mean(1).double()


def test_every_vector_strategy_is_covered():
    assert {"cmaes", "snes", "xnes", "pgpe", "cem", "ga", "random"} <= set(NAMES)


# a strategy that consumes descriptors or objectives (QD, multi-objective) is told them by its contract run
# above; the XOR check tells fitness alone
@pytest.mark.parametrize("name", [n for n in NAMES if not strategies.get(n).consumes])
def test_improves_on_xor_neuroevolution(name):
    s = strategies.get(name)(XOR_DECODER.genome_size, 0)
    first = None
    for _ in range(80):
        x = s.ask()
        f = xor(x)
        first = float(f.max()) if first is None else first
        s.tell(f)
    assert -s.best_fitness <= 0.9 * -first, f"MSE {-s.best_fitness:.4g} vs first {-first:.4g}"
