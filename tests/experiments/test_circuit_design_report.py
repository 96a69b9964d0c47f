"""The circuit-design report's column bookkeeping: every column on the same targets."""
from types import SimpleNamespace

from experiments.circuit_design_columns import LENGTHS, same_targets


def _res(nn: int, ga: int) -> dict:
    return {"settings": SimpleNamespace(nn_per_length=nn, ga_per_length=ga)}


def test_network_column_keeps_the_first_ga_targets_per_length():
    nn, ga = 5, 2
    col = {"length": [n for n in LENGTHS for _ in range(nn)], "equivalent": list(range(nn * len(LENGTHS)))}
    out = same_targets(_res(nn, ga), col)
    assert list(out["length"]) == [n for n in LENGTHS for _ in range(ga)]
    assert list(out["equivalent"]) == [n * nn + i for n in range(len(LENGTHS)) for i in range(ga)]


def test_ga_column_is_left_whole():
    nn, ga = 5, 2
    col = {"length": [n for n in LENGTHS for _ in range(ga)], "equivalent": [1.0] * (ga * len(LENGTHS))}
    assert same_targets(_res(nn, ga), col) == col
