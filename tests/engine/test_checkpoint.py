import math
import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evohyper.engine.checkpoint import (
    CheckpointError,
    checkpoint_path,
    list_checkpoints,
    load_latest,
    load_state,
    save_state,
)

tensors = st.builds(
    lambda shape, seed, dt: torch.randn(tuple(shape), generator=torch.Generator().manual_seed(seed)).to(dt),
    st.lists(st.integers(0, 4), max_size=3),
    st.integers(0, 1000),
    st.sampled_from([torch.float32, torch.float64, torch.int64]),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=False),
    st.sampled_from([math.inf, -math.inf]),
    st.text(max_size=8),
    tensors,
)
states = st.recursive(
    leaves,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.tuples(kids, kids), st.dictionaries(st.text(max_size=6), kids, max_size=4)
    ),
    max_leaves=12,
)


def _equal(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=60, deadline=None)
@given(state=states)
def test_checkpoint_round_trip(tmp_path_factory, state):
    path = tmp_path_factory.mktemp("ck") / "c.pt"
    save_state({"s": state}, path)
    assert _equal(load_state(path), {"s": state})


def test_numpy_and_random_states_round_trip(tmp_path):
    import random

    rs = np.random.RandomState(3)
    state = {"np": rs.get_state(), "py": random.Random(5).getstate(), "arr": np.arange(5.0)}
    save_state(state, tmp_path / "c.pt")
    back = load_state(tmp_path / "c.pt")
    rs2 = np.random.RandomState()
    rs2.set_state(back["np"])
    assert rs2.rand() == rs.rand()
    r = random.Random()
    r.setstate(back["py"])
    assert r.random() == random.Random(5).random()
    assert np.array_equal(back["arr"], np.arange(5.0))


def test_unserialisable_state_is_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot checkpoint"):
        save_state({"f": object()}, tmp_path / "c.pt")


def test_write_is_atomic_no_temp_left(tmp_path):
    save_state({"a": 1}, checkpoint_path(tmp_path, 1))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint-000001.pt"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupt_newest_falls_back_to_previous(tmp_path, damage):
    save_state({"gen": 1, "w": torch.arange(100.0)}, checkpoint_path(tmp_path, 1))
    newest = save_state({"gen": 2, "w": torch.arange(100.0) * 2}, checkpoint_path(tmp_path, 2))
    data = bytearray(newest.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":  # change one byte inside the tensor payload: only the checksum notices
        data[-200] ^= 0xFF
    else:
        data = bytearray(b"not a checkpoint")
    newest.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_state(newest)
    state, path = load_latest(tmp_path)
    assert state["gen"] == 1 and path.name == "checkpoint-000001.pt"


def test_no_valid_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="no valid checkpoint"):
        load_latest(tmp_path)


def test_checkpoints_listed_newest_first(tmp_path):
    for g in (3, 10, 1):
        save_state({"g": g}, checkpoint_path(tmp_path, g))
    assert [load_state(p)["g"] for p in list_checkpoints(tmp_path)] == [10, 3, 1]


def test_loading_never_unpickles_code(tmp_path):
    """A file carrying a pickled object (code on load) is rejected by weights_only loading."""

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    torch.save({"schema": 1, "meta": "{}", "tensors": {}, "checksum": "", "x": Evil()}, tmp_path / "c.pt")
    with pytest.raises(CheckpointError):
        load_state(tmp_path / "c.pt")
    assert not (tmp_path / "pwned").exists()


def test_a_signal_during_a_checkpoint_write_waits_for_the_write(tmp_path, monkeypatch):
    """Issue 21 (found in CI): SIGTERM/Ctrl-C arriving inside ``torch.save`` raised there, and torch's zip
    writer then failed on the way out ('unexpected pos 64 vs 0'): a traceback and exit 1 instead of the
    clean stop. The write finishes first, then the signal is delivered to the handler that was installed."""
    import os
    import signal

    import evohyper.engine.checkpoint as checkpoint_module

    class Stop(KeyboardInterrupt):
        pass

    def handler(signum, frame):
        raise Stop()

    real_save = checkpoint_module.torch.save

    def save_interrupted(obj, fh):   # the signal lands in the middle of the write
        os.kill(os.getpid(), signal.SIGTERM)
        real_save(obj, fh)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        monkeypatch.setattr(checkpoint_module.torch, "save", save_interrupted)
        path = tmp_path / "checkpoint-000001.pt"
        with pytest.raises(Stop):
            save_state({"x": torch.arange(3)}, path)
        monkeypatch.undo()
        assert torch.equal(load_state(path)["x"], torch.arange(3))     # the write completed
        assert not list(tmp_path.glob(".tmp-*"))
        assert signal.getsignal(signal.SIGTERM) is handler              # the handler is back
    finally:
        signal.signal(signal.SIGTERM, previous)
