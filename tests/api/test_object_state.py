"""``evohyper.api.object_state``: the explicit state of an object graph round-trips through a real checkpoint
file (JSON + tensors), values, dtypes, memory layouts and shared references included; what is not data is
kept from the fresh object; only classes of the named libraries are ever instantiated."""
import random

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from evohyper.api.object_state import capture, restore
from evohyper.engine.checkpoint import load_state, save_state


class Holder:
    def __init__(self):
        self.fn = len            # not data: kept from the fresh object
        self.data = None


class Inner:
    pass


class Weights(list):
    """A library object that is a list (as cma's ``RecombinationWeights``): its items are state too."""

    def __init__(self, n=0):
        super().__init__(1.0 / (i + 1) for i in range(n))
        self.mu = n // 2


LIBS = (Holder.__module__,)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**62, 2**62), st.floats(allow_nan=False),
                    st.text(max_size=5))
arrays = hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.uint32, np.bool_]),
                    hnp.array_shapes(min_dims=0, max_dims=2, max_side=4))   # 0-d too (pyribs' archive stats)
tensors = hnp.arrays(st.sampled_from([np.float32, np.int64]), hnp.array_shapes(max_dims=2, max_side=4)).map(
    torch.from_numpy)
leaves = st.one_of(scalars, arrays, tensors,
                   st.floats(allow_nan=False).map(np.float64))
data = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner),
    st.dictionaries(st.one_of(st.text(max_size=3), st.integers(0, 9)), inner, max_size=3)), max_leaves=12)


def same(a, b):
    """Equal bit for bit (NaN included), with the same dtypes, types and (tensors) strides."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.stride() == b.stride() and same(a.numpy(), b.numpy())
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and \
            np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()
    if isinstance(a, np.generic):
        return type(a) is type(b) and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def through_file(state, tmp_path):
    return load_state(save_state({"s": state}, tmp_path / "s.pt"))["s"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=data)
def test_data_round_trips_through_a_checkpoint_file(value, tmp_path):
    h = Holder()
    h.data = value
    fresh = Holder()
    restore(fresh, through_file(capture(h, LIBS), tmp_path), LIBS)
    assert same(fresh.data, value) and fresh.fn is len


def test_shared_references_generators_and_layouts_survive(tmp_path):
    h = Holder()
    a = np.arange(6.0).reshape(2, 3)
    t = torch.randn(3, 4).t()                  # a non-contiguous layout
    inner = Inner()
    inner.back = h                              # a cycle to the root
    inner.rng, inner.np_rng, inner.gen = random.Random(1), np.random.RandomState(2), torch.Generator().manual_seed(3)
    inner.new_rng = np.random.default_rng(4)
    h.data = {"a": a, "again": a, "t": t, "inner": inner, "inner2": inner}
    for r in (inner.rng, inner.np_rng, inner.new_rng):
        r.random()
    fresh = Holder()
    restore(fresh, through_file(capture(h, LIBS), tmp_path), LIBS)
    d = fresh.data
    assert d["a"] is d["again"] and np.array_equal(d["a"], a)
    assert d["t"].stride() == t.stride() and torch.equal(d["t"], t)
    assert d["inner"] is d["inner2"] and d["inner"].back is fresh
    assert d["inner"].rng.random() == inner.rng.random()
    assert d["inner"].np_rng.standard_normal() == inner.np_rng.standard_normal()
    assert d["inner"].new_rng.random() == inner.new_rng.random()
    assert torch.equal(torch.rand(2, generator=d["inner"].gen), torch.rand(2, generator=inner.gen))


def test_a_container_left_out_does_not_leave_dangling_references(tmp_path):
    h = Holder()
    a = np.ones(3)
    h.data = {"mixed": [a, len], "later": a}     # the list is not data (a function), its array is
    fresh = Holder()
    restore(fresh, through_file(capture(h, LIBS), tmp_path), LIBS)
    assert np.array_equal(fresh.data["later"], a)


def test_a_library_object_that_is_a_list_keeps_its_items(tmp_path):
    """Failed before the fix: the attributes came back, the items were the fresh object's (here: none, or
    another population's weights), so a CMA-ES restored after an IPOP restart asked with the first run's."""
    h = Holder()
    w = Weights(5)
    h.data = {"w": w, "same": w}
    fresh = Holder()
    fresh.data = {"w": Weights(2)}
    restore(fresh, through_file(capture(h, LIBS), tmp_path), LIBS)
    got = fresh.data["w"]
    assert type(got) is Weights and list(got) == list(w) and got.mu == 2 and fresh.data["same"] is got
    h.data = Weights(3)
    fresh = Holder()                          # no fresh object to write into: a new one
    restore(fresh, through_file(capture(h, LIBS), tmp_path), LIBS)
    assert type(fresh.data) is Weights and list(fresh.data) == list(h.data)


def test_restore_refuses_classes_outside_the_named_libraries(tmp_path):
    h = Holder()
    h.data = Inner()
    state = through_file(capture(h, LIBS), tmp_path)
    (data,) = [v for k, v in state["attrs"] if k == "data"]
    data["@object"] = "os:system"                        # a forged file naming something else
    with pytest.raises(ValueError, match="outside the libraries"):
        restore(Holder(), state, LIBS)


def test_objects_of_other_packages_are_left_out():
    h = Holder()
    h.data = {"ok": 1, "logger": __import__("logging").getLogger("x")}
    state = capture(h, LIBS)
    assert "Logger" not in repr(state) and "'ok'" in repr(state)
    fresh = Holder()
    fresh.data = {"logger": None}
    restore(fresh, state, LIBS)
    assert fresh.data == {"ok": 1, "logger": None}     # the fresh object's own value where one was left out
