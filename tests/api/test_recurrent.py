"""Elman networks: the fixed-topology recurrent phenotype any vector strategy can search."""
import pytest
import torch

from evohyper.api.network_block import mlp_target
from evohyper.api.recurrent import ElmanSpec
from evohyper.decoders.direct import DirectDecoder
from evohyper_tasks.cartpole import CartPoleTask


def population(P=3, sizes=(2, 4, 3, 1)):
    spec = ElmanSpec(list(sizes))
    gen = torch.Generator().manual_seed(0)
    return spec.build({k: torch.randn(P, *s, generator=gen, dtype=torch.float64) for k, s in spec.shapes().items()})


def test_one_step_per_call_with_state_matches_the_recurrence():
    phen = population()
    xs = torch.randn(5, 3, 2, 2, dtype=torch.float64)          # T steps of [P, B, in]
    got = torch.stack([phen.forward(x) for x in xs])
    t = phen.tensors
    h = [torch.zeros(3, 2, 4, dtype=torch.float64), torch.zeros(3, 2, 3, dtype=torch.float64)]
    for step, x in enumerate(xs):
        h[0] = torch.tanh(x @ t["w0"] + h[0] @ t["u0"] + t["b0"][:, None])
        h[1] = torch.tanh(h[0] @ t["w1"] + h[1] @ t["u1"] + t["b1"][:, None])
        assert torch.allclose(got[step], h[1] @ t["w2"] + t["b2"][:, None], atol=1e-12)
    phen.reset_state()
    assert torch.equal(phen.forward(xs[0]), got[0])
    with pytest.raises(ValueError, match="reset_state"):
        phen.forward(torch.zeros(3, 5, 2, dtype=torch.float64))
    assert phen.stateful and len(phen.select([0, 2])) == 2


def test_network_block_recurrent_and_the_direct_decoder():
    spec = mlp_target({"hidden": [6], "recurrent": True}, 2, 1, hidden=[8])
    assert isinstance(spec, ElmanSpec) and spec.shapes()["u0"] == (6, 6)
    decoder = DirectDecoder(spec)
    assert decoder.genome_size == 2 * 6 + 6 * 6 + 6 + 6 * 1 + 1
    with pytest.raises(ValueError, match=r"^network.hidden: \[\]; allowed: a list of >= 1 layer for a recurrent"):
        mlp_target({"hidden": [], "recurrent": True}, 2, 1, hidden=[8])
    with pytest.raises(ValueError, match="Elman network sizes must list >= 3"):
        ElmanSpec([2, 1])


def test_partially_observable_cartpole_resets_the_state_every_rollout():
    task = CartPoleTask(episodes=2, max_steps=50, hide_velocities=True)
    task.setup()
    spec = task.target({"hidden": [4], "recurrent": True})
    assert spec.sizes[0] == 2
    phen = DirectDecoder(spec).decode(torch.randn(4, DirectDecoder(spec).genome_size,
                                                  generator=torch.Generator().manual_seed(1)))
    first, again = task.evaluate(phen, 3), task.evaluate(phen, 3)      # the same object twice: same result
    assert torch.equal(first.fitness, again.fitness)


# ----------------------------------------------------------------------------- fully recurrent networks
def fully_recurrent(P=3, inputs=2, hidden=2, outputs=1, bias=True, **kw):
    from evohyper.api.recurrent import FullyRecurrentSpec

    spec = FullyRecurrentSpec(inputs, hidden, outputs, bias=bias, **kw)
    gen = torch.Generator().manual_seed(3)
    return spec.build({k: torch.randn(P, *s, generator=gen, dtype=torch.float64) for k, s in spec.shapes().items()})


@pytest.mark.parametrize("hidden, outputs, bias", [(0, 1, True), (3, 1, True), (2, 2, False)])
def test_fully_recurrent_step_matches_a_plain_python_recurrence(hidden, outputs, bias):
    """Every neuron, the outputs included, reads every input and every neuron's last activation; the last
    ``outputs`` neurons use ``output_activation`` and are the output (a plain-Python loop, neuron by neuron)."""
    import math

    phen = fully_recurrent(hidden=hidden, outputs=outputs, bias=bias, activation="sigmoid", output_activation="tanh")
    N = hidden + outputs
    xs = torch.randn(6, 3, 2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    got = torch.stack([phen.forward(x) for x in xs])          # [T, P, B, out]
    t = {k: v.tolist() for k, v in phen.tensors.items()}
    for p in range(3):
        for b in range(2):
            s = [0.0] * N
            for step in range(6):
                x = xs[step, p, b].tolist()
                z = [(t["b0"][p][j] if bias else 0.0) + sum(x[i] * t["w0"][p][i][j] for i in range(2))
                     + sum(s[k] * t["u0"][p][k][j] for k in range(N)) for j in range(N)]
                s = [1 / (1 + math.exp(-v)) if j < hidden else math.tanh(v) for j, v in enumerate(z)]
                assert got[step, p, b].tolist() == pytest.approx(s[hidden:], abs=1e-12)
    phen.reset_state()
    assert torch.equal(phen.forward(xs[0]), got[0])
    with pytest.raises(ValueError, match="reset_state"):
        phen.forward(torch.zeros(3, 5, 2, dtype=torch.float64))
    assert phen.stateful and len(phen.select([0, 2])) == 2


def test_network_block_builds_a_fully_recurrent_network_and_refuses_what_it_cannot():
    from evohyper.api.recurrent import FullyRecurrentSpec

    spec = mlp_target({"hidden": [3], "recurrent": "full"}, 3, 1, hidden=[8], output_activation="tanh")
    assert isinstance(spec, FullyRecurrentSpec) and spec.shapes() == {"w0": (3, 4), "u0": (4, 4), "b0": (4,)}
    # Shark's NonMarkovPole counts (h+1)^2 + inputs (h+1) + h + 1 weights: the same network
    assert DirectDecoder(spec).genome_size == 4 * 4 + 3 * 4 + 4 and spec.sizes == [3, 3, 1]
    none = mlp_target({"hidden": [], "recurrent": "full", "bias": False}, 2, 1, hidden=[8])
    assert none.neurons == 1 and none.shapes() == {"w0": (2, 1), "u0": (1, 1)}
    assert isinstance(mlp_target({"hidden": [4], "recurrent": "elman"}, 2, 1, hidden=[8]), ElmanSpec)
    with pytest.raises(ValueError, match=r"^network.hidden: \[2, 2\]; allowed: \[h\] or \[\] for a fully recurrent"):
        mlp_target({"hidden": [2, 2], "recurrent": "full"}, 2, 1, hidden=[8])
    with pytest.raises(ValueError, match=r"^network.recurrent: 'yes'; allowed: false, true \(= elman\), 'elman' or"):
        mlp_target({"recurrent": "yes"}, 2, 1, hidden=[8])
    with pytest.raises(ValueError, match="fully recurrent network needs >= 1 input"):
        FullyRecurrentSpec(2, -1, 1)
