"""Cell architectures as ``networkx`` DAGs: sampling, DEAP-style mutation/crossover, validity, hashing.

A cell has ``nodes`` nodes. Node 0 is the ``stem`` (a 3x3 conv from the image channels to ``channels``),
the last node is the ``head`` (sum of its inputs, ReLU, global average pool, linear classifier), and
every node in between carries one op from ``OPS`` and sums its 1..``max_inputs`` inputs before applying
it. The head's inputs are always exactly the nodes that feed nothing else (the "loose ends"), so every
node lies on a path stem -> head. Node attribute ``op`` holds the op name.

Canonical form: nodes relabelled 0..n-1 in a deterministic topological order (longest distance from the
stem, then the node's Weisfeiler-Lehman subtree hash, then the sorted hashes of its inputs). Isomorphic
cells that only differ by node ids get the same form (nodes the key cannot tell apart are ordered to
give the smallest encoding); ``canonical_hash`` is networkx's WL graph hash
with op labels (equal for isomorphic graphs), used to recognise equal architectures in a search.
"""
from __future__ import annotations

import itertools
import json
import random
import warnings
from typing import Any

import networkx as nx

OPS = ("conv3x3", "conv5x5", "dwconv3x3", "maxpool3x3", "avgpool3x3", "identity")
SPECIAL = ("stem", "head")


class CellSpace:
    """The space of cells with ``nodes`` nodes (stem + head + ``nodes - 2`` op nodes).

    Options: ``nodes`` 3..12, ``max_inputs`` 1..3 (inputs per op node), ``ops`` a subset of ``OPS``.
    ``channels`` is carried for the executor/GHN (every op keeps the width).
    """

    def __init__(self, nodes: int = 6, max_inputs: int = 2, channels: int = 16,
                 ops: tuple[str, ...] = OPS) -> None:
        if isinstance(nodes, bool) or not isinstance(nodes, int) or not 3 <= nodes <= 12:
            raise ValueError(f"CellSpace: option 'nodes' must be an integer in 3..12, got {nodes!r}")
        if isinstance(max_inputs, bool) or not isinstance(max_inputs, int) or not 1 <= max_inputs <= 3:
            raise ValueError(f"CellSpace: option 'max_inputs' must be an integer in 1..3, got {max_inputs!r}")
        if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= 256:
            raise ValueError(f"CellSpace: option 'channels' must be an integer in 1..256, got {channels!r}")
        bad = [o for o in ops if o not in OPS]
        if bad or not ops:
            raise ValueError(f"CellSpace: option 'ops' has unknown op(s) {bad or ops!r}; allowed: {list(OPS)}")
        self.nodes, self.max_inputs, self.channels, self.ops = nodes, max_inputs, channels, tuple(ops)

    # ------------------------------------------------------------------ sampling
    def sample(self, rng: random.Random) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_node(0, op="stem")
        for i in range(1, self.nodes - 1):
            g.add_node(i, op=rng.choice(self.ops))
            k = rng.randint(1, min(self.max_inputs, i))
            for j in rng.sample(range(i), k):
                g.add_edge(j, i)
        g.add_node(self.nodes - 1, op="head")
        return canonicalise(_wire_head(g))

    # ------------------------------------------------------------------ variation (DEAP signatures)
    def mutate(self, g: nx.DiGraph, rng: random.Random) -> tuple[nx.DiGraph]:
        """Change one op node's op, or rewire one of its input edges (to another earlier node)."""
        g = _body(g)
        inner = list(range(1, self.nodes - 1))
        i = rng.choice(inner)
        rewirable = [j for j in range(i) if not g.has_edge(j, i)]
        if rng.random() < 0.5 or not rewirable:
            g.nodes[i]["op"] = rng.choice([o for o in self.ops if o != g.nodes[i]["op"]] or list(self.ops))
        else:
            old = rng.choice(sorted(g.predecessors(i)))
            g.remove_edge(old, i)
            g.add_edge(rng.choice(rewirable), i)
        return (canonicalise(_wire_head(g)),)

    def crossover(self, a: nx.DiGraph, b: nx.DiGraph, rng: random.Random) -> tuple[nx.DiGraph, nx.DiGraph]:
        """Uniform crossover by node position: each op node takes its op and inputs from either parent.

        Valid because in canonical form a node's inputs all have smaller positions in both parents."""
        ca, cb = _body(a), _body(b)
        for i in range(1, self.nodes - 1):
            if rng.random() < 0.5:
                pa, pb = sorted(ca.predecessors(i)), sorted(cb.predecessors(i))
                ca.nodes[i]["op"], cb.nodes[i]["op"] = cb.nodes[i]["op"], ca.nodes[i]["op"]
                ca.remove_edges_from([(j, i) for j in pa])
                cb.remove_edges_from([(j, i) for j in pb])
                ca.add_edges_from([(j, i) for j in pb])
                cb.add_edges_from([(j, i) for j in pa])
        return canonicalise(_wire_head(ca)), canonicalise(_wire_head(cb))

    def check(self, g: Any) -> None:
        """Raise ``ValueError`` naming what is wrong if ``g`` is not a valid cell of this space."""
        problem = validity_problem(g)
        if problem is None and g.number_of_nodes() != self.nodes:
            problem = f"has {g.number_of_nodes()} nodes, the space has {self.nodes}"
        if problem is None:
            bad = [g.nodes[v]["op"] for v in g if g.nodes[v]["op"] not in self.ops + SPECIAL]
            problem = f"uses op(s) {bad} outside the space's {list(self.ops)}" if bad else None
        if problem:
            raise ValueError(f"invalid cell: {problem}")


def validity_problem(g: Any) -> str | None:
    """None if ``g`` is a valid cell (a DAG, one stem, one head, every node on a stem->head path)."""
    if not isinstance(g, nx.DiGraph):
        return f"expected a networkx.DiGraph, got {type(g).__name__}"
    if g.number_of_nodes() < 3:
        return "fewer than 3 nodes"
    ops = {v: d.get("op") for v, d in g.nodes(data=True)}
    if any(o not in OPS + SPECIAL for o in ops.values()):
        return f"unknown op(s) {sorted({str(o) for o in ops.values() if o not in OPS + SPECIAL})}; allowed: {list(OPS)}"
    stems = [v for v, o in ops.items() if o == "stem"]
    heads = [v for v, o in ops.items() if o == "head"]
    if len(stems) != 1 or len(heads) != 1:
        return f"needs exactly one stem and one head, got {len(stems)} and {len(heads)}"
    if not nx.is_directed_acyclic_graph(g):
        return "has a cycle"
    s, h = stems[0], heads[0]
    if g.in_degree(s) != 0 or g.out_degree(h) != 0:
        return "the stem has inputs or the head has outputs"
    reach = nx.descendants(g, s) | {s}
    back = nx.ancestors(g, h) | {h}
    if set(g) - reach or set(g) - back:
        return f"node(s) {sorted(set(g) - (reach & back), key=str)} are not on a stem->head path"
    return None


def is_valid(g: Any) -> bool:
    return validity_problem(g) is None


def _body(g: nx.DiGraph) -> nx.DiGraph:
    """A copy without the head's input edges (they are re-derived by ``_wire_head``)."""
    c = g.copy()
    head = len(c) - 1
    c.remove_edges_from(list(c.in_edges(head)))
    return c


def _wire_head(g: nx.DiGraph) -> nx.DiGraph:
    head = len(g) - 1
    g.remove_edges_from(list(g.in_edges(head)))
    g.add_edges_from((v, head) for v in range(head) if g.out_degree(v) == 0)
    return g


def canonicalise(g: nx.DiGraph) -> nx.DiGraph:
    """Relabel nodes 0..n-1 in the canonical topological order (see module docstring)."""
    problem = validity_problem(g)
    if problem:
        raise ValueError(f"invalid cell: {problem}")
    stem = next(v for v, d in g.nodes(data=True) if d["op"] == "stem")
    depth: dict[Any, int] = {}
    for v in nx.topological_sort(g):
        depth[v] = max((depth[u] + 1 for u in g.predecessors(v)), default=0)
    with warnings.catch_warnings():  # networkx >= 3.5 warns that directed hashes changed in 3.5
        warnings.simplefilter("ignore", UserWarning)
        up = nx.weisfeiler_lehman_subgraph_hashes(g.reverse(copy=True), node_attr="op", iterations=len(g))
        down = nx.weisfeiler_lehman_subgraph_hashes(g, node_attr="op", iterations=len(g))
    key = {v: (depth[v], g.nodes[v]["op"] == "head", up[v][-1], down[v][-1],
               tuple(sorted(up[u][-1] for u in g.predecessors(v)))) for v in g}
    order = sorted(g, key=lambda v: key[v])
    assert order[0] == stem
    # Nodes with equal keys are WL-indistinguishable; pick the tie order giving the smallest encoding
    # (exhaustive over tied blocks, which are tiny in practice; capped for safety).
    blocks = [list(grp) for _, grp in itertools.groupby(order, key=lambda v: key[v])]
    best = None
    for n_tried, choice in enumerate(itertools.product(*(itertools.permutations(b) for b in blocks))):
        if n_tried >= 5040:
            break
        cand = _relabel(g, [v for blk in choice for v in blk])
        enc = encoding(cand)
        if best is None or enc < best[0]:
            best = (enc, cand)
    return best[1]


def _relabel(g: nx.DiGraph, order: list[Any]) -> nx.DiGraph:
    pos = {v: i for i, v in enumerate(order)}
    out = nx.DiGraph()
    for i, v in enumerate(order):
        out.add_node(i, op=g.nodes[v]["op"])
    out.add_edges_from(sorted((pos[u], pos[v]) for u, v in g.edges))
    return out


def canonical_hash(g: nx.DiGraph) -> str:
    """Weisfeiler-Lehman hash with op labels: equal for isomorphic cells (node ids do not matter)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return nx.weisfeiler_lehman_graph_hash(g, node_attr="op", iterations=len(g))


def encoding(g: nx.DiGraph) -> str:
    """Exact encoding of a canonical-form cell: ops in node order + sorted edges (the executor's group key)."""
    ops = [g.nodes[v]["op"] for v in range(len(g))]
    return json.dumps({"ops": ops, "edges": sorted([int(u), int(v)] for u, v in g.edges)}, separators=(",", ":"))


def graph_to_json(g: nx.DiGraph) -> dict[str, Any]:
    return {"ops": [g.nodes[v]["op"] for v in range(len(g))], "edges": sorted([int(u), int(v)] for u, v in g.edges)}


def graph_from_json(data: dict[str, Any]) -> nx.DiGraph:
    if not isinstance(data, dict) or set(data) != {"ops", "edges"}:
        raise ValueError(f"a cell's JSON must be an object with keys ['edges', 'ops'], got {data!r:.80}")
    g = nx.DiGraph()
    for i, op in enumerate(data["ops"]):
        g.add_node(i, op=op)
    g.add_edges_from((int(u), int(v)) for u, v in data["edges"])
    return canonicalise(g)
