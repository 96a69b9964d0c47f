"""A few gradient steps on predicted (or any) weights of a whole mixed population, before scoring.

Why: GHN-2 reports that predicted weights rank architectures better after brief fine-tuning. Every
member gets its own copy of its weights (shared GHN predictions are expanded), the loss is the sum of
the members' own mean task losses (so each gets exactly its own gradient) and one Adam step updates all;
the forward is one grouped pass per architecture, as in evaluation. Minibatches come from the task's
``train_batches`` as in the engine (a function of ``seed`` and the step only).
"""
from __future__ import annotations

import torch

from evohyper.api.task import Task
from evohyper.api.training import minibatches
from evohyper.families.nas.phenotypes import CellArchitecture, CellPhenotypes


def finetune(phen: CellPhenotypes, task: Task, steps: int, lr: float = 1e-2, batch_size: int = 64,
             seed: int = 0) -> CellPhenotypes:
    """``phen`` after ``steps`` Adam steps per member on the task's training loss (a new object)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"finetune: steps must be an integer >= 0, got {steps!r}")
    archs = [CellArchitecture(a.graph, list(a.members),
                              {k: v.detach().expand(len(a.members), *v.shape[1:]).clone().requires_grad_(True)
                               for k, v in a.params.items()}) for a in phen.architectures]
    out = CellPhenotypes(phen.spec, phen.in_shape, archs)
    if steps == 0:
        return out
    opt = torch.optim.Adam([v for a in archs for v in a.params.values()], lr=lr)
    with torch.enable_grad():
        for batch in minibatches(task, batch_size, seed, 0, steps):
            opt.zero_grad(set_to_none=True)
            task.loss(out, batch).sum().backward()
            opt.step()
    for a in archs:
        a.params = {k: v.detach() for k, v in a.params.items()}
    return out
