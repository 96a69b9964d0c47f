"""Graph-hypernetwork NAS: cell DAGs (``space``), their batched executor (``executor``), the GHN that
predicts every node's weights (``ghn``, decoder ``ghn``), and random / regularized-evolution search
over cells (``strategies``: ``nas_random``, ``regularized_evolution``)."""
from evohyper.families.nas.decoder import GHNDecoder
from evohyper.families.nas.space import (
    OPS,
    CellSpace,
    canonical_hash,
    canonicalise,
    encoding,
    graph_from_json,
    graph_to_json,
    is_valid,
)
from evohyper.families.nas.strategies import NASRandom, RegularizedEvolution

__all__ = ["OPS", "CellSpace", "GHNDecoder", "NASRandom", "RegularizedEvolution", "canonical_hash", "canonicalise",
           "encoding", "graph_from_json", "graph_to_json", "is_valid"]
