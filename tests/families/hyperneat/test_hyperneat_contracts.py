"""The NEAT family's strategy and decoders run the shipped contracts, on GenomeBatches (the genotype of kind neat)."""

from evohyper.api.decoder import DecoderInfo
from evohyper.api.phenotypes import MLPSpec
from evohyper.families.hyperneat import NEAT, HyperNEATDecoder, NEATDecoder
from evohyper.families.hyperneat.substrate import SubstrateSpec, sandwich
from evohyper.families.neat.genome import GenomeBatch
from evohyper.testing import DecoderContract, StrategyContract
from evohyper.testing.neat_genomes import cppn_config, random_batch


class TestNEATStrategy(StrategyContract):
    """The contract with the reference engine, neat-python's own objects."""

    strategy_class = NEAT
    genome_size = None
    options = {"popsize": 20, "engine": "neat-python"}
    generations = 15

    def state_scale(self, strategy):
        """NEAT's state is its genomes: bytes per gene (node or connection) must stay constant."""
        genomes = list(strategy._engine._pop.population.values())
        best = strategy.best_genotype
        return float(sum(len(g.nodes) + len(g.connections) for g in genomes) + int(best.n_nodes[0] + best.n_conns[0]))

    def decoder_info(self):
        return DecoderInfo(genotype="neat", genome_inputs=3, genome_outputs=2)

    def fitness(self, population):
        """The summed weight of enabled connections: NEAT's mutations can raise it without bound."""
        assert isinstance(population, GenomeBatch)
        return (population.weight * (population.enabled & population.conn_live)).sum(dim=1).double()


class TestBatchedNEATStrategy(TestNEATStrategy):
    """The same contract with the batched engine (docs/neat_engine.md, 5.1)."""

    options = {"popsize": 20, "engine": "batched"}

    def state_scale(self, strategy):
        """Bytes per gene: the batched state holds the live genes of the population and of the best genotype."""
        pop, best = strategy._engine.population, strategy.best_genotype
        return float(pop.n_nodes.sum() + pop.n_conns.sum() + best.n_nodes[0] + best.n_conns[0])

    def test_runs_the_batched_engine(self):
        from evohyper.families.neat.batched_engine import BatchedEngine

        s = self.make_strategy()
        s.ask()
        assert isinstance(s._engine, BatchedEngine)


class TestHyperNEATDecoder(DecoderContract):
    def make_decoder(self):
        return HyperNEATDecoder(SubstrateSpec(sandwich([3, 2])))

    def make_genotypes(self, decoder, n, seed=0):
        config = cppn_config(decoder.num_inputs, decoder.num_outputs)
        return random_batch(config, n, seed=seed)


class TestNEATDecoder(DecoderContract):
    recurrent = False

    def make_decoder(self):
        return NEATDecoder(MLPSpec([3, 4, 2]), recurrent=self.recurrent)

    def make_genotypes(self, decoder, n, seed=0):
        config = cppn_config(decoder.num_inputs, decoder.num_outputs, feed_forward=not self.recurrent)
        return random_batch(config, n, mutations=30, seed=seed)

    def test_declares_inputs_outputs_and_feed_forward(self):
        info = self.make_decoder().info()
        assert (info.genome_inputs, info.genome_outputs, info.genome_feed_forward) == (3, 2, not self.recurrent)


class TestRecurrentNEATDecoder(TestNEATDecoder):
    recurrent = True


def test_decoder_neat_takes_its_inputs_and_outputs_from_a_substrate_target():
    """families.neat recognises families.hyperneat's SubstrateSpec without importing it: first and last sheet."""
    decoder = NEATDecoder(SubstrateSpec(sandwich([3, 3], [2, 2])))
    assert (decoder.num_inputs, decoder.num_outputs) == (9, 4)
    assert (decoder.info().genome_inputs, decoder.info().genome_outputs) == (9, 4)
