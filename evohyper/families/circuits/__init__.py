"""Circuit design (Rotman & Wolf, ICASSP 2020): a batched ABCD simulator, the circuit space and its
canonical form, fixed-seed datasets, the gradient-trained designer network, the decoder ``circuit``
and the GA ``circuit_ga`` over integer circuit genes."""
from evohyper.api.registry import decoders as _decoders
from evohyper.api.registry import strategies as _strategies
from evohyper.families.circuits.decoder import CircuitDecoder
from evohyper.families.circuits.simulator import (
    EMPTY,
    KINDS,
    chain_abcd,
    chain_matrix,
    impedances,
    log_frequencies,
    log_ratio,
    response,
)
from evohyper.families.circuits.strategy import CircuitGA

_decoders.register("circuit")(CircuitDecoder)
_strategies.register("circuit_ga")(CircuitGA)

__all__ = ["EMPTY", "KINDS", "CircuitDecoder", "CircuitGA", "chain_abcd", "chain_matrix", "impedances",
           "log_frequencies", "log_ratio", "response"]
