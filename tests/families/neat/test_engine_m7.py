"""M7 speed paths (issue 22): each must give the very same genomes and draws as the path it shortcuts."""
from __future__ import annotations

import pytest
import torch


@pytest.mark.parametrize("variant", ["rich", "quiet", "asymmetric"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_whole_batch_attribute_kernels_equal_the_row_gather(variant, dtype, monkeypatch):
    """With ascending rows the padded kernels run on the whole batch (other rows masked off); forcing the
    gather of the rows instead gives equal genomes and draws, in place or not, for every attribute path."""
    from m3a_oracle import config, population
    from test_attributes import NO_STRUCTURE, RICH, VARIANTS

    from evohyper.families.neat import attributes as amod
    from evohyper.families.neat import convert
    from evohyper.families.neat.streams import Streams

    items = VARIANTS.get(variant, {"enabled_mutate_rate": 0.3, "enabled_rate_to_false_add": 0.2})
    _, cfg = config(**{**RICH, **NO_STRUCTURE, **items})
    _, genomes = population(5, 3)
    batch = convert.from_neat_python(genomes).to(dtype=dtype).ensure_capacity(30, 60)
    rows = torch.randperm(len(batch), generator=torch.Generator().manual_seed(2))[: len(batch) * 2 // 3]
    rows = rows.sort().values
    monkeypatch.setattr(amod, "DENSE_RATE", 0.0)
    monkeypatch.setattr(amod, "PADDED_RATIO", 1e9)  # every attribute on the padded rows
    used = []
    real = amod._ascending

    def spy(r):
        used.append(real(r))
        return used[-1]

    runs = []
    for whole in (True, False):
        monkeypatch.setattr(amod, "_ascending", spy if whole else (lambda r: False))
        streams = Streams(4, 2, record=True)
        out = amod.mutate_attributes(batch, rows, cfg, streams)
        again = amod.mutate_attributes(batch._replace(**{k: t.clone() for k, t in batch._tensors().items()}),
                                       rows, cfg, Streams(4, 2), inplace=True)
        assert out.equal(again)
        runs.append((out, streams.draws["attributes"]))
    assert used and all(used)  # the whole-batch path did run
    (a, da), (b, db) = runs
    a.check()
    assert not a.equal(batch)
    assert a.equal(b) and len(da) == len(db) and all(torch.equal(x, y) for x, y in zip(da, db))
    # the rows not mutated are untouched
    others = torch.ones(len(batch), dtype=torch.bool)
    others[rows] = False
    assert a[others.nonzero().squeeze(1)].equal(batch[others.nonzero().squeeze(1)])


def test_ascending():
    from evohyper.families.neat.attributes import _ascending

    assert _ascending(torch.tensor([], dtype=torch.int64)) and _ascending(torch.tensor([3]))
    assert _ascending(torch.tensor([0, 2, 5])) and not _ascending(torch.tensor([0, 2, 2]))
    assert not _ascending(torch.tensor([1, 0]))


def test_tell_tracks_the_best_as_before_with_and_without_non_finite_fitness():
    """``Strategy.tell``'s all-finite fast path and its general path pick the same best genotype."""
    from evohyper.api.strategy import Strategy

    class Toy(Strategy):
        def _ask(self):
            return torch.arange(12.0).view(6, 2)

        def _tell(self, fitness):
            self.told = fitness

    s = Toy(2, 0)
    s.ask()
    s.tell(torch.tensor([1.0, 3.0, 3.0, -1.0, 0.0, 2.0]))
    assert s.best_fitness == 3.0 and torch.equal(s.best_genotype, torch.tensor([2.0, 3.0]))
    assert torch.equal(s.told, torch.tensor([1.0, 3.0, 3.0, -1.0, 0.0, 2.0], dtype=torch.float64))
    s.ask()
    s.tell(torch.tensor([float("nan"), 5.0, float("inf"), 4.0, 0.0, 1.0]))
    assert s.best_fitness == 5.0 and torch.equal(s.best_genotype, torch.tensor([2.0, 3.0]))
    assert torch.isfinite(s.told).all() and s.told[0] < 0.0 and s.told[2] < 0.0
    s.ask()
    s.tell(torch.tensor([float("nan")] * 6))
    assert s.best_fitness == 5.0 and torch.isfinite(s.told).all()
