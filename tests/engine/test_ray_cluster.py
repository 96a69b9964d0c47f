"""The Ray cluster-launcher config, and tests that need a Ray instance of their own (run in a subprocess,
so they never collide with the session's shared local Ray)."""
from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CLUSTER_YAML = ROOT / "ray_cluster.yaml"


def _load() -> dict:
    return yaml.safe_load(CLUSTER_YAML.read_text())


def _ray_validate(config: dict) -> None:
    """What `ray up` does before touching a cloud: fill Ray's defaults, then check Ray's JSON schema."""
    pytest.importorskip("jsonschema")
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(config)))


def _run(script: str, timeout: int = 240) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                         timeout=timeout, cwd=str(ROOT))
    assert out.returncode == 0 and "OK" in out.stdout, (
        f"rc={out.returncode}\n--- stdout\n{out.stdout[-4000:]}\n--- stderr\n{out.stderr[-4000:]}")
    return out.stdout


# ----------------------------------------------------------------------------- ray_cluster.yaml
def test_cluster_yaml_passes_rays_schema_validation():
    _ray_validate(_load())


def test_schema_validation_catches_a_broken_config():
    """Guards the test above: the validator really rejects bad configs."""
    jsonschema = pytest.importorskip("jsonschema")

    bad = _load()
    bad["max_workers"] = "four"
    with pytest.raises(jsonschema.ValidationError):
        _ray_validate(bad)
    bad = _load()
    bad["available_node_types"]["head_cpu"]["unexpected_field"] = 1
    with pytest.raises(jsonschema.ValidationError):
        _ray_validate(bad)
    bad = _load()
    bad["head_node_type"] = "no_such_type"
    with pytest.raises(ValueError):
        _ray_validate(bad)


def test_cluster_yaml_describes_an_evohyper_gpu_cluster():
    cfg = _load()
    types = cfg["available_node_types"]
    head = types[cfg["head_node_type"]]
    assert head["resources"].get("GPU", 0) == 0
    gpu_workers = [n for n, t in types.items() if n != cfg["head_node_type"] and t["resources"].get("GPU", 0) > 0]
    assert gpu_workers, "needs a GPU worker node type"
    # the repository (package, tasks/, search_spaces/) is synced and installed on every node
    mounts = cfg["file_mounts"]
    repo_dest = next(dest for dest, src in mounts.items() if Path(src) == Path("."))
    assert (ROOT / "search_spaces").is_dir() and (ROOT / "evohyper").is_dir()
    assert not any("search_spaces" in p for p in cfg.get("rsync_exclude", []))
    assert any("pip install" in c and repo_dest in c for c in cfg["setup_commands"])
    # safe defaults: dashboard never on a public interface, token auth on
    head_cmds = " ".join(cfg["head_start_ray_commands"])
    assert "--dashboard-host=0.0.0.0" not in head_cmds
    assert "--dashboard-host=127.0.0.1" in head_cmds or "--include-dashboard=false" in head_cmds
    assert "RAY_AUTH_MODE=token" in head_cmds and "RAY_AUTH_MODE=token" in " ".join(cfg["worker_start_ray_commands"])


# ----------------------------------------------------------------------------- own Ray instances
@pytest.mark.ray
def test_local_ray_started_by_the_backend_binds_loopback_and_is_shut_down():
    _run(f"""
        import sys, torch, ray
        sys.path.insert(0, {str(HERE)!r})
        from evohyper.config import ComponentsSpec
        from evohyper.engine.backends.ray import RayBackend
        spec = ComponentsSpec(task={{"name": "raytest_sphere", "dim": 3}}, decoder={{"name": "direct"}})
        b = RayBackend(spec, num_actors=1, num_cpus_per_actor=0.5, num_cpus=1,
                       preload_modules=["ray_test_tasks"], sys_path=[{str(HERE)!r}])
        assert ray.is_initialized()
        addrs = {{n["NodeManagerAddress"] for n in ray.nodes()}}
        assert addrs == {{"127.0.0.1"}}, addrs
        gcs = ray.get_runtime_context().gcs_address
        assert gcs.startswith("127.0.0.1:"), gcs
        assert b.evaluate(torch.ones(2, 3), 0).fitness.tolist() == [-3.0, -3.0]
        b.close()
        assert not ray.is_initialized(), "the backend started Ray, so close() must shut it down"
        print("OK")
    """)


@pytest.mark.ray
def test_search_on_a_two_node_cluster_spreads_actors_and_matches_local():
    out = _run(f"""
        import sys, torch
        sys.path.insert(0, {str(HERE)!r})
        import ray_test_tasks  # registers raytest_sphere in the driver (the actors preload it)
        from ray.cluster_utils import Cluster
        from evohyper.engine.backends.local import LocalBackend
        from evohyper.engine.backends.ray import RayBackend
        from evohyper.config.budget import Budget
        from evohyper.config import ComponentsSpec
        from evohyper.engine.search import Search
        from evohyper.strategies.cmaes import CMAES

        spec = ComponentsSpec(task={{"name": "raytest_sphere", "dim": 4}}, decoder={{"name": "direct"}})

        class Recorder:  # records where the actors ran before Search.run() closes the backend
            def __init__(self, backend):
                self.backend, self.nodes, self.calls = backend, None, 0
            def evaluate(self, genotypes, seed, state=None):
                self.calls += 1
                return self.backend.evaluate(genotypes, seed, state)
            def close(self):
                if hasattr(self.backend, "actor_nodes"):
                    self.nodes = self.backend.actor_nodes()
                self.backend.close()

        def search(backend):
            s = Search(CMAES(4, 5, popsize=9), backend, Budget(evaluations=27), maximize=False, seed=11)
            result = s.run()
            return [(r.best, r.mean) for r in s.history], result.best_genotype

        cluster = Cluster(initialize_head=True, head_node_args={{"num_cpus": 1}})
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        node_ids = {{n.node_id for n in [cluster.head_node, *cluster.worker_nodes]}}
        try:
            # a quarter CPU each: both actors would fit on one node, so two nodes prove SPREAD placement
            rec = Recorder(RayBackend(spec, address=cluster.address, num_actors=2, num_cpus_per_actor=0.25,
                                      preload_modules=["ray_test_tasks"], sys_path=[{str(HERE)!r}],
                                      timeout_s=60, startup_timeout_s=120))
            ray_history, ray_best = search(rec)
        finally:
            cluster.shutdown()
        local_history, local_best = search(LocalBackend(spec))
        assert len(node_ids) == 2, node_ids
        assert rec.calls == 3, rec.calls
        assert len(set(rec.nodes)) == 2, rec.nodes
        assert set(rec.nodes) == node_ids, (rec.nodes, node_ids)
        assert ray_history == local_history, (ray_history, local_history)
        assert torch.equal(ray_best, local_best)
        print("OK", rec.nodes)
    """)
    assert "OK" in out
