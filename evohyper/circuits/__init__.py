"""The circuit-design domain: a batched ABCD simulator, the circuit space and its canonical form,
fixed-seed datasets, and the gradient-trained hypernetwork designer (Rotman & Wolf, ICASSP 2020)."""
from evohyper.circuits.simulator import (EMPTY, KINDS, chain_abcd, chain_matrix, impedances, log_frequencies,
                                         log_ratio, response)

__all__ = ["EMPTY", "KINDS", "chain_abcd", "chain_matrix", "impedances", "log_frequencies", "log_ratio",
           "response"]
