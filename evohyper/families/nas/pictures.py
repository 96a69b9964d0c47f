"""Pictures of cell architectures (the best cell of a run, the cells a report compares)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from evohyper.families.nas.space import graph_from_json


def draw_cells(cells: list[tuple[str, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    fig, axes = plt.subplots(1, len(cells), figsize=(4.2 * len(cells), 4.2))
    for ax, (title, data) in zip(np.atleast_1d(axes), cells):
        g = graph_from_json(data)
        depth = {}
        for v in nx.topological_sort(g):
            depth[v] = max((depth[u] + 1 for u in g.predecessors(v)), default=0)
        for v in g:
            g.nodes[v]["layer"] = depth[v]
        pos = nx.multipartite_layout(g, subset_key="layer", align="horizontal")
        pos = {v: (x, -y) for v, (x, y) in pos.items()}
        colors = ["#bbb" if g.nodes[v]["op"] in ("stem", "head") else "#8cf" if "conv" in g.nodes[v]["op"]
                  else "#fc8" for v in g]
        nx.draw_networkx(g, pos, ax=ax, labels={v: g.nodes[v]["op"] for v in g}, node_color=colors,
                         node_size=1800, font_size=7, arrows=True)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
