"""ES-HyperNEAT's network construction for a whole population: hidden-node discovery, pruning of nodes
off every input -> output path, and assembly into padded tensors.

Why as tensors: the reference algorithm walks sets of nodes per network. Here every genome's connections
are boolean/weight matrices over the fixed list of candidate positions (``QuadGrid.positions``), so

* the ``iteration_level`` rounds of hidden -> hidden discovery are ``frontier -> any(frontier x links)``
  over the whole population; quadtrees are searched only from candidates some genome actually reached
  (their union), once per candidate, and reused by every genome and round;
* the pruning is batched reachability: repeated boolean products with the hidden -> hidden links give
  the nodes with a path to an output (every discovered node has a path from an input by construction);
* assembly packs each genome's surviving nodes (in candidate order) to the population's largest count.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

#: ``explore(source_positions [S, 2], kind) -> weights [G, S, C]`` with kind "in", "hidden" or "out"
#: ("out": connections from the candidates into each source, an output node).
Explorer = Callable[[torch.Tensor, str], torch.Tensor]


@dataclass
class Discovery:
    """Connections of every genome over the candidate positions, before pruning (weights, 0 = none)."""

    w_in: torch.Tensor        # [G, I, C] input -> candidate
    w_hh: torch.Tensor        # [G, C, C] candidate -> candidate, rows of explored candidates only
    w_out: torch.Tensor       # [G, C, O] candidate -> output
    discovered: torch.Tensor  # [G, C] hidden nodes found from the inputs (and in later rounds)
    explored: torch.Tensor    # [G, C] hidden nodes whose outgoing connections were searched
    searched: int             # candidates whose quadtrees were searched (union over genomes)


def discover(explore: Explorer, inputs: torch.Tensor, outputs: torch.Tensor, positions: torch.Tensor,
             iteration_level: int, feed_forward: bool) -> Discovery:
    """Inputs -> hidden, ``iteration_level`` rounds of hidden -> hidden, hidden -> outputs.

    ``feed_forward`` keeps only hidden -> hidden connections that point upwards (source y < target y),
    which makes every network acyclic; self-connections are never made."""
    w_in = explore(inputs, "in")                                       # [G, I, C]
    w_out = explore(outputs, "out").transpose(1, 2)                    # [G, C, O]
    G, C = w_in.shape[0], positions.shape[0]
    discovered = (w_in != 0).any(dim=1)
    w_hh = torch.zeros(G, C, C, dtype=w_in.dtype, device=w_in.device)
    allowed = ~torch.eye(C, dtype=torch.bool, device=w_in.device)
    if feed_forward:
        allowed &= positions[:, None, 1] < positions[None, :, 1]
    searched = torch.zeros(C, dtype=torch.bool, device=w_in.device)
    explored = torch.zeros_like(discovered)
    frontier = discovered.clone()
    for _ in range(iteration_level):  # rounds of discovery, each for the whole population
        need = frontier.any(dim=0) & ~searched
        if need.any():
            idx = need.nonzero().flatten()
            w_hh[:, idx] = torch.where(allowed[idx], explore(positions[idx], "hidden"), 0.0)
            searched |= need
        new = ((w_hh != 0) & frontier[:, :, None]).any(dim=1) & ~discovered
        explored |= frontier
        discovered |= new
        frontier = new
        if not frontier.any():
            break
    w_hh = torch.where(explored[:, :, None], w_hh, 0.0)
    return Discovery(w_in, w_hh, w_out, discovered, explored, int(searched.sum()))


def connected(d: Discovery) -> torch.Tensor:
    """Hidden nodes on an input -> output path ``[G, C]``: discovered ones (reachable from an input) that
    reach an output, by batched reachability over the hidden -> hidden links."""
    links = d.w_hh != 0
    reach = (d.w_out != 0).any(dim=2)                                   # a direct link to an output
    while True:  # at most the longest path; each pass is one batched boolean product
        grown = reach | (links & reach[:, None, :]).any(dim=2)
        if torch.equal(grown, reach):
            return d.discovered & reach
        reach = grown


def depth(w_hh: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Longest chain of hidden nodes per network ``[G]`` (0 without hidden nodes); for acyclic links."""
    if not mask.numel():
        return torch.zeros(mask.shape[0], dtype=torch.int64, device=mask.device)
    links = (w_hh != 0).to(torch.int16)                                # small integers: less memory traffic
    length = mask.to(torch.int16)                                       # chain ending at each node
    for _ in range(w_hh.shape[1]):
        longer = (links * length[:, :, None]).amax(dim=1).add_(1).mul_(mask)
        if torch.equal(longer, length):
            break
        length = longer
    return length.amax(dim=1).to(torch.int64)


def assemble(d: Discovery, positions: torch.Tensor, steps: int | None) -> dict[str, torch.Tensor]:
    """Pack the surviving hidden nodes of each genome (candidate order) into padded tensors.

    ``steps``: activation steps of every network, or None for the longest hidden chain of each
    (exact feed-forward output of an acyclic network)."""
    keep = connected(d)                                                  # [G, C]
    G, C = keep.shape
    count = keep.sum(dim=1)
    H = int(count.max()) if G else 0
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :H]   # kept nodes first
    mask = torch.arange(H, device=keep.device)[None, :] < count[:, None]
    n_in, n_out = d.w_in.shape[1], d.w_out.shape[2]
    w_in = d.w_in.gather(2, order[:, None, :].expand(G, n_in, H))
    w_out = d.w_out.gather(1, order[:, :, None].expand(G, H, n_out))
    rows = d.w_hh.gather(1, order[:, :, None].expand(G, H, C))
    w_hh = rows.gather(2, order[:, None, :].expand(G, H, H))
    w_in = torch.where(mask[:, None, :], w_in, 0.0)
    w_out = torch.where(mask[:, :, None], w_out, 0.0)
    w_hh = torch.where(mask[:, :, None] & mask[:, None, :], w_hh, 0.0)
    xy = torch.where(mask[:, :, None], positions.to(w_in.dtype)[order], 0.0)             # padding at 0
    n_steps = depth(w_hh, mask) if steps is None else torch.full((G,), int(steps), dtype=torch.int64,
                                                                 device=keep.device)
    return {"w_in": w_in.float(), "w_hh": w_hh.float(), "w_out": w_out.float(), "steps": n_steps,
            "hidden_xy": xy.float(), "hidden_mask": mask}
