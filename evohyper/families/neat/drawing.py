"""Drawing of one NEAT genome as a network (a CPPN for HyperNEAT, the network itself for direct NEAT).

Why here: decoder ``neat`` draws its genomes and ``families.hyperneat`` draws its CPPNs with the same
function; it sits in ``families.neat`` since ``families.hyperneat`` may import ``families.neat`` and not the
other way round (docs/architecture.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def draw_cppn(genome: Any, in_names: list[str], out_names: list[str], path: Path, title: str = "") -> Path:
    """The CPPN as a layered networkx drawing: enabled links coloured by sign, width by |weight|."""
    import networkx as nx

    plt = _plt()
    g = nx.DiGraph()
    for i, name in enumerate(in_names):
        g.add_node(-i - 1, label=name, kind="in")
    for k, node in genome.nodes.items():
        kind = "out" if k < len(out_names) else "hidden"
        label = f"{out_names[k]}\n{node.activation}" if kind == "out" else node.activation
        g.add_node(k, label=label, kind=kind)
    for (i, o), c in genome.connections.items():
        if c.enabled and i in g and o in g:
            g.add_edge(i, o, weight=c.weight)
    depth = {n: 0 for n in g if g.nodes[n]["kind"] == "in"}
    if nx.is_directed_acyclic_graph(g):
        for n in nx.topological_sort(g):
            preds = [depth[p] for p in g.predecessors(n) if p in depth]
            depth.setdefault(n, (max(preds) + 1) if preds else 1)
    else:  # a recurrent network: hidden nodes by their distance from the inputs
        g.add_node("src")
        g.add_edges_from(("src", n) for n in list(depth))
        far = nx.single_source_shortest_path_length(g, "src")
        g.remove_node("src")
        depth.update({n: far.get(n, 2) - 1 for n in g if n not in depth})
    top = max(depth.values(), default=1) + 1
    for n in g:
        if g.nodes[n]["kind"] == "out":
            depth[n] = top
        g.nodes[n]["layer"] = depth[n]
    pos = nx.multipartite_layout(g, subset_key="layer")
    fig, ax = plt.subplots(figsize=(7.5, 5.0), dpi=110)
    colours = {"in": "#9ecae1", "hidden": "#fdd0a2", "out": "#a1d99b"}
    nx.draw_networkx_nodes(g, pos, ax=ax, node_size=900, node_color=[colours[g.nodes[n]["kind"]] for n in g])
    nx.draw_networkx_labels(g, pos, ax=ax, labels={n: g.nodes[n]["label"] for n in g}, font_size=7)
    edges = list(g.edges(data="weight"))
    if edges:
        wmax = max(abs(w) for *_, w in edges) or 1.0
        nx.draw_networkx_edges(g, pos, ax=ax, edgelist=[(a, b) for a, b, _ in edges], node_size=900,
                               edge_color=["#d62728" if w < 0 else "#1f77b4" for *_, w in edges],
                               width=[0.5 + 2.5 * abs(w) / wmax for *_, w in edges], arrowsize=10)
    ax.set_title(title or f"CPPN (genome {genome.key}): {len(genome.nodes)} nodes, "
                 f"{sum(c.enabled for c in genome.connections.values())} enabled links  (blue +, red -)", fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
