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
