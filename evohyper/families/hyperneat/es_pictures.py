"""Pictures of one ES-HyperNEAT genome: its CPPN and the substrate it discovered.

Why the substrate: what ES-HyperNEAT evolves is *where* hidden nodes are and how dense they are; the
drawing puts every node at its position in [-1, 1]^2 and every connection as a line coloured by sign
(blue +, red -) with opacity by |weight|. With a two-layer task substrate (inputs and outputs are sheets
over the same square as the hidden nodes) the three kinds of connections get one panel each.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from evohyper.families.hyperneat.pictures import cppn_picture, pyplot


def _segments(ax: Any, src: torch.Tensor, tgt: torch.Tensor, w: torch.Tensor, wmax: float) -> int:
    """Draw links ``src[i] -> tgt[i]`` (positions ``[n, 2]``) with weights ``w[n]``; returns how many."""
    from matplotlib.collections import LineCollection

    if not len(w):
        return 0
    colours = [(0.12, 0.47, 0.71, a) if v > 0 else (0.84, 0.15, 0.16, a)
               for v, a in zip(w.tolist(), (0.15 + 0.75 * w.abs() / wmax).tolist())]
    ax.add_collection(LineCollection(torch.stack([src, tgt], dim=1).tolist(), colors=colours, linewidths=0.8))
    return len(w)


def _links(weights: torch.Tensor, src_xy: torch.Tensor, tgt_xy: torch.Tensor):
    idx = (weights != 0).nonzero()
    return src_xy[idx[:, 0]], tgt_xy[idx[:, 1]], weights[idx[:, 0], idx[:, 1]]


def draw_substrate(decoder: Any, phenotypes: Any, path: Path, index: int = 0, title: str = "") -> Path:
    """The discovered network of individual ``index``: nodes at their positions, links by sign/weight."""
    plt = pyplot()
    one = phenotypes.select([index])
    t = {k: v[0].detach().float().cpu() for k, v in one.tensors.items()}
    hid = t["hidden_xy"]
    ins, outs = torch.tensor(decoder.inputs, dtype=torch.float32), torch.tensor(decoder.outputs, dtype=torch.float32)
    kinds = [("input -> hidden", _links(t["w_in"], ins, hid)), ("hidden -> hidden", _links(t["w_hh"], hid, hid)),
             ("hidden -> output", _links(t["w_out"], hid, outs))]
    wmax = max([float(w.abs().max()) for _, (_, _, w) in kinds if len(w)], default=1.0)
    if decoder.layout == "sheets":  # three sheets over one square: one panel per kind of connection
        panels = [(name, links, shown) for (name, links), shown in zip(kinds, ("ih", "h", "ho"))]
    else:
        panels = [("all connections", tuple(torch.cat(p) for p in zip(*[links for _, links in kinds])), "iho")]
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6.0, 4.6 * len(panels)), 5.0), dpi=110, squeeze=False)
    for ax, (name, (src, tgt, w), shown) in zip(axes[0], panels):
        n = _segments(ax, src, tgt, w, wmax)
        if "i" in shown:
            ax.scatter(ins[:, 0], ins[:, 1], marker="s", s=14, c="#969696", label="input", zorder=3)
        if "o" in shown:
            ax.scatter(outs[:, 0], outs[:, 1], marker="^", s=18, c="#31a354", label="output", zorder=3)
        ax.scatter(hid[:, 0], hid[:, 1], marker="o", s=22, c="#fd8d3c", edgecolors="k", linewidths=0.4,
                   label="hidden", zorder=4)
        ax.legend(fontsize=7, loc="lower left")
        ax.set_title(f"{name}: {n} links", fontsize=9)
        ax.set_xlim(-1.15, 1.15)
        ax.set_ylim(-1.15, 1.15)
        ax.set_aspect("equal")
        ax.grid(alpha=0.2)
    steps = int(t["steps"])
    fig.suptitle(title or f"ES-HyperNEAT substrate: {hid.shape[0]} hidden nodes, "
                 f"{sum(len(w) for _, (_, _, w) in kinds)} links, {steps} activation steps\n"
                 f"(blue +, red -; opacity |w|)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def es_decoder_pictures(decoder: Any, genome: Any, out_dir: Path, prefix: str = "") -> list[Path]:
    """``cppn.png`` and ``substrate.png`` for one genome."""
    cppn, phen = cppn_picture(decoder, genome, out_dir, prefix)
    return [cppn, draw_substrate(decoder, phen, out_dir / f"{prefix}substrate.png")]
