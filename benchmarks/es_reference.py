"""A plain-Python ES-HyperNEAT (Risi & Stanley 2012), one CPPN call per point, the way PUREPLES does it.

Why it exists: it is the slow, obviously-correct reading of the algorithm that the batched decoder
(``evohyper.families.hyperneat.es_decoder``) is tested against (same hidden nodes, same connections, same
weights) and benchmarked against. It builds one quadtree per source node with Python objects, queries
neat-python's own ``FeedForwardNetwork.activate`` at every point, and walks sets of nodes. It reads only
the decoder's options and node positions, never its code.

Nodes are ``("in", i)``, ``("out", o)`` or ``("hid", x, y)``; a network is its hidden nodes and a
``{(source, target): weight}`` dict of connections.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import neat

Point = tuple[float, float]


@dataclass
class _Cell:
    x: float
    y: float
    half: float            # half the cell's width
    level: int
    w: float = 0.0
    children: list[_Cell] = field(default_factory=list)


@dataclass
class ReferenceNetwork:
    hidden: set[tuple[float, float]]
    connections: dict[tuple[Any, Any], float]


def _variance(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def _leaves(cell: _Cell) -> list[float]:
    if not cell.children:
        return [cell.w]
    return [w for c in cell.children for w in _leaves(c)]


def _express(w: float, threshold: float, max_weight: float) -> float:
    """HyperNEAT's weight expression of a clamped CPPN output (0 within the threshold)."""
    if abs(w) <= threshold:
        return 0.0
    return math.copysign((abs(w) - threshold) / (1.0 - threshold), w) * max_weight


class ReferenceES:
    """ES-HyperNEAT for one genome, with the options and node positions of an ``ESHyperNEATDecoder``."""

    def __init__(self, genome: Any, neat_config: Any, decoder: Any):
        self.net = neat.nn.FeedForwardNetwork.create(genome, neat_config)
        self.d = decoder
        self.o = decoder.options
        self.calls = 0

    def weight(self, src: tuple[float, float], tgt: tuple[float, float], kind: str) -> float:
        """The clamped CPPN weight output for one pair: one neat-python call."""
        inputs = [src[0], src[1], tgt[0], tgt[1]]
        if self.d.distance_input:
            inputs.append(math.hypot(src[0] - tgt[0], src[1] - tgt[1]))
        if self.d.bias_input:
            inputs.append(1.0)
        self.calls += 1
        out = self.net.activate(inputs)[self.d.output_index(kind)]
        return max(-1.0, min(1.0, out))

    def _query(self, source: tuple[float, float], point: tuple[float, float], outgoing: bool, kind: str) -> float:
        return self.weight(source, point, kind) if outgoing else self.weight(point, source, kind)

    def division(self, source: tuple[float, float], outgoing: bool, kind: str) -> _Cell:
        """Division and initialisation: breadth-first, dividing while the children's variance is high."""
        root = _Cell(0.0, 0.0, 1.0, 1)
        queue = deque([root])
        while queue:
            p = queue.popleft()
            h = p.half / 2.0
            p.children = [_Cell(p.x + dx * h, p.y + dy * h, h, p.level + 1) for dx, dy in
                          ((-1, -1), (-1, 1), (1, 1), (1, -1))]
            for c in p.children:
                c.w = self._query(source, (c.x, c.y), outgoing, kind)
            if p.level < self.o.initial_depth or (p.level < self.o.max_depth and
                                                  _variance([c.w for c in p.children]) > self.o.division_threshold):
                queue.extend(p.children)
        return root

    def extraction(self, source: tuple[float, float], p: _Cell, outgoing: bool, kind: str,
                   found: list[tuple[tuple[float, float], float]]) -> None:
        """Pruning and extraction: descend into high-variance cells, else keep the cell if it is in a band."""
        for c in p.children:
            if _variance(_leaves(c)) > self.o.variance_threshold:
                self.extraction(source, c, outgoing, kind, found)
                continue
            step = p.half
            d_left = abs(c.w - self._query(source, (c.x - step, c.y), outgoing, kind))
            d_right = abs(c.w - self._query(source, (c.x + step, c.y), outgoing, kind))
            d_up = abs(c.w - self._query(source, (c.x, c.y - step), outgoing, kind))
            d_down = abs(c.w - self._query(source, (c.x, c.y + step), outgoing, kind))
            if max(min(d_up, d_down), min(d_left, d_right)) > self.o.band_threshold and \
                    abs(c.w) > self.o.weight_threshold:
                found.append(((c.x, c.y), _express(c.w, self.o.weight_threshold, self.o.max_weight)))

    def quadtree(self, source: tuple[float, float], outgoing: bool, kind: str) -> list[tuple[Point, float]]:
        found: list[tuple[Point, float]] = []
        self.extraction(source, self.division(source, outgoing, kind), outgoing, kind, found)
        return found

    def network(self) -> ReferenceNetwork:
        """Inputs -> hidden, ``iteration_level`` rounds of hidden -> hidden, hidden -> outputs, then
        removal of everything not on a path from an input to an output."""
        conns: dict[tuple[Any, Any], float] = {}
        hidden: set[tuple[float, float]] = set()
        for i, pos in enumerate(self.d.inputs):
            for point, w in self.quadtree(tuple(pos), True, "in"):
                conns[("in", i), ("hid", *point)] = w
                hidden.add(point)
        unexplored = set(hidden)
        for _ in range(self.d.iteration_level):
            new: set[tuple[float, float]] = set()
            for pos in sorted(unexplored):
                for point, w in self.quadtree(pos, True, "hidden"):
                    if point == pos or (not self.d.recurrent and not pos[1] < point[1]):
                        continue
                    conns[("hid", *pos), ("hid", *point)] = w
                    if point not in hidden:
                        new.add(point)
            hidden |= new
            unexplored = new
        for o, pos in enumerate(self.d.outputs):
            for point, w in self.quadtree(tuple(pos), False, "out"):
                conns[("hid", *point), ("out", o)] = w
        return self._clean(conns)

    def _clean(self, conns: dict[tuple[Any, Any], float]) -> ReferenceNetwork:
        ins = {("in", i) for i in range(len(self.d.inputs))}
        outs = {("out", o) for o in range(len(self.d.outputs))}
        forward, backward = set(ins), set(outs)
        changed = True
        while changed:
            changed = False
            for a, b in conns:
                if a in forward and b not in forward:
                    forward.add(b)
                    changed = True
                if b in backward and a not in backward:
                    backward.add(a)
                    changed = True
        alive = forward & backward
        kept = {(a, b): w for (a, b), w in conns.items() if a in alive and b in alive}
        return ReferenceNetwork({(n[1], n[2]) for n in alive if n[0] == "hid"}, kept)


def reference_network(genome: Any, neat_config: Any, decoder: Any) -> ReferenceNetwork:
    return ReferenceES(genome, neat_config, decoder).network()


def batched_networks(decoder: Any, phenotypes: Any) -> list[ReferenceNetwork]:
    """The batched decoder's phenotypes in the reference's terms (positions as Python floats)."""
    t = {k: v.detach().double().cpu() for k, v in phenotypes.tensors.items()}
    out = []
    for p in range(t["w_in"].shape[0]):
        mask = t["hidden_mask"][p].bool()
        xy = [tuple(map(float, t["hidden_xy"][p, h])) for h in range(int(mask.sum()))]
        conns: dict[tuple[Any, Any], float] = {}
        for i, h in (t["w_in"][p] != 0).nonzero().tolist():
            conns[("in", i), ("hid", *xy[h])] = float(t["w_in"][p, i, h])
        for a, b in (t["w_hh"][p] != 0).nonzero().tolist():
            conns[("hid", *xy[a]), ("hid", *xy[b])] = float(t["w_hh"][p, a, b])
        for h, o in (t["w_out"][p] != 0).nonzero().tolist():
            conns[("hid", *xy[h]), ("out", o)] = float(t["w_out"][p, h, o])
        out.append(ReferenceNetwork(set(xy), conns))
    return out


def differences(a: ReferenceNetwork, b: ReferenceNetwork, tol: float = 1e-5) -> list[str]:
    """What differs between two networks (empty when equal: same nodes, same links, weights within tol)."""
    diff = []
    if a.hidden != b.hidden:
        diff.append(f"hidden nodes: only first {sorted(a.hidden - b.hidden)}, "
                    f"only second {sorted(b.hidden - a.hidden)}")
    if a.connections.keys() != b.connections.keys():
        only_a, only_b = a.connections.keys() - b.connections.keys(), b.connections.keys() - a.connections.keys()
        diff.append(f"connections: only first {sorted(only_a)[:5]}, only second {sorted(only_b)[:5]}")
    for key in a.connections.keys() & b.connections.keys():
        if abs(a.connections[key] - b.connections[key]) > tol:
            diff.append(f"weight of {key}: {a.connections[key]} vs {b.connections[key]}")
    return diff
