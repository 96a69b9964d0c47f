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

from evohyper.families.neat.convert import as_genome_batch, as_neat_genome
from evohyper.families.neat.drawing import draw_cppn


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, imported on first use (a run that draws no
    picture never imports matplotlib; a headless actor never looks for a display)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def cppn_picture(decoder: Any, genome: Any, out_dir: Path, prefix: str = "") -> tuple[Path, Any]:
    """``cppn.png`` of one genome (labelled with the decoder's ``input_names``/``output_names``) and the
    genome decoded: the half both HyperNEAT decoders' pictures share; each then draws what it decoded."""
    out_dir.mkdir(parents=True, exist_ok=True)
    one = as_genome_batch([genome])   # a one-row GenomeBatch (or a neat-python genome, converted)
    path = draw_cppn(as_neat_genome(one), decoder.input_names(), decoder.output_names(), out_dir / f"{prefix}cppn.png")
    with torch.no_grad():
        return path, decoder.decode(one)


def draw_weights(w: torch.Tensor, src_shape: list[int], tgt_shape: list[int], path: Path, source: int | None = None,
                 title: str = "") -> Path:
    """Weight matrix ``w [n_src, n_tgt]``: the connectivity of one source node on the target grid
    (left) and the whole matrix (right)."""
    plt = pyplot()
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
    cppn, phen = cppn_picture(decoder, genome, out_dir, prefix)
    paths = [cppn]
    shapes = decoder.substrate.shapes or [[n] for n in decoder.substrate.sizes]
    for p in range(decoder.num_pairs):
        paths.append(draw_weights(phen.tensors[f"w{p}"][0], shapes[p], shapes[p + 1],
                                  out_dir / f"{prefix}weights_{p}.png",
                                  title=f"layer {p} -> {p + 1} weight pattern"))
    return paths
