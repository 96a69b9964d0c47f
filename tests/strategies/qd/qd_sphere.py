"""pyribs' sphere benchmark (its tutorials' and ``examples/sphere.py``): a shifted sphere scaled to [0, 100]
and, as the two measures, the sums of the two halves of the genome with each gene outside [-5.12, 5.12]
clipped as 5.12 / x. Shared by the quality-diversity tests."""
from __future__ import annotations

import numpy as np
import torch

from evohyper.api.task import Descriptor, TaskInfo

BOUND = 5.12


def sphere(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pyribs' sphere: objective ``[P]`` in [0, 100] (higher is better) and measures ``[P, 2]``."""
    x = np.asarray(x, dtype=np.float64)
    dim = x.shape[1]
    shift = BOUND * 0.4
    worst = (-BOUND - shift) ** 2 * dim
    objective = (np.sum(np.square(x - shift), axis=1) - worst) / (0.0 - worst) * 100
    clipped = x.copy()
    outside = (clipped < -BOUND) | (clipped > BOUND)
    clipped[outside] = BOUND / clipped[outside]
    measures = np.stack([clipped[:, :dim // 2].sum(1), clipped[:, dim // 2:].sum(1)], axis=1)
    return objective, measures


def sphere_torch(genotypes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``sphere`` of a population of float32 genotypes, as the engine would hand it to ``tell``."""
    objective, measures = sphere(genotypes.double().numpy())
    return torch.from_numpy(objective), torch.from_numpy(measures)


def max_bound(dim: int) -> float:
    return dim / 2 * BOUND


def info(dim: int) -> TaskInfo:
    """What a sphere task with pyribs' measures would declare: two descriptors in [-dim/2 5.12, dim/2 5.12]."""
    b = max_bound(dim)
    return TaskInfo(maximize=True, descriptors=(Descriptor("half_0", -b, b), Descriptor("half_1", -b, b)))


def run(strategy, generations: int) -> list[torch.Tensor]:
    """Ask and tell ``generations`` times on the sphere; the asked populations."""
    asked = []
    for _ in range(generations):
        x = strategy.ask()
        asked.append(x.clone())
        f, m = sphere_torch(x)
        strategy.tell(f, descriptors=m)
    return asked


def archive_data(archive) -> dict[str, np.ndarray]:
    """Every field of an archive's elites (threshold included), in cell order."""
    data = archive.data()
    order = np.argsort(data["index"], kind="stable")
    return {name: np.asarray(v)[order] for name, v in data.items()}


def same_archive(a, b) -> bool:
    da, db = archive_data(a), archive_data(b)
    return da.keys() == db.keys() and all(np.array_equal(da[k], db[k]) for k in da)
