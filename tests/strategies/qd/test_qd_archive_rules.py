"""Archive insertion and replacement as the strategies expose them, CMA-MAE's threshold update on a hand-made
example, and what an individual whose descriptors failed (NaN/inf) does to the archives: nothing."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from qd_sphere import info, run, sphere_torch

from evohyper.api.task import Descriptor, TaskInfo
from evohyper.strategies.qd import CMAMAE, CMAME, MAPElites

UNIT = TaskInfo(descriptors=(Descriptor("a", 0.0, 1.0), Descriptor("b", 0.0, 1.0)))
ONE_AT_A_TIME = {"count": 1, "batch_size": 1}


def one(strategy, fitness: float, descriptors: tuple[float, float]) -> torch.Tensor:
    """Ask one genotype and tell it ``fitness`` at ``descriptors``; the genotype."""
    x = strategy.ask()
    strategy.tell(torch.tensor([fitness], dtype=torch.float64),
                  descriptors=torch.tensor([descriptors], dtype=torch.float64))
    return x[0]


def cell(strategy, descriptors: tuple[float, float]) -> dict:
    """The archive's elite in the cell of ``descriptors`` (None: empty)."""
    occupied, data = strategy.archive.retrieve_single(np.array(descriptors, dtype=np.float64))
    return data if occupied else None


def test_an_individual_enters_an_empty_cell_a_better_one_replaces_it_a_worse_one_does_not():
    s = MAPElites(3, 0, archive={"dims": [2, 2]}, emitters=ONE_AT_A_TIME)
    s.bind_task(UNIT)
    first = one(s, 1.0, (0.25, 0.25))
    elite = cell(s, (0.25, 0.25))
    assert torch.equal(torch.from_numpy(elite["solution"].astype(np.float32)), first) and elite["objective"] == 1.0
    assert cell(s, (0.75, 0.75)) is None and len(s.archive) == 1
    better = one(s, 2.0, (0.3, 0.2))                 # the same cell, a higher objective: it replaces the elite
    elite = cell(s, (0.25, 0.25))
    assert torch.equal(torch.from_numpy(elite["solution"].astype(np.float32)), better)
    assert elite["objective"] == 2.0 and list(elite["measures"]) == [0.3, 0.2]
    one(s, 1.5, (0.1, 0.1))                          # worse: the elite stays
    assert cell(s, (0.25, 0.25))["objective"] == 2.0 and len(s.archive) == 1
    one(s, -5.0, (0.9, 0.1))                         # any objective fills an empty cell of an elitist archive
    assert cell(s, (0.9, 0.1))["objective"] == -5.0 and len(s.archive) == 2
    one(s, 7.0, (3.0, -1.0))                         # out of range: pyribs clips it into the edge cell
    assert cell(s, (0.9, 0.1))["objective"] == 7.0
    assert s.best_fitness == 7.0 and s.metrics()["elites"] == 2.0


def test_cma_mae_thresholds_move_by_the_learning_rate():
    """Hand-made: learning rate 0.5 from threshold_min 0. A cell's threshold t becomes (1 - 0.5) t + 0.5 f for
    an objective f > t that enters; the soft archive keeps the latest such elite even when it is worse than
    the one before; the result archive keeps the best; an objective below threshold_min enters only the
    result archive."""
    s = CMAMAE(3, 0, archive={"dims": [2, 2], "learning_rate": 0.5, "threshold_min": 0.0},
               emitters={"type": "gaussian", **ONE_AT_A_TIME})   # one genotype per ask: the archive is the point
    s.bind_task(UNIT)
    one(s, 4.0, (0.25, 0.25))
    main = s.scheduler
    occupied, data = main.archive.retrieve_single(np.array([0.25, 0.25]))
    assert occupied and data["threshold"] == 2.0 and data["objective"] == 4.0      # 0.5 * 0 + 0.5 * 4
    one(s, 3.0, (0.25, 0.25))                                                      # 3 > 2: it enters
    occupied, data = main.archive.retrieve_single(np.array([0.25, 0.25]))
    assert data["objective"] == 3.0 and data["threshold"] == 2.5                   # 0.5 * 2 + 0.5 * 3
    one(s, 2.4, (0.25, 0.25))                                                      # 2.4 < 2.5: it does not
    occupied, data = main.archive.retrieve_single(np.array([0.25, 0.25]))
    assert data["objective"] == 3.0 and data["threshold"] == 2.5
    _, best = main.result_archive.retrieve_single(np.array([0.25, 0.25]))
    assert best["objective"] == 4.0 and s.best_fitness == 4.0                     # the result archive: the best
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one(s, -1.0, (0.75, 0.75))                                                 # below threshold_min
    assert not main.archive.retrieve_single(np.array([0.75, 0.75]))[0]
    assert main.result_archive.retrieve_single(np.array([0.75, 0.75]))[1]["objective"] == -1.0
    assert s.metrics()["elites"] == 2.0 and s.archive is main.result_archive


@pytest.mark.parametrize("cls", [MAPElites, CMAME, CMAMAE])
def test_individuals_with_nan_or_inf_descriptors_leave_the_archives_alone(cls):
    options = {"archive": {"dims": [10, 10]}, "emitters": {"count": 2, "batch_size": 6}}
    s = cls(6, 1, **options)
    s.bind_task(info(6))
    run(s, 3)
    before = {k: v.copy() for k, v in s.archive.data().items()}
    x = s.ask()
    f = torch.full((12,), 1e6, dtype=torch.float64)  # the failed ones would be the best, and new cells
    d = torch.tensor([[i * 1.0, -i * 1.0] for i in range(12)], dtype=torch.float64)
    f[1:] = -1e6
    d[0, 1] = float("nan")
    d[1, 0] = float("inf")
    d[2:] = float("nan")
    best = s.best_fitness
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.tell(f, descriptors=d)                    # every individual failed: no archive changes
    after = s.archive.data()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert s.best_fitness == best and best < 1e6   # the best is the archive's: the failed one is not in it
    assert not any(np.allclose(x[0].numpy(), sol) for sol in after["solution"])
    run(s, 2)                                       # and the emitters go on
    assert len(s.archive) >= len(before["index"])


@pytest.mark.parametrize("cls", [MAPElites, CMAME, CMAMAE])
def test_individuals_with_non_finite_fitness_leave_the_archives_alone(cls):
    s = cls(6, 1, archive={"dims": [10, 10]}, emitters={"count": 2, "batch_size": 6})
    s.bind_task(info(6))
    x = s.ask()
    f, d = sphere_torch(x)
    f[:4] = torch.tensor([float("nan"), float("inf"), float("-inf"), float("nan")])
    d[:4] = torch.tensor([[-15.0, -15.0], [-9.0, 9.0], [15.0, 15.0], [0.0, -15.0]])  # cells of their own
    s.tell(f, descriptors=d)
    stored = s.archive.data()
    kept = torch.from_numpy(stored["solution"].astype(np.float32))
    assert not any((kept == row).all(dim=1).any() for row in x[:4])
    assert any((kept == row).all(dim=1).any() for row in x[4:])          # the comparison can see a kept one
    assert not any(s.archive.retrieve_single(row.numpy())[0] for row in d[:4])   # their cells stay empty
    assert np.isfinite(stored["objective"]).all()
    assert s.best_fitness == float(f[4:].max())


def test_a_batch_with_failed_rows_adds_what_pyribs_adds_of_the_others_and_ranks_the_failed_last():
    from ribs.archives import GridArchive

    from evohyper.strategies.qd.archives import QDGridArchive

    rng = np.random.default_rng(0)
    solution, objective = rng.normal(size=(40, 3)), rng.normal(size=40)
    measures = rng.uniform(-1, 1, size=(40, 2))
    failed = rng.uniform(size=40) < 0.3
    ours = QDGridArchive(solution_dim=3, dims=[5, 5], ranges=[(-1, 1), (-1, 1)], seed=0)
    plain = GridArchive(solution_dim=3, dims=[5, 5], ranges=[(-1, 1), (-1, 1)], seed=0)
    info_ours = ours.add(solution, objective, measures, failed=failed)
    info_plain = plain.add(solution[~failed], objective[~failed], measures[~failed])
    assert all(np.array_equal(np.asarray(ours.data()[k]), np.asarray(plain.data()[k])) for k in plain.data())
    assert np.array_equal(info_ours["status"][~failed], info_plain["status"])
    assert np.array_equal(info_ours["value"][~failed], info_plain["value"])
    assert (info_ours["status"][failed] == 0).all()
    assert info_ours["value"][failed].max() < info_ours["value"][~failed].min()
    # without a mask the archive is pyribs' own
    again = QDGridArchive(solution_dim=3, dims=[5, 5], ranges=[(-1, 1), (-1, 1)], seed=0)
    with pytest.raises(ValueError, match="finite"):
        again.add(solution, objective, np.where(failed[:, None], np.nan, measures))


def test_a_discarded_ask_leaves_the_archive_alone_and_the_strategy_askable():
    s = CMAME(6, 0, archive={"dims": [10, 10]}, emitters={"count": 2, "batch_size": 6})
    s.bind_task(info(6))
    run(s, 2)
    before = {k: v.copy() for k, v in s.archive.data().items()}
    s.ask()
    s.discard()
    after = s.archive.data()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    run(s, 1)
    assert s.generation == 3
