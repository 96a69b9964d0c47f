"""Circuit design (Rotman & Wolf, ICASSP 2020): a batched ABCD simulator, the circuit space and its
canonical form, fixed-seed datasets, the gradient-trained designer network, the decoder ``circuit``
and the GA ``circuit_ga`` over integer circuit genes.

The names below are the family's public face: what a task (``evohyper_tasks.circuit_design``) may import.
"""
from evohyper.families.circuits.canonical import same_circuit, same_kinds
from evohyper.families.circuits.dataset import SPLITS, circuit_block
from evohyper.families.circuits.decoder import CircuitDecoder
from evohyper.families.circuits.phenotypes import CircuitPhenotypes, CircuitSpec
from evohyper.families.circuits.pictures import plot_design
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
from evohyper.families.circuits.space import DEFAULT_SPACE, CircuitSpace
from evohyper.families.circuits.strategy import CircuitGA

__all__ = ["DEFAULT_SPACE", "EMPTY", "KINDS", "SPLITS", "CircuitDecoder", "CircuitGA", "CircuitPhenotypes",
           "CircuitSpace", "CircuitSpec", "chain_abcd", "chain_matrix", "circuit_block", "impedances",
           "log_frequencies", "log_ratio", "plot_design", "response", "same_circuit", "same_kinds"]
