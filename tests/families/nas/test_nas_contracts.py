"""The NAS family's graph searches and GHN decoder run the shipped contracts."""
import random

import torch

from evohyper import ConvSpec
from evohyper.api.decoder import DecoderInfo
from evohyper.families.nas import GHNDecoder, NASRandom, RegularizedEvolution
from evohyper.families.nas.space import CellSpace, graph_to_json
from evohyper.testing import DecoderContract, StrategyContract


class _GraphContract(StrategyContract):
    genome_size = None
    options = {"popsize": 8}
    generations = 12

    def decoder_info(self):
        return DecoderInfo(genotype="graph", graph_space=CellSpace(nodes=6))

    def fitness(self, population):
        """Number of convolutions in the cell (a synthetic, cheap fitness both searches can raise)."""
        return torch.tensor([float(sum("conv" in op for op in c["ops"])) for c in population], dtype=torch.float64)


class TestNASRandom(_GraphContract):
    strategy_class = NASRandom


class TestRegularizedEvolution(_GraphContract):
    strategy_class = RegularizedEvolution
    options = {"population": 8, "sample": 3, "children": 4}


class TestGHNDecoder(DecoderContract):
    population = 3

    def make_decoder(self):
        return GHNDecoder(ConvSpec([1, 8, 8], [8], 10), nodes=4, channels=8, hidden=16, score_graphs=2)

    def make_genotypes(self, decoder, n, seed=0):
        rng = random.Random(seed)
        return [graph_to_json(decoder.info().graph_space.sample(rng)) for _ in range(n)]
