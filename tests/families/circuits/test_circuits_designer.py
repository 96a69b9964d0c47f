"""The hypernetwork designer and its ablations: shapes, valid decodes, labels, simulator refinement."""
import pytest
import torch

from evohyper.families.circuits.dataset import circuit_split
from evohyper.families.circuits.designer import STOP, VARIANTS, Designer, features
from evohyper.families.circuits.simulator import EMPTY
from evohyper.families.circuits.space import DEFAULT_SPACE as S
from evohyper.families.circuits.training import TrainConfig, labels, refine, response_error, score, train_designer

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny kernels: 1 thread beats 2 here


@pytest.fixture(scope="module")
def small():
    return circuit_split("val", 3)


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_shapes_and_valid_greedy_designs(variant, small):
    torch.manual_seed(0)
    model = Designer(variant)
    x = features(small.response, S.load)
    kl, vl = model(x, small.kinds, small.index, small.lengths)
    assert kl.shape == (len(small), 10, 7) and vl.shape == (len(small), 10, 36)
    kinds, index = model.generate(x, small.lengths)
    n = (kinds != EMPTY).sum(1)
    assert ((n >= 4) & (n <= 10)).all() and ((kinds >= EMPTY) & (kinds < 6)).all()
    present = kinds != EMPTY
    assert torch.equal(present, torch.arange(10) < n.unsqueeze(1))     # compact: nothing after STOP
    assert ((index >= 0) & (index < 36)).all()
    if variant == "gru_per_length":
        assert torch.equal(n, small.lengths)                            # the oracle length is respected


def test_hypernetwork_generates_per_sample_weights_and_gru_shares_them(small):
    x = features(small.response, S.load)
    for variant, shared in (("gru", True), ("hyper", False)):
        model = Designer(variant)
        w = model._weights(model.encoder(x), small.lengths)["w_hh"]
        assert torch.equal(w[0], w[1]) == shared


def test_labels_put_stop_after_the_last_component():
    kinds = torch.tensor([[0, 3, 4, 1, EMPTY, EMPTY], [1, 1, 1, 1, 1, 1]])
    index = torch.arange(12).view(2, 6)
    k, v = labels(kinds, index)
    assert k.tolist() == [[0, 3, 4, 1, STOP, -100], [1, 1, 1, 1, 1, 1]]
    assert v.tolist() == [[0, 1, 2, 3, -100, -100], [6, 7, 8, 9, 10, 11]]


def test_refinement_through_the_simulator_repairs_perturbed_values():
    targets = circuit_split("val", 4).select(slice(0, 12))
    present = targets.kinds != EMPTY
    wrong = torch.where(present, (targets.index + 2).clamp(max=35), targets.index)
    before = score(targets.kinds, wrong, targets)
    fixed = refine(targets.kinds, wrong, targets.response, steps=150)
    after = score(targets.kinds, fixed, targets)
    assert float(after["error"].mean()) < 0.5 * float(before["error"].mean())
    assert int(after["exact"].sum()) > int(before["exact"].sum())
    e_true, _ = response_error(S, targets.kinds, targets.values, targets.response)
    assert float(e_true.max()) < 1e-12


@pytest.mark.slow
def test_short_training_lowers_the_loss():
    data = circuit_split("train", 300)
    _, log = train_designer("hyper", TrainConfig(steps=150, batch=64, lr=3e-3), data=data)
    first, last = sum(log.losses[:10]) / 10, sum(log.losses[-10:]) / 10
    assert last < first - 0.5
