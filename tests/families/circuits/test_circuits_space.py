"""Circuit space, gene encoding and canonical form: property tests (hypothesis) and dataset determinism."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evohyper.families.circuits.canonical import canonicalize, same_circuit, same_kinds
from evohyper.families.circuits.dataset import circuit_block, circuit_split
from evohyper.families.circuits.simulator import EMPTY, PARALLEL_R, SERIES_C, SERIES_R
from evohyper.families.circuits.space import DEFAULT_SPACE as S
from evohyper.families.circuits.space import N_KINDS, N_VALUES, value_table

component = st.tuples(st.integers(0, N_KINDS - 1), st.integers(0, N_VALUES - 1))
circuit = st.lists(component, min_size=S.min_length, max_size=S.max_length)
FAST = settings(max_examples=60, deadline=None)


def as_tensors(comps, width=S.max_length):
    kinds = torch.full((1, width), EMPTY, dtype=torch.long)
    index = torch.zeros((1, width), dtype=torch.long)
    for i, (k, v) in enumerate(comps):
        kinds[0, i], index[0, i] = k, v
    return kinds, index


def runs(comps):
    """Split a component list into maximal same-placement runs."""
    out = []
    for c in comps:
        if out and (out[-1][-1][0] >= 3) == (c[0] >= 3):
            out[-1].append(c)
        else:
            out.append([c])
    return out


def test_value_table_is_e12_over_three_decades():
    t = value_table()
    assert t.shape == (3, 36) and (t[:, 1:] > t[:, :-1]).all()
    assert t[0, 0] == 100 and abs(float(t[0, -1]) - 82e3) < 1e-6
    assert abs(float(t[1, 0]) - 1e-9) < 1e-21 and abs(float(t[2, -1]) - 82e-3) < 1e-12


@FAST
@given(circuit)
def test_genes_round_trip(comps):
    kinds, index = as_tensors(comps)
    genes = S.encode_genes(kinds, index)
    assert int(genes[0, 0]) == len(comps)
    k2, i2 = S.decode_genes(genes)
    assert torch.equal(k2, kinds) and torch.equal(i2, index)


@FAST
@given(st.integers(S.min_length, S.max_length),
       st.lists(component, min_size=S.max_length, max_size=S.max_length))
def test_decode_then_encode_keeps_active_genes(length, comps):
    genes = torch.tensor([[length] + [x for c in comps for x in c]])
    again = S.encode_genes(*S.decode_genes(genes))
    active = 1 + 2 * length
    assert torch.equal(again[:, :active], genes[:, :active]) and (again[:, active:] == 0).all()


def test_decode_rejects_out_of_range_genes():
    genes = S.encode_genes(*as_tensors([(0, 1)] * 4))
    genes[0, 1] = 6
    with pytest.raises(ValueError, match="out of range"):
        S.decode_genes(genes)
    with pytest.raises(ValueError, match=r"\[N, 21\]"):
        S.decode_genes(genes[:, :5])


@FAST
@given(circuit, st.randoms(use_true_random=False), st.lists(st.integers(0, S.max_length), max_size=4))
def test_equivalent_rearrangements_share_canonical_form_and_response(comps, rnd, gaps):
    """Permuting components inside same-placement runs and inserting empty slots is provably a no-op."""
    shuffled = []
    for run in runs(comps):
        run = list(run)
        rnd.shuffle(run)
        shuffled += run
    width = S.max_length + len(gaps)
    padded = list(shuffled)
    for g in gaps:
        padded.insert(min(g, len(padded)), (EMPTY, 0))
    k1, i1 = as_tensors(comps, width)
    k2, i2 = as_tensors(padded, width)
    c1, c2 = canonicalize(k1, i1), canonicalize(k2, i2)
    assert torch.equal(c1[0], c2[0]) and torch.equal(c1[1], c2[1])
    assert same_circuit(k1, S.values(k1, i1), k2, S.values(k2, i2)).all() and same_kinds(k1, k2).all()
    r1, r2 = S.response(k1, S.values(k1, i1)), S.response(k2, S.values(k2, i2))
    assert torch.allclose(r1, r2, rtol=1e-9, atol=0)
    assert torch.equal(canonicalize(*c1)[0], c1[0]) and torch.equal(canonicalize(*c1)[1], c1[1])  # idempotent


def test_swapped_adjacent_series_resistors_are_the_same_circuit():
    a = as_tensors([(SERIES_R, 3), (SERIES_R, 20), (PARALLEL_R, 5), (SERIES_C, 7)])
    b = as_tensors([(SERIES_R, 20), (SERIES_R, 3), (PARALLEL_R, 5), (SERIES_C, 7)])
    c = as_tensors([(SERIES_R, 3), (PARALLEL_R, 5), (SERIES_R, 20), (SERIES_C, 7)])   # not equivalent
    va, vb, vc = (S.values(*x) for x in (a, b, c))
    assert same_circuit(a[0], va, b[0], vb).all()
    assert not same_circuit(a[0], va, c[0], vc).any() and not same_kinds(a[0], c[0]).any()
    assert torch.allclose(S.response(a[0], va), S.response(b[0], vb), rtol=1e-12)
    assert not torch.allclose(S.response(a[0], va), S.response(c[0], vc), rtol=1e-3)


def test_dataset_is_deterministic_canonical_and_split_disjoint_seeds():
    circuit_block.cache_clear()
    a = circuit_block("test", 5, 20)
    circuit_block.cache_clear()
    b = circuit_block("test", 5, 20)
    assert torch.equal(a.kinds, b.kinds) and torch.equal(a.response, b.response)
    small = circuit_block("test", 5, 10)                                      # blocks do not depend on n
    assert torch.equal(small.kinds, a.kinds[:10]) and torch.equal(small.index, a.index[:10])
    assert not torch.equal(circuit_block("val", 5, 20).kinds, a.kinds)
    k, i = canonicalize(a.kinds, a.index)
    assert torch.equal(k, a.kinds) and torch.equal(i, a.index)
    assert ((a.kinds != EMPTY).sum(1) == 5).all()
    full = circuit_split("test", 3)
    assert len(full) == 21 and full.lengths.tolist() == [n for n in range(4, 11) for _ in range(3)]
    assert torch.isfinite(full.response.abs()).all()


@FAST
@given(st.integers(0, 2**31 - 1), st.integers(S.min_length, S.max_length))
def test_sampled_circuits_are_reduced_and_keep_their_length_in_canonical_form(seed, length):
    """No element repeats inside a run of same-placement components (it would merge with its twin)."""
    kinds, index = S.sample(16, length, torch.Generator().manual_seed(seed))
    for row in kinds.tolist():
        comps = [(k, 0) for k in row if k != EMPTY]
        assert len(comps) == length
        for run in runs(comps):
            elements = [k % 3 for k, _ in run]
            assert len(elements) == len(set(elements))
    ck, _ = canonicalize(kinds, index)
    assert torch.equal((ck != EMPTY).sum(1), torch.full((16,), length))


@FAST
@given(circuit)
def test_peeling_the_first_component_leaves_the_response_of_the_rest(comps):
    """``simulator.peel`` against the per-circuit numpy reference of the shorter chain."""
    from evohyper.families.circuits import reference
    from evohyper.families.circuits.simulator import peel

    kinds, index = as_tensors(comps)
    values = S.values(kinds, index)
    rest = reference.response_one(kinds[0, 1:].tolist(), values[0, 1:].tolist(), S.omega.numpy(), S.load)
    peeled = peel(S.response(kinds, values), kinds[:, 0], values[:, 0], S.omega)[0].numpy()
    assert np.allclose(np.log(peeled / rest), 0, atol=1e-6)
