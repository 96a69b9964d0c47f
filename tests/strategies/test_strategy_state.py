"""Strategies checkpoint their explicit state (issue 21): a checkpoint taken at generation k and loaded
into a fresh strategy continues bit-identically, without replaying ask/tell, and its size does not grow
with the run."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evohyper.api.registry import strategies
from evohyper.engine.checkpoint import load_state, save_state

# (registered name, options): every vector strategy the brief names, cma full and diagonal, PGPE's optimizers
CASES = {
    "cmaes": ("cmaes", {}),
    "cmaes_diagonal": ("cmaes", {"diagonal": True}),
    "snes": ("snes", {}),
    "xnes": ("xnes", {}),
    "pgpe": ("pgpe", {"popsize": 8}),
    "pgpe_adam": ("pgpe", {"popsize": 8, "optimizer": "adam"}),
    "pgpe_sgd": ("pgpe", {"popsize": 8, "optimizer": "sgd"}),
    "cem": ("cem", {"popsize": 10}),
    "ga": ("ga", {"popsize": 10}),
    "random": ("random", {"popsize": 10}),
}
DIM = 6


def fitness(population: torch.Tensor) -> torch.Tensor:
    return -((population.double() - 0.5) ** 2).sum(1)


def make(case: str, seed: int = 0, dim: int = DIM):
    name, options = CASES[case]
    return strategies.get(name)(dim, seed, **options)


def advance(s, generations: int) -> list[torch.Tensor]:
    asked = []
    for _ in range(generations):
        x = s.ask()
        asked.append(x.clone())
        s.tell(fitness(x))
    return asked


def round_trip(s, tmp_path, case, seed=0, dim=DIM):
    """Save through the real checkpoint file format, load into a fresh strategy that may not replay."""
    path = save_state({"strategy": s.state_dict()}, tmp_path / f"{case}-{s.generation}.pt")
    fresh = make(case, seed, dim)

    def no_replay(*args, **kwargs):
        raise AssertionError("load_state_dict replayed ask/tell")

    fresh._ask, fresh._tell = no_replay, no_replay   # instance attributes shadow the methods during load
    fresh.load_state_dict(load_state(path)["strategy"])
    del fresh._ask, fresh._tell
    return fresh, path


@pytest.mark.parametrize("case", sorted(CASES))
def test_checkpoint_continues_bit_identically_without_replay(case, tmp_path):
    s = make(case)
    advance(s, 7)
    resumed, _ = round_trip(s, tmp_path, case)
    assert resumed.generation == s.generation and resumed.best_fitness == s.best_fitness
    assert torch.equal(resumed.best_genotype, s.best_genotype)
    for _ in range(6):
        x, y = s.ask(), resumed.ask()
        assert torch.equal(x, y)
        s.tell(fitness(x))
        resumed.tell(fitness(y))


@pytest.mark.parametrize("case", sorted(CASES))
def test_checkpoint_size_does_not_grow_with_the_run(case, tmp_path):
    s = make(case)
    advance(s, 5)
    small = save_state({"strategy": s.state_dict()}, tmp_path / "a.pt").stat().st_size
    advance(s, 55)
    large = save_state({"strategy": s.state_dict()}, tmp_path / "b.pt").stat().st_size
    assert large <= small * 1.05 + 256, f"{case}: {small} bytes at generation 5, {large} at 60"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(sorted(CASES)), k=st.integers(0, 12), seed=st.integers(0, 2**31 - 1),
       dim=st.integers(2, 7))
def test_round_trip_property(case, k, seed, dim, tmp_path):
    """Any generation, seed and genome size: the loaded strategy asks what the original asks, and its
    own state_dict round-trips to the same checkpoint."""
    s = make(case, seed, dim)
    advance(s, k)
    resumed, path = round_trip(s, tmp_path, case, seed, dim)
    again = save_state({"strategy": resumed.state_dict()}, tmp_path / "again.pt")
    assert again.read_bytes() == path.read_bytes()
    for _ in range(3):
        x, y = s.ask(), resumed.ask()
        assert torch.equal(x, y)
        s.tell(fitness(x))
        resumed.tell(fitness(y))
