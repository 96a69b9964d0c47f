"""Export: every kind of phenotype as a plain torch module, a torch.export program and ONNX (run in
onnxruntime), each checked against the evohyper phenotype on random inputs to 1e-5."""
import random

import pytest
import torch

from evohyper.api.conv import ConvSpec
from evohyper.api.phenotypes import MLPSpec
from evohyper.api.recurrent import ElmanSpec
from evohyper.export import ExportError, save_onnx, save_torch, to_module
from evohyper.export.modules import example_input, max_difference
from evohyper.families.hypergan.decoder import HyperGANDecoder
from evohyper.families.hyperneat import HyperNEATDecoder
from evohyper.families.hyperneat.substrate import SubstrateSpec, sandwich
from evohyper.families.nas.decoder import GHNDecoder
from evohyper.families.nas.space import graph_to_json
from evohyper.families.neat.networks import NEATPhenotypes
from evohyper.testing.neat_genomes import cppn_config, random_genomes

TOL = 1e-5
GEN = torch.Generator().manual_seed(0)


def _random_tensors(spec, P=3):
    return spec.build({k: torch.randn(P, *s, generator=GEN) * 0.5 for k, s in spec.shapes().items()})


def mlp():
    return _random_tensors(MLPSpec([5, 7, 3], activation="tanh", output_activation="sigmoid"))


def conv():
    return _random_tensors(ConvSpec([1, 8, 8], [4, 3], 10, kernel=3, activation="relu"))


def neat_feed_forward():
    config = cppn_config(4, 2, activations=["sigmoid", "tanh", "relu", "gauss", "sin", "identity", "clamped"],
                         aggregations=["sum", "product", "max", "mean"])
    genomes = random_genomes(config, 4, mutations=40, seed=1)
    return NEATPhenotypes(MLPSpec([4, 2]), genomes, 4, 2)


def hyperneat_substrate():
    decoder = HyperNEATDecoder(SubstrateSpec(sandwich([3, 3]), activation="tanh"))
    genomes = random_genomes(cppn_config(decoder.num_inputs, decoder.num_outputs), 3, mutations=20, seed=2)
    return decoder.decode(genomes)


def hypergan_sample(set_size=1):
    decoder = HyperGANDecoder(MLPSpec([6, 8, 4]), noise=4, code=4, hidden=8, set_size=set_size)
    with torch.no_grad():
        return decoder.decode(torch.randn(3, 4 * set_size, generator=GEN))


def ghn_cell():
    decoder = GHNDecoder(ConvSpec([1, 8, 8], [4], 10), nodes=5, channels=4, hidden=8)
    rng = random.Random(0)
    cells = [graph_to_json(decoder.space.sample(rng)) for _ in range(3)]
    with torch.no_grad():
        return decoder.decode(cells)


PHENOTYPES = {"mlp": mlp, "conv": conv, "neat_feed_forward": neat_feed_forward,
              "hyperneat_substrate": hyperneat_substrate, "hypergan_sample": hypergan_sample,
              "hypergan_set": lambda: hypergan_sample(set_size=2), "ghn_cell": ghn_cell}


@pytest.mark.parametrize("kind", list(PHENOTYPES))
def test_module_torch_export_and_onnx_reproduce_the_phenotype(kind, tmp_path):
    phen = PHENOTYPES[kind]()
    module = to_module(phen, 1)
    x = example_input(module, 32)
    with torch.no_grad():
        expected = phen.forward(x)[1]
        assert max_difference(module(x), expected) <= TOL
    assert save_torch(module, tmp_path / "m.pt2", x) <= TOL
    loaded = torch.export.load(tmp_path / "m.pt2").module()        # plain torch, no evohyper object
    other = example_input(module, 5, seed=1)                         # another batch size: dynamic batch
    with torch.no_grad():
        assert max_difference(loaded(other), phen.forward(other)[1]) <= TOL
    assert save_onnx(module, tmp_path / "m.onnx", x) <= TOL


def test_exported_module_trains_by_gradient():
    module = to_module(neat_feed_forward(), 0).train()
    params = [p for p in module.parameters() if p.requires_grad]
    assert params
    loss = module(example_input(module, 8)).pow(2).sum()
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in params)
    for group in (g for layer in module.layers for g in layer if g.aggregation == "sum"):
        assert not group.weight.grad[~group.mask].any()     # no gradient creates a link NEAT did not evolve


def test_what_cannot_be_exported_says_so():
    config = cppn_config(2, 1, feed_forward=False)
    recurrent = NEATPhenotypes(MLPSpec([2, 1]), random_genomes(config, 2, seed=0), 2, 1, recurrent=True)
    with pytest.raises(ExportError, match="recurrent"):
        to_module(recurrent, 0)
    with pytest.raises(ExportError, match="cannot be exported"):
        to_module(_random_tensors(ElmanSpec([2, 3, 1])), 0)
    with pytest.raises(ExportError, match="outside"):
        to_module(mlp(), 7)
