"""Invariants of the batched NEAT engine over whole runs (docs/neat_engine.md, 4.3 test_cycles, gpu marker):
every feed-forward genome of 50 generations at high add rates is acyclic (networkx) and canonical (``check``,
unique node ids, outputs first, links only between genes of the genome); an (in, out) added several times
in one generation gets one innovation number; on CUDA one generation at P = 1,000 and 10,000 runs, is
deterministic and resumes bit for bit, and the decoders equal the CPU's."""
from __future__ import annotations

import io
import os

import networkx as nx
import pytest
import torch
from batched_helpers import assert_same_engine, fitness_of, strategy

from evohyper.api.decoder import DecoderInfo
from evohyper.families.neat.batched_engine import BatchedEngine
from evohyper.families.neat.config import from_text
from evohyper.families.neat.genome import GenomeBatch

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS under deterministic algorithms (gpu tests)
pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: XOR's shape with every structural operator firing often
GROWING = dict(popsize=100, num_inputs=2, num_outputs=1, node_add_prob=0.6, conn_add_prob=0.8,
               node_delete_prob=0.1, conn_delete_prob=0.2, compatibility_threshold=3.0, max_stagnation=20,
               enabled_mutate_rate=0.1)


def _engine(seed: int, device: str = "cpu", feed_forward: bool = True, **options) -> BatchedEngine:
    """An engine of the strategy's configuration (inputs, outputs and feed_forward bound as a decoder would)."""
    n_in, n_out = options.pop("num_inputs", 2), options.pop("num_outputs", 1)
    s = strategy(seed, **options, num_inputs=None, num_outputs=None)
    s.bind(DecoderInfo(genotype="neat", genome_inputs=n_in, genome_outputs=n_out, genome_feed_forward=feed_forward))
    return BatchedEngine(from_text(s.ini_text), seed, device=device, dtype=s.dtype)


def _assert_genomes_well_formed(pop: GenomeBatch, n_in: int, n_out: int, feed_forward: bool) -> None:
    pop.check()   # live genes strictly ascending (so node ids and keys unique per genome), padding canonical
    nodes, conns = pop.node_id.tolist(), pop.conn_key
    ins, outs = pop.conn_in.tolist(), pop.conn_out.tolist()
    assert bool((pop.node_id[:, :n_out] == torch.arange(n_out, dtype=torch.int32)).all())   # outputs first
    for r in range(len(pop)):
        ids = set(nodes[r][:int(pop.n_nodes[r])])
        k = int(pop.n_conns[r])
        edges = list(zip(ins[r][:k], outs[r][:k]))
        assert all(o in ids for _, o in edges), f"genome {r}: a link into a missing node or an input"
        assert all(i in ids or -n_in <= i < 0 for i, _ in edges), f"genome {r}: a link from a missing node"
        if feed_forward:
            graph = nx.DiGraph(edges)
            assert nx.is_directed_acyclic_graph(graph), f"genome {r}: cycle {nx.find_cycle(graph)}"
    assert len(set(conns[pop.conn_live].tolist())) <= int(pop.n_conns.sum())


def test_fifty_feed_forward_generations_stay_acyclic_and_canonical():
    """Every generation's population, on all connection genes (disabled ones too: neat's cycle test reads them)."""
    eng = _engine(11, **GROWING)
    eng.start()
    sizes = []
    for _ in range(50):
        eng.tell(fitness_of(eng.population))
        _assert_genomes_well_formed(eng.population, 2, 1, feed_forward=True)
        sizes.append(int(eng.population.n_nodes.max()))
    assert sizes[-1] >= 8, sizes              # the genomes did grow: hidden nodes on hidden nodes


def test_recurrent_generations_keep_genomes_well_formed():
    eng = _engine(12, feed_forward=False, **{**GROWING, "popsize": 60})
    assert not eng.cfg.feed_forward
    eng.start()
    cyclic = 0
    for _ in range(15):
        eng.tell(fitness_of(eng.population))
        _assert_genomes_well_formed(eng.population, 2, 1, feed_forward=False)
        pop = eng.population
        cyclic += sum(not nx.is_directed_acyclic_graph(nx.DiGraph(list(zip(i[:k], o[:k]))))
                      for i, o, k in zip(pop.conn_in.tolist(), pop.conn_out.tolist(), pop.n_conns.tolist()))
    assert cyclic > 0     # recurrent genomes do form cycles (self-loops at least): the test can see them


def test_one_innovation_number_per_connection_added_in_a_generation():
    """Within every generation the new genes (innovation numbers above the counter before it) number each
    (in, out) key once; across the whole population an innovation number always names one key; and some
    keys were added by several genomes in one generation, so the sharing is exercised."""
    eng = _engine(13, **{**GROWING, "popsize": 150, "node_add_prob": 0.2, "conn_add_prob": 0.9})
    eng.start()
    shared = 0
    for _ in range(20):
        before = eng.counters.innovation
        eng.tell(fitness_of(eng.population))
        pop = eng.population
        live = pop.conn_live
        keys, inno = pop.conn_key[live], pop.innovation[live]
        new = inno > before
        key_of: dict[int, int] = {}
        for k, i in zip(keys.tolist(), inno.tolist()):
            assert key_of.setdefault(i, k) == k, f"innovation {i} names two keys"
        number_of: dict[int, int] = {}
        owners: dict[int, set[int]] = {}
        rows = torch.nonzero(live)[:, 0][new].tolist()
        for k, i, r in zip(keys[new].tolist(), inno[new].tolist(), rows):
            assert number_of.setdefault(k, i) == i, f"key {k} got two numbers in one generation"
            owners.setdefault(k, set()).add(r)
        shared += sum(len(o) > 1 for o in owners.values())
        assert eng.counters.innovation >= max(inno.tolist())
    assert shared > 0


# ------------------------------------------------------------------------------------------------ CUDA
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture
def deterministic():
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(before)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("popsize", [1_000, 10_000])
def test_cuda_generation_runs_is_deterministic_and_resumes_bit_identically(popsize, deterministic):
    options = dict(GROWING, popsize=popsize, compatibility_threshold=2.0)
    a, b = _engine(21, "cuda", **options), _engine(21, "cuda", **options)
    a.start(), b.start()
    assert a.population.device.type == "cuda" and a.table.sid.device.type == "cuda"
    assert_same_engine(a, b)
    for _ in range(2):
        f = fitness_of(a.population)
        a.tell(f), b.tell(f)
        assert_same_engine(a, b)                       # twice the same run
    assert len(a.population) == popsize and a.population.device.type == "cuda"
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    c = BatchedEngine(a.cfg, 21, device="cuda", dtype=a.dtype)
    c.load_state_dict(torch.load(buf, weights_only=True))
    assert_same_engine(a, c)
    f = fitness_of(a.population)
    a.tell(f), c.tell(f)
    assert_same_engine(a, c)                           # resumed: the next generation bit for bit
    if popsize <= 1_000:
        _assert_genomes_well_formed(a.population.to("cpu"), 2, 1, feed_forward=True)


@pytest.mark.gpu
@cuda
def test_cuda_state_continues_validly_on_cpu():
    """A state moves across devices (section 5.5): the run continues validly, not identically (Philox vs mt19937)."""
    a = _engine(22, "cuda", **GROWING)
    a.start()
    a.tell(fitness_of(a.population))
    b = BatchedEngine(a.cfg, 22, device="cpu", dtype=a.dtype)
    b.load_state_dict(a.state_dict())
    assert b.population.equal(a.population.to("cpu"))
    for _ in range(3):
        b.tell(fitness_of(b.population))
        _assert_genomes_well_formed(b.population, 2, 1, feed_forward=True)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("recurrent", [False, True])
def test_cuda_decoders_equal_cpu_on_batched_populations(recurrent):
    from evohyper.families.hyperneat import HyperNEATDecoder
    from evohyper.families.hyperneat.substrate import SubstrateSpec, sandwich
    from evohyper.families.neat.compile import compile_networks

    eng = _engine(23, feed_forward=not recurrent, **{**GROWING, "popsize": 200})
    eng.start()
    for _ in range(10):
        eng.tell(fitness_of(eng.population))
    pop = eng.population
    x = torch.rand(64, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1
    nets = {d: compile_networks(pop, 2, 1, recurrent=recurrent, device=d) for d in ("cpu", "cuda")}
    if recurrent:
        out = {}
        for d, net in nets.items():
            state = net.initial_state(64)
            out[d] = torch.stack([net.step(x.to(d), state) for _ in range(4)]).cpu()
    else:
        out = {d: net.query(x.to(d)).cpu() for d, net in nets.items()}
    torch.testing.assert_close(out["cuda"], out["cpu"], rtol=1e-5, atol=1e-5)
    if not recurrent:      # HyperNEAT: the decoder's own CPPNs (5 inputs, 1 output), evolved by the batched engine
        decoder = HyperNEATDecoder(SubstrateSpec(sandwich([3, 2])))
        s = strategy(24, popsize=100, num_inputs=None, num_outputs=None, node_add_prob=0.5, conn_add_prob=0.5)
        s.bind(decoder.info())
        for _ in range(8):
            s.tell(fitness_of(s.ask()))
        cppns = s.ask()
        a, b = decoder.decode(cppns, device="cpu"), decoder.decode(cppns.to("cuda"), device="cuda")
        for name, t in a.tensors.items():
            torch.testing.assert_close(b.tensors[name].cpu(), t, rtol=1e-5, atol=1e-5)
