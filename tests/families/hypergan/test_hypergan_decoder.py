"""HyperGAN generator: shapes (MLP and conv targets), seeded sampling, weights files, training."""
from __future__ import annotations

import pytest
import torch

from evohyper.api import registry
from evohyper.api.conv import ConvSpec
from evohyper.api.phenotypes import MLPSpec
from evohyper.engine.decoder_training import DecoderTraining, train_decoder
from evohyper.families.hypergan.decoder import HyperGANDecoder, target_layers
from evohyper.families.hypergan.metrics import disagreement, relative_spread, uniform_noise
from evohyper_tasks.digits import DigitsTask

MLP = MLPSpec([64, 16, 10])


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny kernels: 1 thread beats 2 here
CONV = ConvSpec([1, 8, 8], [4, 4], 10, kernel=3)


def test_registered_by_name():
    assert registry.decoders.get("hypergan") is HyperGANDecoder


@pytest.mark.parametrize("spec", [MLP, CONV], ids=["mlp", "conv"])
def test_shapes_of_a_population(spec):
    dec = HyperGANDecoder(spec, noise=8, code=6, hidden=16)
    assert dec.genome_size == 8
    phen = dec.decode(torch.randn(5, 8))
    assert len(phen) == 5
    for name, shape in spec.shapes().items():
        assert tuple(phen.tensors[name].shape) == (5, *shape)
    assert phen.forward(torch.rand(7, 64)).shape == (5, 7, 10)
    # one generator per layer (weight with its bias), one code per layer
    assert len(dec.generators) == len(target_layers(spec)) == (2 if spec is MLP else 3)
    assert dec.mix(torch.randn(5, 8)).shape == (5, len(dec.generators) * 6)


def test_members_differ_and_have_standard_init_magnitude():
    dec = HyperGANDecoder(MLP, noise=8, code=8, hidden=32)
    w = dec.sample(20, seed=0).tensors["w0"]
    assert (w[0] - w[1]).abs().max() > 1e-3
    assert 0.1 < float(w.std()) * 8 < 10  # standard init std here is 1/sqrt(3)/8


def test_bad_genotypes_and_options():
    dec = HyperGANDecoder(MLP, noise=8)
    with pytest.raises(ValueError, match=r"\[P, 8\]"):
        dec.decode(torch.randn(3, 7))
    with pytest.raises(ValueError, match=r"decoder.noise: 0; allowed: an integer in \[1, 100000\]"):
        HyperGANDecoder(MLP, noise=0)
    with pytest.raises(ValueError, match="init_seed"):
        HyperGANDecoder(MLP, init_seed=-1)
    with pytest.raises(ValueError, match="steps"):
        DecoderTraining(steps=0)
    with pytest.raises(ValueError, match="beta"):
        HyperGANDecoder(MLP, beta=-1.0)
    with pytest.raises(ValueError, match="samples"):
        HyperGANDecoder(MLP, samples=0)


def test_sampling_is_deterministic_under_a_seed():
    a, b = HyperGANDecoder(MLP, init_seed=3), HyperGANDecoder(MLP, init_seed=3)
    pa, pb = a.sample(6, seed=11), b.sample(6, seed=11)
    for name in MLP.shapes():
        assert torch.equal(pa.tensors[name], pb.tensors[name])
    assert not torch.equal(a.sample(6, seed=12).tensors["w0"], pa.tensors["w0"])
    assert not torch.equal(HyperGANDecoder(MLP, init_seed=4).sample(6, seed=11).tensors["w0"], pa.tensors["w0"])


def test_training_is_deterministic_and_weights_round_trip(tmp_path):
    task = DigitsTask()
    runs = []
    for _ in range(2):
        dec = HyperGANDecoder(MLP, noise=8, code=8, hidden=16, samples=4, beta=1.0)
        train_decoder(dec, task, DecoderTraining(steps=15, seed=5))
        runs.append(dec)
    for (k, v), w in zip(runs[0].state_dict().items(), runs[1].state_dict().values()):
        assert torch.equal(v, w), k
    path = runs[0].save_weights(tmp_path / "g.pt")
    loaded = HyperGANDecoder(MLP, noise=8, code=8, hidden=16, init_seed=9, weights=str(path))
    assert torch.equal(loaded.sample(3, seed=1).tensors["w1"], runs[0].sample(3, seed=1).tensors["w1"])
    with pytest.raises(ValueError, match="does not match"):
        HyperGANDecoder(MLP, noise=4, code=8, hidden=16, weights=str(path))


def _trained(beta: float) -> HyperGANDecoder:
    dec = HyperGANDecoder(MLP, noise=8, code=8, hidden=32, init_seed=0, samples=16, beta=beta)
    train_decoder(dec, DigitsTask(), DecoderTraining(steps=300, seed=0))
    return dec


def test_latent_regulariser_increases_diversity():
    """Without the discriminator (beta = 0) the sampled networks collapse towards one function; with it
    they stay spread in weight space (scale-free) and disagree more on out-of-distribution inputs."""
    task = DigitsTask()
    noise = uniform_noise(300, 64, seed=0)
    stats = {}
    for beta in (0.0, 1.0):
        dec = _trained(beta)
        with torch.no_grad():
            members = dec.sample(50, seed=1)
            stats[beta] = (relative_spread(members), disagreement(torch.softmax(members.forward(noise), -1)),
                           float(task.test_metrics(members)["test_accuracy"].mean()))
    assert stats[1.0][2] > 0.9 and stats[0.0][2] > 0.9       # both trained to work
    assert stats[1.0][0] > 1.1 * stats[0.0][0]              # weight spread
    assert stats[1.0][1] > 1.5 * stats[0.0][1]              # functional diversity off-distribution
