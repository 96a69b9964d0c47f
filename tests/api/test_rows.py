"""The RowBatch protocol and its registry: what lets backends and observers slice, ship and stack genotypes
that are not one tensor, without knowing their family."""
import pytest
import torch

from evohyper.api import rows
from evohyper.families.neat.genome import GenomeBatch
from evohyper.testing.neat_genomes import cppn_config, random_batch


@pytest.fixture(scope="module")
def batch():
    return random_batch(cppn_config(2, 1), 6, mutations=25, seed=1)


def test_genome_batch_is_the_registered_row_batch_neat_genomes(batch):
    assert rows.row_batches.get("neat-genomes") is GenomeBatch
    assert isinstance(batch, rows.RowBatch) and rows.is_row_batch(batch) and rows.kind_of(batch) == "neat-genomes"
    for other in (torch.zeros(3, 2), [1, 2], {"a": torch.zeros(1)}):
        assert not rows.is_row_batch(other)


def test_payload_round_trip_and_rows_by_int_slice_and_index(batch):
    payload = rows.to_payload(batch)
    assert set(payload) == {"__rows__", "arrays", "meta"} and payload["__rows__"] == "neat-genomes"
    assert all(isinstance(v, torch.Tensor) and v.shape[0] == len(batch) for v in payload["arrays"].values())
    assert rows.from_payload(payload).equal(batch)
    assert len(batch[2]) == 1 and batch[2].equal(batch[torch.tensor([2])])
    assert batch[1:4].equal(batch[[1, 2, 3]])
    assert [int(g.gid[0]) for g in batch] == batch.gid.tolist()   # iteration stops (one-row batches)
    assert rows.cat_rows([batch[4], batch[0]]).equal(batch[[4, 0]])


def test_unregistered_objects_are_refused_by_name():
    with pytest.raises(TypeError, match="not a registered row batch"):
        rows.to_payload(object())
    with pytest.raises(ValueError, match="missing array"):
        GenomeBatch.from_arrays({"gid": torch.zeros(1, dtype=torch.int64)}, {})
