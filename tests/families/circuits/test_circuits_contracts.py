"""The circuit family's GA and decoder run the shipped contracts."""
import torch

from evohyper.api.decoder import DecoderInfo
from evohyper.families.circuits import CircuitDecoder, CircuitGA
from evohyper.families.circuits.phenotypes import CircuitSpec
from evohyper.testing import DecoderContract, StrategyContract

DECODER = CircuitDecoder(CircuitSpec(8), min_length=2)


class TestCircuitGA(StrategyContract):
    strategy_class = CircuitGA
    genome_size = DECODER.genome_size
    options = {"popsize": 20}
    generations = 20

    def decoder_info(self):
        return DecoderInfo(genotype="circuit", genome_size=DECODER.genome_size)

    def fitness(self, population):
        """Minus the distance of the summed value indices from 30 (an integer target the GA can reach)."""
        kinds, index = DECODER.space.decode_genes(population)
        return -(index.sum(1).double() - 30).abs() - 1


class TestCircuitDecoder(DecoderContract):
    def make_decoder(self):
        return CircuitDecoder(CircuitSpec(8), min_length=2)

    def make_genotypes(self, decoder, n, seed=0):
        gen = torch.Generator().manual_seed(seed)
        lengths = torch.randint(2, 9, (n,), generator=gen)
        kinds, index = decoder.space.sample(n, 8, gen)
        genes = torch.zeros(n, decoder.genome_size, dtype=torch.long)
        genes[:, 0], genes[:, 1::2], genes[:, 2::2] = lengths, kinds, index
        return genes
