"""The circuit_design task: contract, metrics (exact / kinds-only / response-equivalent), decoder, config."""
import pytest
import torch

from evohyper.config import validate
from evohyper.config.options import ConfigError
from evohyper.families.circuits.decoder import CircuitDecoder
from evohyper.families.circuits.phenotypes import CircuitPhenotypes, CircuitSpec
from evohyper.families.circuits.simulator import EMPTY
from evohyper.testing import TaskContract
from evohyper_tasks.circuit_design import CircuitDesignTask


class TestCircuitDesignContract(TaskContract):
    def make_task(self):
        return CircuitDesignTask(target_length=5, target_index=3)


def ready(**kw):
    task = CircuitDesignTask(**kw)
    task.setup("cpu")
    return task


def test_target_itself_scores_zero_and_all_matches():
    task = ready(target_length=7, target_index=2)
    t = task.target_circuit()
    r = task.evaluate(CircuitPhenotypes.from_circuits(t["kinds"], t["values"]), seed=0)
    assert float(r.fitness[0]) < 1e-12
    assert all(float(r.metrics[m][0]) == 1.0 for m in ("exact", "kinds_match", "equivalent"))


def test_equivalent_rearrangement_is_exact_and_a_wrong_value_is_kinds_only():
    task = ready(target_length=8, target_index=0)
    t = task.target_circuit()
    kinds, values = t["kinds"].clone(), t["values"].clone()
    # a provably equivalent variant: an empty slot inserted at the front
    k2 = torch.cat([torch.tensor([[EMPTY]]), kinds[:, :-1]], 1)
    v2 = torch.cat([torch.ones(1, 1, dtype=torch.float64), values[:, :-1]], 1)
    # a different value on the first component (two E12 steps): kinds match, values do not
    v3 = values.clone()
    v3[0, 0] *= 1.5
    ph = CircuitPhenotypes.from_circuits(torch.cat([k2, kinds]), torch.cat([v2, v3]))
    r = task.evaluate(ph, seed=0)
    assert r.metrics["exact"].tolist() == [1.0, 0.0]
    assert r.metrics["kinds_match"].tolist() == [1.0, 1.0]
    assert r.metrics["equivalent"][0] == 1.0 and float(r.fitness[0]) < 1e-12 and float(r.fitness[1]) > 1e-4


def test_targets_come_from_the_fixed_dataset_and_differ_by_index():
    a, b, c = ready(target_index=0), ready(target_index=0), ready(target_index=1)
    assert torch.equal(a.target_circuit()["response"], b.target_circuit()["response"])
    assert not torch.equal(a.target_circuit()["kinds"], c.target_circuit()["kinds"]) or \
        not torch.equal(a.target_circuit()["values"], c.target_circuit()["values"])


@pytest.mark.parametrize(
    "option,value,match",
    [
        ("target_length", 3, "target_length"),
        ("target_length", 11, "target_length"),
        ("target_index", -1, "target_index"),
        ("split", "dev", "split"),
        ("equivalence_tol", 0.0, "equivalence_tol"),
    ],
)
def test_bad_options_are_refused_by_name(option, value, match):
    with pytest.raises(ValueError, match=match):
        CircuitDesignTask(**{option: value})


def test_decoder_builds_e12_circuits_from_genes():
    dec = CircuitDecoder(CircuitSpec(10), min_length=4)
    genes = torch.zeros((2, 21), dtype=torch.long)
    genes[:, 0] = torch.tensor([4, 10])
    genes[:, 1::2] = 3
    genes[:, 2::2] = 12  # 1 kOhm
    ph = dec.decode(genes)
    assert (ph.kinds[0, 4:] == EMPTY).all() and (ph.kinds[1] == 3).all()
    assert torch.allclose(ph.values[1], torch.full((10,), 1e3, dtype=torch.float64))
    with pytest.raises(ValueError, match="min_length"):
        CircuitDecoder(CircuitSpec(10), min_length=11)


def config(**over):
    raw = {
        "name": "c",
        "seed": 0,
        "task": {"name": "circuit_design", "target_length": 4},
        "decoder": {"name": "circuit"},
        "strategy": {"name": "circuit_ga", "popsize": 20},
        "budget": {"generations": 3},
        "backend": {"name": "local"},
    }
    raw.update(over)
    return raw


def test_config_validation_names_the_bad_key():
    validate(config())
    with pytest.raises(ConfigError, match=r"task.*target_length"):
        validate(config(task={"name": "circuit_design", "target_length": 12}))
    with pytest.raises(ConfigError, match="decoder"):
        validate(config(decoder={"name": "circuit", "min_length": 0}))


def test_the_task_declares_its_target_response_and_the_spec_describes_as_json():
    import json

    task = ready(target_length=6, target_index=4)
    spec = task.target({})
    assert torch.equal(spec.target_response, task.target_circuit()["response"][0])
    assert json.loads(json.dumps(spec.describe())) == {"kind": "CircuitSpec", "max_length": 10,
                                                        "target_response": [2, 64]}
