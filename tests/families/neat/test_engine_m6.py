"""M6: ``keep_freed_memory`` (glibc ``mallopt`` for a CPU engine) is set once per process, can be turned off, and
changes no result (the bit-identity of whole runs is checked by ``benchmarks/check_identical.py``)."""
from __future__ import annotations

import torch

from evohyper.families.neat import batched_engine
from evohyper.families.neat.batched_engine import BatchedEngine, keep_freed_memory


def test_keep_freed_memory_once_and_off_switch(monkeypatch):
    monkeypatch.setattr(batched_engine, "_MALLOPT_DONE", [])
    monkeypatch.setenv("EVOHYPER_NEAT_MALLOPT", "0")
    assert keep_freed_memory() is False
    monkeypatch.setenv("EVOHYPER_NEAT_MALLOPT", "1")
    assert keep_freed_memory() is False  # decided once per process
    monkeypatch.setattr(batched_engine, "_MALLOPT_DONE", [])
    first = keep_freed_memory()
    assert isinstance(first, bool) and keep_freed_memory() is first


def test_engine_runs_the_same_with_and_without(monkeypatch):
    from m2_populations import Run
    cfg = Run("xor", 1, 30).cfg

    def run() -> dict:
        eng = BatchedEngine(cfg, 5)
        for g in range(4):
            pop = eng.ask()
            eng.tell(torch.randn(len(pop), dtype=torch.float64, generator=torch.Generator().manual_seed(g)))
        return eng.state_dict()

    monkeypatch.setattr(batched_engine, "_MALLOPT_DONE", [])
    monkeypatch.setenv("EVOHYPER_NEAT_MALLOPT", "0")
    a = run()
    monkeypatch.setattr(batched_engine, "_MALLOPT_DONE", [])
    monkeypatch.setenv("EVOHYPER_NEAT_MALLOPT", "1")
    b = run()
    assert torch.equal(a["population"]["conn.weight"], b["population"]["conn.weight"])
    assert torch.equal(a["species_of"], b["species_of"])
