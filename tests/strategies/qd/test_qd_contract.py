"""The shipped ``StrategyContract`` on the three quality-diversity presets, told pyribs' sphere measures."""
from __future__ import annotations

import torch
from qd_sphere import info, sphere

from evohyper.api.task import TaskInfo
from evohyper.strategies.qd import CMAMAE, CMAME, MAPElites
from evohyper.testing import StrategyContract


class _QDContract(StrategyContract):
    genome_size = 10
    # a 20 x 20 grid keeps the archive (and so the state) small; the contract's own sphere is the fitness
    options = {"archive": {"dims": [20, 20]}, "emitters": {"count": 2, "batch_size": 16}}

    def task_info(self) -> TaskInfo:
        return info(self.genome_size)

    def extras(self, population: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"descriptors": torch.from_numpy(sphere(population.double().numpy())[1])}


class TestContractMAPElites(_QDContract):
    strategy_class = MAPElites


class TestContractCMAME(_QDContract):
    strategy_class = CMAME
    # CMA-ES's step on the contract's scale (optimum 0.5 per gene from x0 = 0); at CMA-ME's default 1.0,
    # tuned for policies, the two-stage ranker spends 40 generations on new cells (error 3.7 -> 2.5, measured)
    options = {**_QDContract.options, "emitters": {"count": 2, "batch_size": 16, "sigma0": 0.3}}


class TestContractCMAMAE(_QDContract):
    strategy_class = CMAMAE
    # threshold_min at the bottom of the objective's range, as pyribs' tutorial puts 0 under its [0, 100]
    # sphere: the contract's fitness is -sum((x - 0.5)^2), about -2.5 at x0 = 0 (from 0 nothing would enter;
    # from -100 the thresholds stay far below every objective for 40 generations: error 1.15 -> 0.75, measured)
    options = {**_QDContract.options, "archive": {"dims": [20, 20], "threshold_min": -10.0}}
