"""State of the batched NEAT engine (docs/neat_engine.md, 5.5): ``state_dict`` round trips through the
checkpoint's own files (JSON + tensors, ``torch.load(weights_only=True)``) at generations 0, 1 and 7 and the
run continues bit for bit; the state is per gene, not per padded slot nor per generation; the padded widths
never change a run; extinction with and without ``reset_on_extinction``; a checkpoint of one engine is
refused by the other, naming ``strategy.engine``."""
from __future__ import annotations

import io
import subprocess
import sys

import pytest
import torch
from batched_helpers import (
    SMALL,
    assert_same_batch,
    assert_same_engine,
    continue_together,
    fitness_of,
    generations,
    genes,
    same_data,
    strategy,
)

from evohyper.engine.checkpoint import load_state, save_state
from evohyper.families.neat.batched_engine import BatchedEngine
from evohyper.families.neat.config import from_text
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.initial import initial_population
from evohyper.families.neat.streams import Streams

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CLI = [sys.executable, "-m", "evohyper.cli"]


def _engine(seed: int = 0, **options) -> BatchedEngine:
    s = strategy(seed, **options)
    return BatchedEngine(from_text(s.ini_text), seed, dtype=s.dtype)


def _round_trip(state: dict) -> dict:
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


@pytest.mark.parametrize("n", [0, 1, 7])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_engine_state_round_trip_continues_bit_identically(n, dtype):
    """Generation 0 is the started engine (initial population speciated, nothing told yet)."""
    a = _engine(3)
    a.dtype = dtype
    a.start()
    for _ in range(n):
        a.tell(fitness_of(a.population))
    b = BatchedEngine(a.cfg, 3, dtype=dtype)
    b.load_state_dict(_round_trip(a.state_dict()))
    assert_same_engine(a, b)
    assert a.population.dtype == dtype
    for _ in range(3):  # the next generations: same children, species and counters
        a.tell(fitness_of(a.population))
        b.tell(fitness_of(b.population))
        assert_same_engine(a, b)


@pytest.mark.parametrize("n", [0, 1, 7])
def test_strategy_checkpoint_round_trip_continues_bit_identically(n, tmp_path):
    """Through ``engine/checkpoint.py``'s save_state/load_state, as a run's checkpoint; at 0 nothing was asked."""
    a = generations(strategy(5), n)
    state = load_state(save_state(a.state_dict(), tmp_path / "c.pt"))
    assert state["kind"] == "neat" and state["engine"] == "batched" and state["generation"] == n
    b = strategy(5)
    b.load_state_dict(state)
    assert (b.generation, b.best_fitness) == (a.generation, a.best_fitness)
    if n:
        assert_same_engine(a._engine, b._engine)
        assert_same_batch(a.best_genotype, b.best_genotype)   # same dtype too: the engine's, not float64
    continue_together(a, b)
    assert same_data(a.state_dict(), b.state_dict())


def test_state_is_explicit_per_gene_data():
    """Tensors sized by genes (ragged), no generator state, species table of S rows, counters as ints."""
    s = generations(strategy(1), 6)
    state, pop = s.state_dict(), s._engine.population
    p = state["population"]
    assert p["gid"].shape == (len(pop),) and p["node.node_id"].numel() == int(pop.n_nodes.sum())
    assert p["conn.conn_key"].numel() == int(pop.n_conns.sum())
    assert all(t.dim() == 1 for t in p.values())
    assert all(v.shape == (s.species_count,) for v in state["species"].values())
    assert state["species_of"].shape == (len(pop),)
    assert not any("rng" in k or "generator" in k for k in state)
    assert set(state["counters"]) == {"next_node_id", "innovation", "next_gid", "next_sid"}


def test_state_bytes_per_gene_stay_constant():
    """The population's tensors hold exactly the live genes (bytes = genes x bytes of a gene + genomes x their
    counts, whatever the widths), and the saved state per gene does not grow from generation 3 to 43 (the
    contract's criterion: within 5 % plus 512 bytes): nothing in it grows with the generations but genes."""
    def size(s):
        buf = io.BytesIO()
        torch.save(s.state_dict(), buf)
        return buf.tell()

    s = strategy(2, popsize=60, max_stagnation=15)
    seen = []
    for n in (3, 40):
        generations(s, n)
        pop = s._engine.population
        p = s.state_dict()["population"]
        node_bytes = 4 + 3 * pop.dtype.itemsize + 1 + 1      # id, bias/response/time constant, activation, aggregation
        conn_bytes = 8 + 8 + pop.dtype.itemsize + 1            # key, innovation, weight, enabled
        want = int(pop.n_nodes.sum()) * node_bytes + int(pop.n_conns.sum()) * conn_bytes + len(pop) * (8 + 4 + 4)
        assert sum(t.numel() * t.element_size() for t in p.values()) == want
        best = s.best_genotype
        seen.append((size(s), genes(pop) + int(best.n_nodes[0] + best.n_conns[0])))
    (small, g0), (large, g1) = seen
    assert g1 > g0 * 1.2, seen          # the genomes did grow
    assert large / g1 <= small / g0 * 1.05 + 512 / g1, seen


@pytest.mark.parametrize("widths", [(64, 256), (512, 4096)])
def test_wide_population_runs_as_the_narrow_one_for_ten_generations(widths):
    """Capacity never changes a run: before every generation one engine's population is padded to wide widths,
    the other's trimmed to the narrowest; populations, species, counters and the saved state agree bit for bit."""
    wide, narrow = _engine(7, conn_add_prob=0.8, node_add_prob=0.5), _engine(7, conn_add_prob=0.8,
                                                                             node_add_prob=0.5)
    wide.start(), narrow.start()
    for _ in range(10):
        wide.population = wide.population.with_widths(max(widths[0], wide.population.node_width),
                                                      max(widths[1], wide.population.conn_width))
        narrow.population = narrow.population.trim()
        assert same_data(wide.state_dict(), narrow.state_dict())
        wide.tell(fitness_of(wide.population))
        narrow.tell(fitness_of(narrow.population))
        assert_same_engine(wide, narrow)
    assert narrow.generation == 10 and int(narrow.population.n_nodes.max()) > 2


def _until_extinct(s, limit=60):
    """Constant fitness: no species ever improves again, so all stagnate (species_elitism 0) and die. Returns,
    once a generation started afresh (no species survived), the counters and generation before it."""
    for _ in range(limit):
        s.ask()
        eng = s._engine
        old, before, generation = eng.table.sid, Counters.from_state(eng.counters.state()), eng.generation
        s.tell(torch.zeros(s.popsize, dtype=torch.float64))
        if int(eng.table.sid.min()) > int(old.max()):
            return before, generation
    raise AssertionError("no extinction within the limit")


EXTINCT = dict(max_stagnation=1, species_elitism=0, elitism=0, popsize=20)


def test_extinction_with_reset_starts_a_fresh_population_and_continues():
    """neat's create_new(pop_size) then speciate: the initial population of that generation's init stream,
    genome and node ids continuing, every species new."""
    s = strategy(4, reset_on_extinction=True, **EXTINCT)
    generations(s, 1)
    counters, generation = _until_extinct(s)
    eng = s._engine
    expected = initial_population(eng.cfg, 20, Streams(4, generation + 1), counters, dtype=s.dtype)
    assert_same_batch(eng.population, expected)
    assert int(expected.gid.min()) >= 20      # genome ids continue
    # the engine's counters moved exactly as initial_population moved the copy (and speciation the species ids)
    assert eng.counters.state() == {**counters.state(), "next_sid": eng.counters.next_sid}
    assert bool((eng.table.created == generation).all()) and int(eng.species_of.max()) < eng.species_count
    assert eng.generation == generation + 1
    generations(s, 3)   # and the run goes on
    assert s._engine.generation == generation + 4


@pytest.mark.parametrize("engine", ["batched", "neat-python"])
def test_extinction_without_reset_is_one_line_naming_reset_on_extinction(engine):
    s = strategy(4, reset_on_extinction=False, **EXTINCT, engine=engine)
    with pytest.raises(ValueError, match=r"strategy\.reset_on_extinction") as err:
        for _ in range(60):
            s.ask()
            s.tell(torch.zeros(s.popsize, dtype=torch.float64))
    assert "\n" not in str(err.value) and "extinct" in str(err.value)


def test_cli_reports_extinction_in_one_line_without_traceback(tmp_path):
    import yaml

    # identical genomes (no initial spread, no mutation): one species whose fitness never changes, so it
    # stagnates after max_stagnation generations and the population goes extinct
    frozen = dict(weight_init_stdev=0.0, bias_init_stdev=0.0, node_add_prob=0.0, conn_add_prob=0.0,
                  node_delete_prob=0.0, conn_delete_prob=0.0, weight_mutate_rate=0.0, bias_mutate_rate=0.0,
                  weight_replace_rate=0.0, enabled_mutate_rate=0.0, activation_mutate_rate=0.0)
    raw = {"name": "extinct", "seed": 0, "task": {"name": "xor"}, "decoder": {"name": "neat"},
           "strategy": {"name": "neat", "engine": "batched", "reset_on_extinction": False, **EXTINCT, **frozen},
           "budget": {"generations": 60}, "backend": {"name": "local"},
           "output": {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False}}
    path = tmp_path / "extinct.yaml"
    path.write_text(yaml.safe_dump(raw))
    res = subprocess.run([*CLI, "run", str(path)], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert "Traceback" not in res.stderr and len(lines) == 1 and "reset_on_extinction" in lines[0], res.stderr


@pytest.mark.parametrize("writer,reader", [("batched", "neat-python"), ("neat-python", "batched")])
def test_checkpoint_of_one_engine_is_refused_by_the_other_naming_strategy_engine(writer, reader, tmp_path):
    options = {k: v for k, v in SMALL.items() if k != "engine"}
    a = generations(strategy(0, **{**options, "engine": writer}), 2)
    state = load_state(save_state(a.state_dict(), tmp_path / "c.pt"))
    b = strategy(0, **{**options, "engine": reader})
    with pytest.raises(ValueError, match=r"strategy\.engine") as err:
        b.load_state_dict(state)
    assert writer in str(err.value) and "\n" not in str(err.value)
    generations(b, 1)   # refused before anything was loaded: the strategy still works from scratch


def test_resume_of_a_run_whose_config_names_the_other_engine_is_refused(tmp_path):
    """The CLI path: a run's config edited to the other engine cannot resume its checkpoints (each one is
    skipped with a line naming strategy.engine, then no valid checkpoint: exit 1, no traceback)."""
    import yaml
    from run_helpers import run_dir_of

    raw = {"name": "engines", "seed": 0, "task": {"name": "xor"}, "decoder": {"name": "neat"},
           "strategy": {"name": "neat", "engine": "neat-python", "popsize": 20},
           "budget": {"generations": 2}, "backend": {"name": "local"},
           "output": {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False,
                      "checkpoint_every": 1}}
    path = tmp_path / "engines.yaml"
    path.write_text(yaml.safe_dump(raw))
    subprocess.run([*CLI, "run", str(path)], check=True, capture_output=True, timeout=300)
    run_dir = run_dir_of(tmp_path, "engines")
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    cfg["strategy"]["engine"] = "batched"
    cfg["budget"]["generations"] = 4
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = subprocess.run([*CLI, "resume", str(run_dir)], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "strategy.engine" in res.stderr, res.stderr


def test_a_state_loads_onto_a_fresh_engine_only():
    a = generations(strategy(0), 2)
    b = generations(strategy(0), 1)
    with pytest.raises(RuntimeError, match="freshly constructed"):
        b.load_state_dict(a.state_dict())
    engine = BatchedEngine(a._engine.cfg, 0)
    with pytest.raises(ValueError, match="batched NEAT engine state"):
        engine.load_state_dict({"kind": "neat", "engine": "neat-python"})


def test_default_dtype_is_float64_the_configuration_the_parity_study_holds_for():
    from evohyper.families.neat.strategy import DEFAULT_DTYPE

    options = {k: v for k, v in SMALL.items() if k != "dtype"}
    s = generations(strategy(0, **options), 1)
    assert DEFAULT_DTYPE == "float64" and s.dtype == torch.float64 and s._engine.population.dtype == torch.float64
    assert s.state_dict()["dtype"] == "float64"


@pytest.mark.parametrize("with_key", [True, False])
def test_a_checkpoint_resumes_in_its_own_dtype_when_dtype_is_null(with_key, tmp_path):
    """A float32 run resumed with ``dtype`` null (whose default is float64) stays float32 and continues bit for bit,
    also from a state written before the ``dtype`` key existed (its gene tensors say it)."""
    options = {k: v for k, v in SMALL.items() if k != "dtype"}
    a = generations(strategy(4, **options, dtype="float32"), 3)
    state = load_state(save_state(a.state_dict(), tmp_path / "c.pt"))
    if not with_key:
        del state["dtype"]
    b = strategy(4, **options)
    b.load_state_dict(state)
    assert b.dtype == torch.float32
    continue_together(a, b)


def test_a_checkpoint_refuses_an_explicit_other_dtype_naming_strategy_dtype(tmp_path):
    options = {k: v for k, v in SMALL.items() if k != "dtype"}
    state = load_state(save_state(generations(strategy(0, **options, dtype="float32"), 2).state_dict(),
                                  tmp_path / "c.pt"))
    b = strategy(0, **options, dtype="float64")
    with pytest.raises(ValueError, match=r"strategy\.dtype") as err:
        b.load_state_dict(state)
    assert "float32" in str(err.value) and "\n" not in str(err.value)
