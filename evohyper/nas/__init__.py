"""Graph-hypernetwork NAS: cell DAGs (``space``), their batched executor (``executor``), the GHN that
predicts every node's weights (``ghn``), and random / regularized-evolution search (``search``)."""
from evohyper.nas.space import OPS, CellSpace, canonical_hash, canonicalise, encoding, graph_from_json, graph_to_json, is_valid

__all__ = ["OPS", "CellSpace", "canonical_hash", "canonicalise", "encoding", "graph_from_json", "graph_to_json",
           "is_valid"]
