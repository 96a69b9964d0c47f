"""Visual discrimination (Stanley, D'Ambrosio & Gauci 2009): find the centre of the large box.

An ``R x R`` binary visual field (``R = 11 k``) shows a small ``k x k`` box and a large ``3k x 3k``
box. The substrate is the classic sandwich: the visual field fully connected to an ``R x R`` target
field; the most active target node is the network's guess of the large box's centre.

The evaluation set is the paper's 75 fixed trials, defined on the 11 x 11 field: the small box at 25
uniformly spread cells (columns and rows 1, 3, 5, 7, 9), the large box 5 cells to the right, down,
and diagonally (wrapping round the field, then moved the least distance that puts it fully in view).
At a finer resolution every cell becomes a ``k x k`` block, so the same trials are scored on 33x33
or 55x55 without further evolution; distances stay in units of the 11 x 11 cells.

Fitness ``10000 / (100 + sum of squared distances)`` over the 75 trials, after the paper's
``10000 / (alpha + sum d^2)`` (alpha = 100 is our choice): 100 is perfect. Metrics: ``mean_distance``
(cells) and ``hit_rate`` (fraction of trials whose guess is exactly the centre). A trial whose highest
output is shared by several nodes scores the farthest of them (no credit for undecided outputs). The task is
deterministic (``seed`` is unused), hence chunk-invariant.

Generalisation (option ``heldout: n``): ``n`` further trials never used for fitness, drawn once with a
fixed seed from every placement of the two boxes on the 11x11 field (small box anywhere, large box fully
in view, not touching) that is not a training trial; metrics ``heldout_mean_distance`` and
``heldout_hit_rate`` (the paper's question: does what evolved find the box where it never saw it?).
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
from typing import Any, ClassVar

import torch

from evohyper.api.checks import Checks
from evohyper.api.phenotypes import ACTIVATIONS, MLPPhenotypes
from evohyper.api.task import EvalResult, Task
from evohyper.families.hyperneat import SubstrateSpec, sandwich

_checks = Checks("task")
_network = Checks("network")

BASE = 11
ALPHA = 100.0
TIE_ULPS = 2.0  # outputs within this many float epsilons (relative) of the highest count as tied
NETWORK_KEYS = ("activation", "output_activation")
HELDOUT_SEED = 1
MAX_HELDOUT = 1000


def trials() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The 75 trials on the 11x11 field: (small box cell, large box centre cell) as (col, row)."""
    small, large = [], []
    for row in (1, 3, 5, 7, 9):
        for col in (1, 3, 5, 7, 9):
            for dc, dr in ((5, 0), (0, 5), (5, 5)):
                c, r = (col + dc) % BASE, (row + dr) % BASE
                c, r = min(max(c, 1), BASE - 2), min(max(r, 1), BASE - 2)  # fully in view
                small.append((col, row))
                large.append((c, r))
    return small, large


def heldout_trials(n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """``n`` box placements that are not training trials (fixed seed ``HELDOUT_SEED``), as ``trials()``."""
    train = set(zip(*trials()))
    pool = [((sc, sr), (lc, lr)) for sr in range(BASE) for sc in range(BASE)
            for lr in range(1, BASE - 1) for lc in range(1, BASE - 1)
            if max(abs(sc - lc), abs(sr - lr)) >= 2 and ((sc, sr), (lc, lr)) not in train]
    pick = torch.randperm(len(pool), generator=torch.Generator().manual_seed(HELDOUT_SEED))[:n].tolist()
    return [pool[i][0] for i in pick], [pool[i][1] for i in pick]


def visual_fields(resolution: int, placements: tuple[list, list] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``[T, R*R]`` (1 on the boxes) and the large boxes' centres ``[T, 2]`` in [-1, 1] for the
    training trials (or ``placements``: small and large box cells, as ``trials()`` returns)."""
    k = resolution // BASE
    small, large = placements or trials()
    fields = torch.zeros(len(small), resolution, resolution)
    for i, ((sc, sr), (lc, lr)) in enumerate(zip(small, large)):
        fields[i, sr * k:(sr + 1) * k, sc * k:(sc + 1) * k] = 1.0
        fields[i, (lr - 1) * k:(lr + 2) * k, (lc - 1) * k:(lc + 2) * k] = 1.0
    centres = torch.tensor([[-1.0 + (2 * c + 1) / BASE, -1.0 + (2 * r + 1) / BASE] for c, r in large])
    return fields.reshape(len(small), -1), centres


class VisualDiscriminationTask(Task):
    """HyperNEAT's visual discrimination: mark the large box's centre (fitness 100 = perfect).

    Options:
      resolution: side of the visual field and of the target field, a multiple of 11 (11, 22, 33, ...); the
        75 trials are the same at every resolution.
      heldout: further trials never used for fitness (0: none), scored every generation for the
        metrics ``heldout_mean_distance`` and ``heldout_hit_rate`` (generalisation).
    """

    maximize: ClassVar[bool] = True
    network_keys: ClassVar[tuple[str, ...]] = NETWORK_KEYS

    def __init__(self, resolution: int = 11, heldout: int = 0) -> None:
        _checks.integer("resolution", resolution, BASE)
        self.heldout = _checks.integer("heldout", heldout, 0, MAX_HELDOUT)
        if resolution % BASE:
            _checks.fail("resolution", resolution, f"a multiple of {BASE} (11, 22, 33, 44, 55, ...)")
        self.resolution = int(resolution)
        self.device = torch.device("cpu")
        self._x, self._centres = visual_fields(self.resolution)
        self._nodes = torch.tensor(sandwich([self.resolution] * 2).layers[1])  # [R*R, 2] output coords
        self._heldout = visual_fields(self.resolution, heldout_trials(self.heldout)) if self.heldout else None

    def setup(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self._x, self._centres, self._nodes = (t.to(self.device) for t in (self._x, self._centres, self._nodes))
        if self._heldout is not None:
            self._heldout = tuple(t.to(self.device) for t in self._heldout)

    def target(self, network: dict[str, Any]) -> SubstrateSpec:
        network = _network.keys(network, NETWORK_KEYS)
        for key in NETWORK_KEYS:
            if key in network:
                _network.one_of(key, network[key], sorted(ACTIVATIONS))
        return SubstrateSpec(sandwich([self.resolution] * 2), activation=network.get("activation", "tanh"),
                             output_activation=network.get("output_activation", "identity"), bias=False)

    def distances(self, phenotypes: MLPPhenotypes, trials: tuple[torch.Tensor, torch.Tensor] | None = None
                  ) -> torch.Tensor:
        """Distance ``[P, T]`` (in 11x11 cells) from the most active output node to the large box's centre,
        for the 75 training trials (or ``trials``: fields and centres from ``visual_fields``).

        When several output nodes share the highest activation (equal up to ``TIE_ULPS`` float epsilons,
        relative) the network has not picked one: the trial scores the distance of the *farthest* tied
        node. (Taking the first tied node, as ``argmax`` does, credited flat, saturated outputs with the
        top-left corner of their plateau: an evolved champion whose outputs tied in all 75 trials scored
        13.2 instead of 1.4, and a plateau whose top-left node is the centre scored as a hit.)"""
        fields, centres = trials if trials is not None else (self._x, self._centres)
        x = fields.to(device=phenotypes.device, dtype=phenotypes.dtype)
        phenotypes.reset_state()                            # each trial is shown once to a network at rest
        out = phenotypes.forward(x)                         # [P, T, R*R], one batched GEMM
        nodes, centres = self._nodes.to(out.device), centres.to(out.device)
        d = torch.cdist(centres, nodes.to(centres.dtype)) * (BASE / 2.0)   # [T, R*R]: node -> centre
        top = out.amax(dim=-1, keepdim=True)
        tol = TIE_ULPS * torch.finfo(out.dtype).eps * top.abs()
        tied = out >= top - tol                                            # [P, 75, R*R]
        return torch.where(tied, d.to(out.dtype), torch.zeros((), dtype=out.dtype, device=out.device)).amax(-1)

    def evaluate(self, phenotypes: MLPPhenotypes, seed: int) -> EvalResult:
        d = self.distances(phenotypes).double()
        fitness = 10000.0 / (ALPHA + (d ** 2).sum(dim=1))
        metrics = {"mean_distance": d.mean(dim=1), "hit_rate": (d < 1e-3).double().mean(dim=1)}
        forwards = len(phenotypes) * self._x.shape[0]
        if self._heldout is not None:
            h = self.distances(phenotypes, self._heldout).double()
            metrics.update(heldout_mean_distance=h.mean(dim=1), heldout_hit_rate=(h < 1e-3).double().mean(dim=1))
            forwards += len(phenotypes) * self.heldout
        return EvalResult(fitness, metrics, sample_forwards=forwards)
