"""The hypernetwork designer and its ablations: features, shapes, beam search, labels, refinement, training."""
import pytest
import torch

from evohyper.families.circuits.beam import beam_search
from evohyper.families.circuits.canonical import canonicalize
from evohyper.families.circuits.dataset import circuit_split
from evohyper.families.circuits.designer import STOP, VARIANTS, Designer, features
from evohyper.families.circuits.inference import DesignConfig, design, polish, refine, response_error, score
from evohyper.families.circuits.simulator import EMPTY
from evohyper.families.circuits.space import DEFAULT_SPACE as S
from evohyper.families.circuits.training import (
    TrainConfig,
    labels,
    load_designer,
    save_designer,
    train_designer,
    training_batch,
    validate,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny kernels: 1 thread beats 2 here
TINY = {"embed": 32, "hidden": 32, "token": 8, "width": 4, "res_dim": 8}


@pytest.fixture(scope="module")
def small():
    return circuit_split("val", 3)


def test_features_are_log_magnitude_and_phase_as_cos_sin(small):
    x = features(small.response, S.load)
    assert x.shape == (len(small), 6, S.frequencies) and x.dtype == torch.float32
    v = small.response[:, 0]
    assert torch.allclose(x[:, 0], (v.abs().log() / 10).float(), atol=1e-5)
    assert torch.allclose(x[:, 1], torch.cos(v.angle()).float(), atol=1e-5)
    assert torch.allclose(x[:, 2], torch.sin(v.angle()).float(), atol=1e-5)
    i = small.response[:, 1] * S.load
    assert torch.allclose(x[:, 3], (i.abs().log() / 10).float(), atol=1e-5)
    assert torch.allclose(x[:, 1] ** 2 + x[:, 2] ** 2, torch.ones_like(x[:, 1]), atol=1e-5)


def test_a_phase_wrap_is_continuous_in_the_features():
    """Two responses whose phases differ by 2*pi - epsilon across the wrap give nearly equal features."""
    ones = torch.ones(1, 2, 64, dtype=torch.float64)
    a, b = torch.polar(ones, ones * (torch.pi - 1e-4)), torch.polar(ones, ones * (-torch.pi + 1e-4))
    assert (features(a, 1.0) - features(b, 1.0)).abs().max() < 1e-3


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_shapes_and_valid_canonical_beams(variant, small):
    torch.manual_seed(0)
    model = Designer(variant, **TINY)
    kl, vl = model(small.response, small.kinds, small.index, small.lengths)
    assert kl.shape == (len(small), 10, 7) and vl.shape == (len(small), 10, 36)
    kinds, index, logp = beam_search(model, small.response, beams=4, lengths=small.lengths)
    assert kinds.shape == (len(small), 4, 10) and (logp[:, :-1] >= logp[:, 1:]).all()   # best first
    flat_k, flat_i = kinds.reshape(-1, 10), index.reshape(-1, 10)
    n = (flat_k != EMPTY).sum(1)
    assert ((n >= 4) & (n <= 10)).all() and ((flat_k >= EMPTY) & (flat_k < 6)).all()
    assert torch.equal(flat_k != EMPTY, torch.arange(10) < n.unsqueeze(1))      # compact: nothing after STOP
    ck, _ = canonicalize(flat_k, flat_i)
    assert torch.equal(ck, flat_k)                   # the order mask keeps every beam in canonical form
    if variant == "gru_per_length":
        assert torch.equal(n.view(-1, 4), small.lengths.unsqueeze(1).expand(-1, 4))   # the oracle length


def test_beam_log_probabilities_match_teacher_forced_scoring(small):
    """A beam's score is the sum of the model's log-probabilities of its components and its STOP (masks
    exclude options without renormalising, so the teacher-forced sum is the same number)."""
    torch.manual_seed(1)
    model = Designer("hyper", **TINY)
    resp = small.response[:4]
    kinds, index, logp = beam_search(model, resp, beams=3)
    k, i = kinds[:, 0], index[:, 0]
    kl, vl = model(resp, k, i)
    kind_lab, value_lab = labels(k, i)
    lp_k = torch.log_softmax(kl, -1).gather(2, kind_lab.clamp(min=0).unsqueeze(2)).squeeze(2)
    lp_v = torch.log_softmax(vl, -1).gather(2, value_lab.clamp(min=0).unsqueeze(2)).squeeze(2)
    total = (lp_k * (kind_lab >= 0) + lp_v * (value_lab >= 0)).sum(1)
    assert torch.allclose(total, logp[:, 0], atol=1e-4)


def test_hypernetwork_generates_per_sample_weights_and_gru_shares_them(small):
    model = Designer("hyper", **TINY)
    for p in model.modulation.parameters():
        torch.nn.init.normal_(p)
    mod = model.modulation(model.encoder(features(small.response, S.load)))
    assert set(mod) == {"ih", "hh", "head"}
    d_in, d_out, bias = mod["hh"]
    assert not torch.allclose(d_out[0], d_out[1])                      # another response, other weights
    assert Designer("gru", **TINY).modulation is None
    assert set(Designer("hyper_gru_only", **TINY).modulation.shapes) == {"ih", "hh"}


def test_labels_put_stop_after_the_last_component():
    kinds = torch.tensor([[0, 3, 4, 1, EMPTY, EMPTY], [1, 1, 1, 1, 1, 1]])
    index = torch.arange(12).view(2, 6)
    k, v = labels(kinds, index)
    assert k.tolist() == [[0, 3, 4, 1, STOP, -100], [1, 1, 1, 1, 1, 1]]
    assert v.tolist() == [[0, 1, 2, 3, -100, -100], [6, 7, 8, 9, 10, 11]]


def test_training_batches_are_fresh_reduced_canonical_and_reproducible():
    k1, i1, n1, x1, _ = training_batch(S, 64, seed=0, step=3)
    k2, i2, n2, x2, _ = training_batch(S, 64, seed=0, step=3)
    assert torch.equal(k1, k2) and torch.equal(x1, x2)
    k3, *_ = training_batch(S, 64, seed=0, step=4)
    assert not torch.equal(k1, k3)
    assert torch.equal((k1 != EMPTY).sum(1), n1) and ((n1 >= 4) & (n1 <= 10)).all()
    ck, ci = canonicalize(k1, i1)
    assert torch.equal(ck, k1) and torch.equal(ci, i1)
    assert torch.isfinite(x1.abs()).all()
    assert torch.allclose(x1, S.response(k1, S.values(k1, i1)))


def test_refinement_and_polish_through_the_simulator_repair_perturbed_values():
    targets = circuit_split("val", 4).select(slice(0, 12))
    present = targets.kinds != EMPTY
    wrong = torch.where(present, (targets.index + 2).clamp(max=35), targets.index)
    before = score(targets.kinds, wrong, targets)
    fixed = polish(targets.kinds, refine(targets.kinds, wrong, targets.response, steps=150), targets.response)
    after = score(targets.kinds, fixed, targets)
    assert float(after["error"].mean()) < 0.5 * float(before["error"].mean())
    assert int(after["exact"].sum()) > int(before["exact"].sum())
    e_true, _ = response_error(S, targets.kinds, targets.values, targets.response)
    assert float(e_true.max()) < 1e-12


def test_polish_never_makes_a_design_worse():
    targets = circuit_split("val", 2)
    gen = torch.Generator().manual_seed(0)
    noisy = torch.where(targets.kinds != EMPTY,
                        (targets.index + torch.randint(-3, 4, targets.index.shape, generator=gen)).clamp(0, 35), 0)
    before, _ = response_error(S, targets.kinds, S.values(targets.kinds, noisy), targets.response)
    after, _ = response_error(S, targets.kinds, S.values(targets.kinds, polish(targets.kinds, noisy,
                                                                                targets.response)), targets.response)
    assert (after <= before + 1e-6).all() and (after < before).any()


def test_design_returns_the_best_refined_beam_first(small):
    torch.manual_seed(0)
    model = Designer("hyper", **TINY)
    best_k, best_i, kinds, index = design(model, small.response[:5], S, DesignConfig(beams=3, refine_steps=5,
                                                                                     polish_rounds=1))
    assert kinds.shape == (5, 3, 10) and torch.equal(best_k, kinds[:, 0]) and torch.equal(best_i, index[:, 0])
    errs, _ = response_error(S, kinds.flatten(0, 1), S.values(kinds.flatten(0, 1), index.flatten(0, 1)),
                             small.response[:5].repeat_interleave(3, 0))
    errs = errs.view(5, 3)
    assert (errs[:, 0] <= errs[:, 1:].min(1).values + 1e-4).all()


def test_designer_weights_round_trip_through_a_safe_file(tmp_path, small):
    torch.manual_seed(0)
    model = Designer("hyper_gru_only", **TINY).eval()
    path = save_designer(model, tmp_path / "d.pt")
    again = load_designer(path)
    assert again.variant == "hyper_gru_only" and again.config == model.config
    for p, q in zip(model.parameters(), again.parameters()):     # stored as float16
        assert torch.equal(q, p.half().float())
    a, b = model(small.response, small.kinds, small.index), again(small.response, small.kinds, small.index)
    assert torch.allclose(a[0], b[0], atol=1e-2) and torch.allclose(a[1], b[1], atol=1e-2)
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a safe weights file"):
        load_designer(tmp_path / "bad.pt")


def test_tiny_training_run_beats_chance():
    """A short run of a tiny designer on fresh batches: validation loss falls and the teacher-forced
    next-kind accuracy rises well above chance (the frequency of the most common label)."""
    torch.manual_seed(0)
    val = circuit_split("val", 20)
    kind_lab, _ = labels(val.kinds, val.index)
    chance = float(torch.bincount(kind_lab[kind_lab >= 0]).max()) / int((kind_lab >= 0).sum())
    before = validate(Designer("hyper", **TINY), val)
    _, log = train_designer("hyper", TrainConfig(steps=200, batch=64, lr=3e-3, warmup=30, eval_every=100,
                                                 val_per_length=20, model=TINY), val=val)
    after = log.evals[-1]
    assert before["kind_accuracy"] < chance + 0.1 and chance < 0.3
    assert after["loss"] < before["loss"] - 1.0
    assert after["kind_accuracy"] > chance + 0.3


@pytest.mark.slow
def test_longer_training_designs_short_circuits():
    """Slow: the default designer, 1,500 steps; with beams and the simulator it recovers (response-
    equivalent) a good share of length-4 and length-5 validation circuits."""
    torch.manual_seed(0)
    model, log = train_designer("hyper", TrainConfig(steps=1500, batch=128, eval_every=500, val_per_length=20))
    val = circuit_split("val", 20)
    short = val.select(val.lengths <= 5)
    kinds, index, _, _ = design(model, short.response, S, DesignConfig(beams=8, refine_steps=50))
    assert float(score(kinds, index, short)["equivalent"].float().mean()) > 0.2
