"""A NEAT-family report names the engine (and gene dtype) its runs used, defaults resolved from the strategy."""
from experiments.neat_engine_label import engine_label, engine_of


def test_defaults_resolve_to_the_strategys_and_overrides_win():
    assert engine_of("search_spaces/hyperneat_visual.yaml") == ("batched", "float64")
    assert engine_of("search_spaces/neat_xor.yaml", ["strategy.dtype=float32"]) == ("batched", "float32")
    assert engine_of("search_spaces/neat_xor.yaml", ["strategy.engine=neat-python"]) == ("neat-python", None)
    assert "`neat-python`" in engine_label("search_spaces/pneat_visual.yaml", ["strategy.engine=neat-python"])
