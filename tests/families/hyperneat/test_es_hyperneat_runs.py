"""ES-HyperNEAT through the engine: pictures and `evohyper show`, kill -9 + resume bit-identical, Ray = local,
and the control task (an MLP target: inputs and outputs on two lines)."""
import json
import sys

import pytest
from run_helpers import kill_and_resume, write_config
from run_helpers import metric_rows as _rows

from evohyper.cli import main
from evohyper.config import apply_overrides, load_raw, validate
from evohyper.engine.runner import build_search, run
from evohyper.testing.states import same_data

CLI = [sys.executable, "-m", "evohyper.cli"]
SMALL = ["strategy.popsize=16", "output.progress=false", "output.tensorboard=false", "output.checkpoint_every=1",
         "output.keep_checkpoints=2", "decoder.max_depth=2", "decoder.initial_depth=1"]


def _config(tmp_path, name="es_hyperneat_visual", *overrides):
    raw = apply_overrides(load_raw(f"search_spaces/{name}.yaml"), [
        "backend.name=local", "budget.generations=3", f"output.runs_dir={tmp_path}", *SMALL, *overrides])
    return validate(raw)


def test_es_run_writes_cppn_and_substrate_pictures_and_show_lists_them(tmp_path, capsys):
    result, run_dir = run(_config(tmp_path))
    assert result.generations == 3
    best = json.loads((run_dir / "best" / "phenotype.json").read_text())
    assert best["phenotype"]["spec"]["kind"] == "ESNetworkSpec" and "hidden_nodes" in best["phenotype"]
    assert sorted(best["pictures"]) == ["best/cppn.png", "best/substrate.png"]
    assert main(["show", str(run_dir)]) == 0
    shown = capsys.readouterr().out
    assert "substrate.png" in shown and "cppn.png" in shown


def test_es_on_cart_pole_runs_the_mlp_interface(tmp_path):
    result, run_dir = run(_config(tmp_path, "es_hyperneat_cartpole", "budget.generations=2",
                                  "strategy.compatibility_threshold=30"))   # one species: 16 genomes spawn it
    assert result.generations in (1, 2)   # the target (500) can be reached in the first generation
    best = json.loads((run_dir / "best" / "phenotype.json").read_text())
    assert best["decoder"]["layout"] == "plane" and best["phenotype"]["spec"]["num_inputs"] == 4


def _cli_config(tmp_path, name):
    raw = apply_overrides(load_raw("search_spaces/es_hyperneat_visual.yaml"), [
        "backend.name=local", "budget.generations=8", f"output.runs_dir={tmp_path / 'runs'}", f"name={name}",
        *SMALL])
    return write_config(tmp_path, raw)


def test_es_sigkill_and_resume_is_bit_identical(tmp_path):
    ref_dir, run_dir, a, b = kill_and_resume(tmp_path, _cli_config, kill_after=3, generations=8)
    assert a["counters"]["generation"] == b["counters"]["generation"] == 8
    assert _rows(ref_dir) == _rows(run_dir)                           # every generation's fitness statistics
    assert a["strategy"].keys() == b["strategy"].keys()
    for key in a["strategy"]:                                          # population, species, counters, ...
        assert same_data(a["strategy"][key], b["strategy"][key]), key
    assert (ref_dir / "best" / "weights.pt").read_bytes() == (run_dir / "best" / "weights.pt").read_bytes()


@pytest.mark.ray
def test_es_on_ray_matches_local(tmp_path, ray_local):
    local = build_search(_config(tmp_path), None)
    remote = build_search(_config(tmp_path, "es_hyperneat_visual", "backend.name=ray", "backend.num_actors=2"), None)
    try:
        for _ in range(3):
            a, b = local.step(), remote.step()
            assert b.evaluations == a.evaluations
            assert b.best == pytest.approx(a.best, rel=1e-6) and b.mean == pytest.approx(a.mean, rel=1e-6)
        assert same_data(local.strategy.state_dict()["population"], remote.strategy.state_dict()["population"])
    finally:
        local.backend.close()
        remote.backend.close()
