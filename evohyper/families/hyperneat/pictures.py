"""Pictures of one HyperNEAT genome: its CPPN as a graph and the weight patterns it paints.

Why these three: the CPPN drawing shows *what* evolved (topology, activation functions), the
connectivity of one source node shows the geometric pattern it encodes (in the paper, a bump
around the node's own position), and the whole weight matrix shows how regular the pattern is
across the substrate. Used by the decoder's ``pictures`` hook (end of a run, ``evohyper show``)
and by the HyperNEAT report.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def input_names(decoder: Any) -> list[str]:
    d = decoder.substrate.dim
    axes = ["x", "y", "z"] + [f"c{i}" for i in range(3, d)]
    names = [f"{a}1" for a in axes[:d]] + [f"{a}2" for a in axes[:d]]
    return names + (["dist"] if decoder.distance_input else []) + (["bias"] if decoder.bias_input else [])


def output_names(decoder: Any) -> list[str]:
    names = [""] * decoder.num_outputs
    for kind, short in (("weight", "w"), ("leo", "leo"), ("bias", "b")):
        if kind == "leo" and not decoder.leo or kind == "bias" and not decoder.bias_output:
            continue
        for p in range(decoder.num_pairs):
            names[decoder.output_index(kind, p)] = f"{short}{p}" if decoder.num_pairs > 1 else short
    return names


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


def draw_weights(w: torch.Tensor, src_shape: list[int], tgt_shape: list[int], path: Path, source: int | None = None,
                 title: str = "") -> Path:
    """Weight matrix ``w [n_src, n_tgt]``: the connectivity of one source node on the target grid
    (left) and the whole matrix (right)."""
    plt = _plt()
    w = w.detach().float().cpu()
    n_src = w.shape[0]
    source = n_src // 2 if source is None else source
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), dpi=110)
    vmax = float(w.abs().max()) or 1.0
    row = w[source]
    img = row.reshape(tgt_shape) if len(tgt_shape) == 2 else row.reshape(1, -1)
    im = axes[0].imshow(img, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
    if len(src_shape) == 2 and list(src_shape) == list(tgt_shape):
        r, c = divmod(source, src_shape[1])
        axes[0].plot([c], [r], marker="x", color="k", ms=8)
    axes[0].set_title(f"weights from source node {source} to every target node", fontsize=9)
    fig.colorbar(im, ax=axes[0], fraction=0.046)
    im = axes[1].imshow(w, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest", aspect="auto")
    axes[1].set_title(f"whole matrix: {n_src} sources x {w.shape[1]} targets "
                      f"({float((w != 0).float().mean()) * 100:.0f}% expressed)", fontsize=9)
    axes[1].set_xlabel("target node")
    axes[1].set_ylabel("source node")
    fig.colorbar(im, ax=axes[1], fraction=0.046)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def decoder_pictures(decoder: Any, genome: Any, out_dir: Path, prefix: str = "") -> list[Path]:
    """``cppn.png`` and one ``weights_<pair>.png`` per substrate layer pair, for one genome."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [draw_cppn(genome, input_names(decoder), output_names(decoder), out_dir / f"{prefix}cppn.png")]
    with torch.no_grad():
        phen = decoder.decode([genome])
    shapes = decoder.substrate.shapes or [[n] for n in decoder.substrate.sizes]
    for p in range(decoder.num_pairs):
        paths.append(draw_weights(phen.tensors[f"w{p}"][0], shapes[p], shapes[p + 1],
                                  out_dir / f"{prefix}weights_{p}.png",
                                  title=f"layer {p} -> {p + 1} weight pattern"))
    return paths
