"""neat-python genomes <-> ``GenomeBatch``, and one row as genotype JSON (docs/neat_engine.md, 5.4).

Why here and not in the engine: neat-python stays the oracle and the export format (``FeedForwardNetwork``
accepts what ``to_neat_python`` returns), so the two layouts must convert both ways without losing a bit.
Activation and aggregation names become int8 codes: the index of the name in
``activations.ACTIVATION_NAMES`` / ``AGGREGATION_NAMES``, the one table of the functions the compiler can run.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import chain
from operator import attrgetter
from types import SimpleNamespace
from typing import Any

import neat
import numpy as np
import torch

from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES
from evohyper.families.neat.genome import GenomeBatch, pack_key, unpack_key

_ACT = {name: i for i, name in enumerate(ACTIVATION_NAMES)}
_AGG = {name: i for i, name in enumerate(AGGREGATION_NAMES)}
_NUMPY = {torch.float64: np.float64, torch.int64: np.int64, torch.int32: np.int32, torch.bool: np.bool_}


def activation_code(name: str) -> int:
    if name not in _ACT:
        raise ValueError(f"activation {name!r} has no batched function; allowed: {list(ACTIVATION_NAMES)}")
    return _ACT[name]


def aggregation_code(name: str) -> int:
    if name not in _AGG:
        raise ValueError(f"aggregation {name!r} has no batched function; allowed: {list(AGGREGATION_NAMES)}")
    return _AGG[name]


def from_neat_python(genomes: Iterable[Any] | Mapping[int, Any], *, dtype: torch.dtype = torch.float64,
                     device: torch.device | str | None = None) -> GenomeBatch:
    """``DefaultGenome`` objects (a population dict: its values, in order) as one batch, rows in order.

    ``float64`` by default: then every attribute is the very Python float (the round trip is the identity).
    One pass per attribute over all genes (``map``/``numpy.fromiter``, no per-gene Python statements): this
    is the neat-python engine's conversion in every ``ask`` (P-NEAT: 2.2 M genes per generation).
    """
    rows = list(genomes.values() if isinstance(genomes, Mapping) else genomes)
    ns = [n for g in rows for n in g.nodes.values()]
    cs = [c for g in rows for c in g.connections.values()]

    def floats(objs: list[Any], name: str) -> np.ndarray:
        return np.fromiter(map(attrgetter(name), objs), dtype=np.float64, count=len(objs))

    nodes = {"node_id": np.fromiter((k for g in rows for k in g.nodes), dtype=np.int64, count=len(ns)),
             "bias": floats(ns, "bias"), "response": floats(ns, "response"),
             "time_constant": floats(ns, "time_constant"),
             "activation": _codes(ns, "activation", _ACT, activation_code),
             "aggregation": _codes(ns, "aggregation", _AGG, aggregation_code)}
    keys = np.fromiter(chain.from_iterable(k for g in rows for k in g.connections), dtype=np.int64,
                       count=2 * len(cs)).reshape(-1, 2)
    conns = {"in": keys[:, 0], "out": keys[:, 1],
             "innovation": np.fromiter(map(attrgetter("innovation"), cs), dtype=np.int64, count=len(cs)),
             "weight": floats(cs, "weight"),
             "enabled": np.fromiter(map(attrgetter("enabled"), cs), dtype=bool, count=len(cs))}
    return _batch([g.key for g in rows], [len(g.nodes) for g in rows], [len(g.connections) for g in rows],
                  nodes, conns, dtype, device)


def _codes(objs: list[Any], name: str, table: dict[str, int], check: Any) -> np.ndarray:
    codes = np.fromiter((table.get(v, -1) for v in map(attrgetter(name), objs)), dtype=np.int64, count=len(objs))
    if (codes < 0).any():
        check(getattr(objs[int(np.argmax(codes < 0))], name))   # raises, naming the function
    return codes


def _batch(gid: list[int], n_nodes: list[int], n_conns: list[int], nodes: dict[str, Any],
           conns: dict[str, Any], dtype: torch.dtype, device: torch.device | str | None) -> GenomeBatch:
    def t(values: Any, kind: torch.dtype) -> torch.Tensor:
        array = np.asarray(values, dtype=_NUMPY[kind])
        return torch.from_numpy(array.reshape(-1)).to(device=device, dtype=kind)

    node_t = {k: t(v, torch.float64 if k in ("bias", "response", "time_constant") else torch.int64)
              for k, v in nodes.items()}
    conn_t = {"conn_key": pack_key(t(conns["in"], torch.int64), t(conns["out"], torch.int64)),
              "innovation": t(conns["innovation"], torch.int64), "weight": t(conns["weight"], torch.float64),
              "enabled": t(conns["enabled"], torch.bool)}
    return GenomeBatch.from_ragged(t(gid, torch.int64), t(n_nodes, torch.int32), t(n_conns, torch.int32),
                                   node_t, conn_t, dtype=dtype)


def to_neat_python(batch: GenomeBatch, i: int, genome_config: Any, fitness: float | None = None) -> Any:
    """Row ``i`` as a ``DefaultGenome`` (gene dicts in slot order = sorted; innovations kept)."""
    row = _row_lists(batch, i)
    g = neat.DefaultGenome(row["gid"])
    for k, bias, response, tc, act, agg in zip(*(row[n] for n in ("node_id", "bias", "response",
                                                                  "time_constant", "activation", "aggregation"))):
        node = genome_config.node_gene_type(k)
        node.bias, node.response, node.time_constant = bias, response, tc
        node.activation, node.aggregation = ACTIVATION_NAMES[act], AGGREGATION_NAMES[agg]
        g.nodes[k] = node
    for a, b, innovation, weight, enabled in zip(row["in"], row["out"], row["innovation"], row["weight"],
                                                 row["enabled"]):
        c = genome_config.connection_gene_type((a, b), innovation=innovation)
        c.weight, c.enabled = weight, enabled
        g.connections[(a, b)] = c
    g.fitness = fitness
    return g


def _row_lists(batch: GenomeBatch, i: int) -> dict[str, Any]:
    one = batch[i]
    n, c = int(one.n_nodes[0]), int(one.n_conns[0])
    row: dict[str, Any] = {"gid": int(one.gid[0])}
    for name in ("node_id", "bias", "response", "time_constant", "activation", "aggregation"):
        row[name] = getattr(one, name)[0, :n].tolist()
    a, b = unpack_key(one.conn_key[0, :c])
    row.update({"in": a.tolist(), "out": b.tolist(), "innovation": one.innovation[0, :c].tolist(),
                "weight": one.weight[0, :c].tolist(), "enabled": one.enabled[0, :c].tolist()})
    return row


def genotype_to_data(batch: GenomeBatch, i: int, fitness: float | None = None) -> dict[str, Any]:
    """Row ``i`` in the JSON form of ``neat_state.genome_to_data`` (``best/genotype.json``'s ``genome``)."""
    row = _row_lists(batch, i)
    nodes = [[k, bias, response, ACTIVATION_NAMES[act], AGGREGATION_NAMES[agg], tc] for k, bias, response, act, agg, tc
             in zip(*(row[n] for n in ("node_id", "bias", "response", "activation", "aggregation", "time_constant")))]
    conns = [list(x) for x in zip(row["in"], row["out"], row["innovation"], row["weight"], row["enabled"])]
    return {"key": row["gid"], "fitness": fitness, "nodes": nodes, "connections": conns}


def genotype_from_data(data: Mapping[str, Any], *, dtype: torch.dtype = torch.float64,
                       device: torch.device | str | None = None) -> GenomeBatch:
    """A one-row batch from ``genotype_to_data``'s (or ``neat_state.genome_to_data``'s) JSON."""
    nodes: dict[str, list[Any]] = {"node_id": [], "bias": [], "response": [], "activation": [],
                                   "aggregation": [], "time_constant": []}
    for k, bias, response, act, agg, tc in data["nodes"]:
        for name, v in zip(nodes, (int(k), float(bias), float(response), activation_code(act),
                                   aggregation_code(agg), float(tc))):
            nodes[name].append(v)
    conns: dict[str, list[Any]] = {"in": [], "out": [], "innovation": [], "weight": [], "enabled": []}
    for a, b, innovation, weight, enabled in data["connections"]:
        for name, v in zip(conns, (int(a), int(b), int(innovation), float(weight), bool(enabled))):
            conns[name].append(v)
    return _batch([int(data["key"])], [len(data["nodes"])], [len(data["connections"])], nodes, conns, dtype, device)


#: what ``to_neat_python`` needs of a genome config when there is none at hand: neat-python's default gene types
DEFAULT_GENES = SimpleNamespace(node_gene_type=neat.genes.DefaultNodeGene,
                                connection_gene_type=neat.genes.DefaultConnectionGene)


def neat_genome(batch: GenomeBatch, i: int, fitness: float | None = None) -> Any:
    """Row ``i`` as a ``DefaultGenome`` with neat-python's default gene classes (drawing, export)."""
    return to_neat_python(batch, i, DEFAULT_GENES, fitness)


def as_genome_batch(genotypes: Any) -> GenomeBatch:
    """Decoder input as one ``GenomeBatch``: a batch as is, batches (one-row ones an observer collected)
    concatenated, or neat-python genomes converted losslessly (``float64``) for callers that hold them."""
    if isinstance(genotypes, GenomeBatch):
        return genotypes
    items = list(genotypes)
    if not items:
        raise ValueError("no genomes: a NEAT decoder needs at least one")
    if all(isinstance(g, GenomeBatch) for g in items):
        return GenomeBatch.cat(items)
    if any(isinstance(g, GenomeBatch) for g in items):
        raise TypeError("a mix of GenomeBatch rows and other genotypes cannot be decoded together")
    return from_neat_python(items)


def as_neat_genome(genotype: Any) -> Any:
    """One genome as a ``DefaultGenome`` (a one-row ``GenomeBatch`` converted; a neat-python genome as is):
    what drawings and exports of a single genome read."""
    if isinstance(genotype, GenomeBatch):
        if len(genotype) != 1:
            raise ValueError(f"one genome expected, got a batch of {len(genotype)}")
        return neat_genome(genotype, 0)
    return genotype
