"""The NEAT family's decoders pass the shipped DecoderContract on populations the batched engine evolved
(GenomeBatches with its own layout, widths and innovation numbers, not converted neat-python genomes), in the
default float64 genes and, for HyperNEAT and direct NEAT, in float32."""
from __future__ import annotations

import torch

from evohyper.api.phenotypes import MLPSpec
from evohyper.families.hyperneat import ESHyperNEATDecoder, HyperNEATDecoder, NEATDecoder
from evohyper.families.hyperneat.substrate import SubstrateSpec, sandwich
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.strategy import NEAT
from evohyper.testing import DecoderContract

BOUNDED = ["sigmoid", "tanh", "sin", "gauss", "abs", "identity"]
_CACHE: dict[tuple, GenomeBatch] = {}


def evolved(decoder, n: int, seed: int, generations: int = 12, dtype: str | None = None) -> GenomeBatch:
    """``n`` genomes of the batched engine after ``generations`` under a structure-rewarding fitness (hidden
    nodes, recurrent links where the decoder allows them, every activation and aggregation)."""
    info = decoder.info()
    key = (type(decoder).__name__, info.genome_inputs, info.genome_outputs, info.genome_feed_forward, n, seed, dtype)
    if key not in _CACHE:
        s = NEAT(None, seed, engine="batched", popsize=max(30, n), activation_default="random",
                 activation_options=BOUNDED, activation_mutate_rate=0.3, aggregation_default="random",
                 aggregation_options=["sum", "max", "product"], aggregation_mutate_rate=0.3, node_add_prob=0.5,
                 conn_add_prob=0.5, node_delete_prob=0.1, conn_delete_prob=0.1, weight_max=3.0, dtype=dtype)
        s.bind(info)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(generations):
            pop = s.ask()
            noise = torch.rand(len(pop), generator=gen, dtype=torch.float64)
            s.tell(pop.n_nodes.double() + pop.n_conns.double() + noise)
        pop = s.ask()
        assert isinstance(pop, GenomeBatch) and pop.dtype == (torch.float32 if dtype == "float32" else torch.float64)
        assert int(pop.n_nodes.max()) > info.genome_outputs       # hidden nodes were added
        _CACHE[key] = pop[torch.randperm(len(pop), generator=gen)[:n]]
    return _CACHE[key]


class TestHyperNEATDecoderOnBatchedGenomes(DecoderContract):
    dtype: str | None = None   # the strategy's default (float64)

    def make_decoder(self):
        return HyperNEATDecoder(SubstrateSpec(sandwich([3, 2])))

    def make_genotypes(self, decoder, n, seed=0):
        return evolved(decoder, n, seed, dtype=self.dtype)


class TestESHyperNEATDecoderOnBatchedGenomes(DecoderContract):
    dtype: str | None = None

    def make_decoder(self):
        return ESHyperNEATDecoder(SubstrateSpec(sandwich([3, 3])), band_threshold=0.05)

    def make_genotypes(self, decoder, n, seed=0):
        return evolved(decoder, n, seed, dtype=self.dtype)


class TestNEATDecoderOnBatchedGenomes(DecoderContract):
    recurrent = False
    dtype: str | None = None

    def make_decoder(self):
        return NEATDecoder(MLPSpec([3, 4, 2]), recurrent=self.recurrent)

    def make_genotypes(self, decoder, n, seed=0):
        return evolved(decoder, n, seed, dtype=self.dtype)


class TestRecurrentNEATDecoderOnBatchedGenomes(TestNEATDecoderOnBatchedGenomes):
    recurrent = True


class TestHyperNEATDecoderOnFloat32Genomes(TestHyperNEATDecoderOnBatchedGenomes):
    dtype = "float32"


class TestNEATDecoderOnFloat32Genomes(TestNEATDecoderOnBatchedGenomes):
    dtype = "float32"
