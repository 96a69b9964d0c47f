"""Trial checkpoints without Ray: a restart replays exactly; a PBT exploit continues the donor's search
with new learning rates, and a later restore of that trial rebuilds the very same state."""
import torch

from evohyper.config import validate
from evohyper.engine.checkpoint import load_state, save_state
from evohyper.engine.runner import build_search
from evohyper.tune.trial import _mutable, restore, retune

BASE = {"name": "p", "seed": 5, "task": {"name": "sphere", "dim": 6},
        "strategy": {"name": "snes", "popsize": 10, "center_learning_rate": 0.5, "stdev_learning_rate": 0.2},
        "budget": {"generations": 8}}


def _cfg(**strategy):
    return validate({**BASE, "strategy": {**BASE["strategy"], **strategy}})


def _fresh(config):
    search = build_search(config, None)
    retune(search.strategy, _mutable("snes", config.strategy))
    return search


def _dist(search):
    return search.strategy._algo._distribution.parameters


def _steps(search, n):
    for _ in range(n):
        search.step()


def _saved(search, config, segments, tmp_path, name):
    path = save_state({"version": 1, "search": search.state_dict(), "config": config.to_dict(),
                       "segments": segments}, tmp_path / name)
    return load_state(path)


def test_restart_with_the_same_config_is_exact(tmp_path):
    cfg = _cfg()
    a = _fresh(cfg)
    _steps(a, 6)
    b = _fresh(cfg)
    _steps(b, 3)
    segs = [[0, _mutable("snes", cfg.strategy)]]
    c = _fresh(cfg)
    assert restore(c, cfg, _saved(b, cfg, segs, tmp_path, "b.pt")) == segs
    _steps(c, 3)
    assert [r.best for r in b.history + c.history] == [r.best for r in a.history]
    assert torch.equal(c.strategy.ask(), a.strategy.ask())


def test_pbt_exploit_changes_the_rates_in_place_and_restores_exactly(tmp_path):
    donor_cfg, new_cfg = _cfg(), _cfg(center_learning_rate=1.5, stdev_learning_rate=0.05)
    donor = _fresh(donor_cfg)
    _steps(donor, 3)
    saved = _saved(donor, donor_cfg, [[0, _mutable("snes", donor_cfg.strategy)]], tmp_path, "d.pt")
    # exploit: the new trial continues the donor's distribution with its own rates
    t = _fresh(new_cfg)
    segs = restore(t, new_cfg, saved)
    assert segs[-1] == [3, {"center_learning_rate": 1.5, "stdev_learning_rate": 0.05}]
    assert t.counters.generation == 3
    assert t.strategy._algo._center_learning_rate == 1.5
    for key in ("mu", "sigma"):                              # the donor's distribution at generation 3
        assert torch.equal(_dist(t)[key], _dist(donor)[key])
    _steps(t, 3)
    _steps(donor, 3)                     # the retuned trial differs from the donor's own continuation
    assert [r.best for r in t.history] != [r.best for r in donor.history[3:]]
    # a failure restart of the exploited trial (config new_cfg, segments donor->new) is exact
    again = _fresh(new_cfg)
    assert restore(again, new_cfg, _saved(t, new_cfg, segs, tmp_path, "t.pt")) == segs
    for key in ("mu", "sigma"):
        assert torch.equal(_dist(again)[key], _dist(t)[key])
    assert torch.equal(again.strategy.ask(), t.strategy.ask())
    assert again.strategy._algo._center_learning_rate == 1.5


def test_a_checkpoint_of_another_search_is_refused(tmp_path):
    cfg = _cfg()
    s = _fresh(cfg)
    _steps(s, 1)
    saved = _saved(s, cfg, [[0, _mutable("snes", cfg.strategy)]], tmp_path, "s.pt")
    other = validate({**BASE, "strategy": {**BASE["strategy"], "popsize": 12}})
    try:
        restore(_fresh(other), other, saved)
    except ValueError as exc:
        assert "another config" in str(exc)
    else:
        raise AssertionError("restore accepted a checkpoint of another search")


def test_pbt_restore_carries_the_evaluation_state(tmp_path):
    """A gym task with observation normalisation: the exploited trial continues with the donor's
    merged observation statistics (Search.load_progress), not from none."""
    raw = {**BASE, "task": {"name": "gym", "env": "Pendulum-v1", "max_steps": 20, "observation_normalization": True},
           "network": {"hidden": [2]}}
    donor_cfg = validate(raw)
    new_cfg = validate({**raw, "strategy": {**BASE["strategy"], "center_learning_rate": 1.5}})
    donor = _fresh(donor_cfg)
    _steps(donor, 2)
    saved = _saved(donor, donor_cfg, [[0, _mutable("snes", donor_cfg.strategy)]], tmp_path, "d.pt")
    t = _fresh(new_cfg)
    restore(t, new_cfg, saved)
    assert float(t.evaluation_state["obs_count"]) == 2 * 10 * 20
    for key, value in donor.evaluation_state.items():
        assert torch.equal(t.evaluation_state[key], value)
    assert t.best_evaluation["seed"] == donor.best_evaluation["seed"]


def test_pbt_exploit_loads_the_donor_state_without_replay(tmp_path):
    """Issue 21: the exploit loads the donor's explicit state (constant time), it does not replay its history."""
    donor_cfg, new_cfg = _cfg(), _cfg(center_learning_rate=1.5)
    donor = _fresh(donor_cfg)
    _steps(donor, 4)
    saved = _saved(donor, donor_cfg, [[0, _mutable("snes", donor_cfg.strategy)]], tmp_path, "d.pt")
    t = _fresh(new_cfg)

    def no_replay(*args):
        raise AssertionError("restore replayed ask/tell")

    t.strategy._ask, t.strategy._tell = no_replay, no_replay
    restore(t, new_cfg, saved)
    del t.strategy._ask, t.strategy._tell
    assert t.strategy._algo._center_learning_rate == 1.5 and t.strategy.generation == 4
    assert torch.equal(_dist(t)["mu"], _dist(donor)["mu"])
