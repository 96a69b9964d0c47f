"""`evohyper show RUN --episodes N` (and `--video`) for every decoder the `gym` task accepts: a tiny run of
each, then a replay that reproduces the scores recorded in `best/phenotype.json` (the README's promise:
the recorded seed's first episodes are the ones that were scored). Parametrised from the decoder registry:
a decoder gym accepts but this file has no recipe for fails the refusal test below."""
import json
import re

import pytest
import yaml

from evohyper.api import registry
from evohyper.cli import main
from evohyper.config import ConfigError, validate
from evohyper.engine.replay import load_best

pytest.importorskip("gymnasium")

TASK = {"name": "gym", "env": "Pendulum-v1", "episodes": 2, "max_steps": 15}
SNES = {"name": "snes", "popsize": 6}
NEAT = {"name": "neat", "popsize": 6}
#: decoder name -> the runs of it on gym: (label, decoder block, network block, strategy block)
RECIPES = {
    "direct": [("direct", {"name": "direct"}, {"hidden": [3]}, SNES),
               ("elman", {"name": "direct"}, {"hidden": [3], "recurrent": True}, SNES)],
    "dct": [("dct", {"name": "dct", "coefficients": 2}, {"hidden": [3]}, SNES)],
    "hyper_static": [("hyper_static", {"name": "hyper_static", "embedding": 2, "hidden": 3}, {"hidden": [3]}, SNES)],
    "hyper_conditioned": [("hyper_conditioned", {"name": "hyper_conditioned", "embedding": 2, "hidden": 3},
                           {"hidden": [3]}, SNES)],
    "hypergan": [("hypergan", {"name": "hypergan", "noise": 4, "code": 4, "hidden": 8, "disc_hidden": 8},
                  {"hidden": [3]}, SNES)],
    "neat": [("neat", {"name": "neat"}, {}, NEAT),
             ("neat_recurrent", {"name": "neat", "recurrent": True}, {}, NEAT)],
    "hyperneat": [("hyperneat", {"name": "hyperneat"}, {"hidden": [3]}, NEAT)],
    "es_hyperneat": [("es_hyperneat", {"name": "es_hyperneat", "max_depth": 2}, {}, NEAT)],
}
CASES = [case for name in registry.decoders.names() for case in RECIPES.get(name, [])]
VIDEO = {"neat"}   # rendering costs ~1 s per episode here: one decoder writes a video


def _strategy_for(kind):
    """A search strategy that drives genotypes of ``kind`` (the first registered that accepts them)."""
    for name in registry.strategies.names():
        cls = registry.strategies.get(name)
        if cls.accepts(kind) and not cls.needs_loss:
            return {"name": name}
    return None


@pytest.mark.parametrize("name", [n for n in registry.decoders.names() if n not in RECIPES])
def test_gym_refuses_every_decoder_without_a_recipe(name):
    """So the recipes above cover every decoder gym accepts: a new one that works on gym must get one."""
    strategy = _strategy_for(getattr(registry.decoders.get(name), "genotype_kind", "vector"))
    if strategy is None:
        pytest.skip(f"no search strategy drives decoder {name!r}'s genotypes")
    with pytest.raises(ConfigError):
        validate({"name": "x", "task": TASK, "decoder": {"name": name}, "strategy": strategy,
                  "budget": {"generations": 1}})


@pytest.mark.parametrize("label, decoder, network, strategy", CASES, ids=[c[0] for c in CASES])
def test_show_replays_every_gym_decoder(tmp_path, capsys, label, decoder, network, strategy):
    cfg = {"name": label, "seed": 1, "task": TASK, "decoder": decoder, "network": network, "strategy": strategy,
           "budget": {"generations": 2}, "evaluation": {"reevaluate": {"episodes": 4, "top_k": 2}},
           "output": {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False}}
    path = tmp_path / f"{label}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(path)]) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    best = json.loads((run_dir / "best" / "phenotype.json").read_text())
    capsys.readouterr()

    video = tmp_path / "best.gif"
    args = ["show", str(run_dir), "--episodes", "4", *(["--video", str(video)] if label in VIDEO else [])]
    assert main(args) == 0
    out = capsys.readouterr().out
    returns = [float(r) for r in re.findall(r"episode \d+: return (\S+) \(15 steps\)", out)]
    assert len(returns) == 4, out
    reeval = best["reevaluation"]                       # gym is stochastic: re-evaluation is on by default
    assert sum(returns) / 4 == pytest.approx(reeval["mean"], rel=1e-5, abs=1e-9)   # printed with 6 digits
    policy = load_best(run_dir)
    assert sum(policy.replay(episodes=4).returns) / 4 == pytest.approx(reeval["mean"], rel=1e-9, abs=1e-12)
    if best["evaluation"] is not None:                  # the search scored it too: its episodes give that score
        search = policy.replay(episodes=2, evaluation="search").returns
        assert sum(search) / 2 == pytest.approx(best["fitness"], rel=1e-9, abs=1e-12)
    if label in VIDEO:
        assert video.stat().st_size > 0 and f"video: {video}" in out
