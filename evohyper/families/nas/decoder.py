"""Graph hypernetwork (GHN-2 style) as a decoder: cell architectures -> all their weights, batched.

Two uses, one decoder (the pattern of ``hypergan``):

* **evolution over graphs** (``nas_random``, ``regularized_evolution``): the genotype is a cell (a JSON
  dict as ``graph_to_json`` writes it, or a ``networkx.DiGraph``); ``decode`` runs one GHN pass for the
  whole population and returns ``CellPhenotypes`` (one grouped pass per distinct architecture), so the
  task's own ``evaluate`` scores the cells with GHN-predicted weights; ``weights`` loads a trained GHN;
* **training the GHN** (``strategy: gradient``): the decoder is a ``SelfTrainedDecoder``; each step
  samples ``graphs_per_step`` cells from its ``CellSpace`` (randomness from the step's generator only)
  and the loss is the mean of the *task's* ``loss`` over them, so any image task with a
  ``network: {type: conv}`` target works, not only digits.
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
import random
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import networkx as nx
import torch

from evohyper.api.checks import MAX_LOOP, Checks
from evohyper.api.conv import ConvSpec
from evohyper.api.decoder import Decoder, DecoderInfo
from evohyper.api.phenotypes import TargetSpec
from evohyper.api.self_trained import SelfTrainedDecoder, as_one_individual
from evohyper.api.task import EvalResult, Task
from evohyper.families.nas.executor import group_indices
from evohyper.families.nas.ghn import GHN
from evohyper.families.nas.phenotypes import CellArchitecture, CellPhenotypes
from evohyper.families.nas.space import OPS, CellSpace, canonicalise, graph_from_json, graph_to_json

_checks = Checks("decoder")


class GHNDecoder(SelfTrainedDecoder, Decoder):
    """Graph hypernetwork (GHN-2 style) predicting every weight of cell architectures; genotype = a cell.

    Changing ``hidden``, ``virtual_edges`` or ``passes`` changes the parameters, so a ``weights`` file must
    come from a GHN trained with the same values (loading names the mismatch). The target must be a conv
    net (``network: {type: conv}``): its input shape and number of outputs are used, its layers are not.

    Options:
      nodes: nodes of a cell, stem and head included (3 .. 12).
      max_inputs: inputs per op node (1 .. 3).
      channels: channels of every cell op (1 .. 256).
      ops: the ops a cell may use (a non-empty list from ``evohyper.families.nas.space.OPS``); null: all.
      hidden: the GNN's width (>= 1).
      init_seed: seeds the initial parameters and the ``score_graphs`` fixed cells ``training_score`` uses.
      weights: a file from ``save_weights`` (a gradient run's ``best/decoder_weights.pt``); null: the seeded init.
      graphs_per_step: cells sampled per training step (GHN-2's meta-batch of architectures, >= 1).
      score_graphs: fixed cells the decoder is scored on while it is trained (>= 1).
      virtual_edges: 0 (off) or s in 2 .. ``nodes - 1``: GHN-2's virtual edges, extra messages from every
        node at directed shortest-path distance 2..s, weighted 1/distance, through their own MLP.
      passes: message-passing rounds (forward + backward sweeps), 1 .. 8.
    """

    genotype_kind: ClassVar[str] = "graph"

    def __init__(self, target: TargetSpec, *, nodes: int = 6, max_inputs: int = 2, channels: int = 8,
                 ops: list[str] | None = None, hidden: int = 32, init_seed: int = 0,
                 weights: str | None = None, graphs_per_step: int = 8, score_graphs: int = 16,
                 virtual_edges: int = 0, passes: int = 1):
        torch.nn.Module.__init__(self)
        Decoder.__init__(self, target)
        if not isinstance(target, ConvSpec):
            _checks.refuse("name", f"'ghn' needs an image target: set network: {{type: conv}} (a ConvSpec "
                                   f"gives the input shape and classes); got a {type(target).__name__}")
        _checks.integer("nodes", nodes, 3, 12)
        _checks.integer("max_inputs", max_inputs, 1, 3)
        _checks.integer("channels", channels, 1, 256)
        self.hidden = _checks.integer("hidden", hidden, 1, MAX_LOOP)
        self.init_seed = _checks.integer("init_seed", init_seed, 0)
        self.graphs_per_step = _checks.integer("graphs_per_step", graphs_per_step, 1, MAX_LOOP)
        self.score_graphs = _checks.integer("score_graphs", score_graphs, 1, MAX_LOOP)
        if (isinstance(virtual_edges, bool) or not isinstance(virtual_edges, int)
                or not (virtual_edges == 0 or 2 <= virtual_edges < nodes)):
            _checks.fail("virtual_edges", virtual_edges, f"0 (off) or an integer in [2, {nodes - 1}] (the longest "
                                                         "shortest-path distance joined, nodes - 1)")
        _checks.integer("passes", passes, 1, 8)
        ops = list(OPS) if ops is None else ops
        bad = [o for o in ops if o not in OPS] if isinstance(ops, (list, tuple)) else ops
        if bad or not ops:
            _checks.fail("ops", ops, f"a non-empty list from {list(OPS)}")
        self.space = CellSpace(nodes=nodes, max_inputs=max_inputs, channels=channels, ops=tuple(ops))
        self.in_shape = list(target.in_shape)
        self.ghn = GHN(channels=channels, nodes=nodes, hidden=hidden, n_out=target.n_out,
                       in_channels=self.in_shape[0], seed=init_seed, virtual_edges=virtual_edges, passes=passes)
        rng = random.Random(1_000_003 * init_seed + 17)
        self.score_cells = [self.space.sample(rng) for _ in range(self.score_graphs)]
        if weights is not None:
            self.load_weights(weights)

    # ------------------------------------------------------------------ the Decoder interface
    @property
    def genome_size(self) -> None:
        return None   # genotypes are cells, not vectors

    def info(self) -> DecoderInfo:
        """Graph genotypes in this decoder's cell space (and, as a self-trained decoder, its parameter count)."""
        return replace(super().info(), graph_space=self.space)

    def cells(self, genotypes: Any) -> list[nx.DiGraph]:
        """Canonical, checked cells from JSON dicts (``graph_to_json``) or ``networkx.DiGraph``s."""
        if isinstance(genotypes, (dict, nx.DiGraph)) or not hasattr(genotypes, "__len__") or not len(genotypes):
            raise ValueError("decoder 'ghn' expects a non-empty list of cells (JSON dicts with keys ops/edges "
                             f"or networkx.DiGraph), got {type(genotypes).__name__}")
        out = []
        for i, g in enumerate(genotypes):
            try:
                cell = graph_from_json(g) if isinstance(g, dict) else canonicalise(g)
                self.space.check(cell)
            except (ValueError, TypeError, KeyError) as exc:
                raise ValueError(f"decoder 'ghn': genotype {i} is not a cell of this space: {exc}") from None
            out.append(cell)
        return out

    def phenotypes(self, graphs: list[nx.DiGraph]) -> CellPhenotypes:
        """One GNN pass over the distinct architectures, one weight decode each; members share them."""
        groups = group_indices(graphs)
        distinct = [graphs[idx[0]] for idx in groups.values()]
        h = self.ghn.embeddings(distinct)                                   # [A, N, H]
        archs = [CellArchitecture(g, idx, self.ghn.weights(g, h[a:a + 1]))
                 for a, (g, idx) in enumerate(zip(distinct, groups.values()))]
        return CellPhenotypes(self.target, self.in_shape, archs)

    def decode(self, genotypes: Any, device: torch.device | str = "cpu") -> CellPhenotypes:
        return self.phenotypes(self.cells(genotypes))

    def pictures(self, genotype: Any, out_dir: Path) -> list[Path]:
        """A drawing of the cell (networkx + matplotlib) as ``cell.png``."""
        from evohyper.families.nas.pictures import draw_cells

        cell = self.cells([genotype])[0]
        path = Path(out_dir) / "cell.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        draw_cells([("best cell", graph_to_json(cell))], path)
        return [path]

    # ------------------------------------------------------------------ gradient training
    @property
    def networks_per_step(self) -> int:
        return self.graphs_per_step

    def sample_cells(self, n: int, generator: torch.Generator) -> list[nx.DiGraph]:
        rng = random.Random(int(torch.randint(0, 2**62, (1,), generator=generator)))
        return [self.space.sample(rng) for _ in range(n)]

    def training_loss(self, task: Task, batch: Any,
                      generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = task.loss(self.phenotypes(self.sample_cells(self.graphs_per_step, generator)), batch).mean()
        return loss, {"task_loss": loss.detach()}

    def training_score(self, task: Task, seed: int) -> EvalResult:
        """Mean fitness and metrics over the ``score_graphs`` fixed cells with predicted weights."""
        return as_one_individual(task.evaluate(self.phenotypes(self.score_cells), seed))

    def test_metrics(self, task: Task, seed: int = 0) -> dict[str, torch.Tensor]:
        """Held-out metrics of the fixed score cells (per cell; the exporter averages)."""
        return task.test_metrics(self.phenotypes(self.score_cells)) if hasattr(task, "test_metrics") else {}

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        s = self.space
        out.update({"trainable_params": self.trained_size, "space": {"nodes": s.nodes, "max_inputs": s.max_inputs,
                    "channels": s.channels, "ops": list(s.ops)}, "score_graphs": self.score_graphs,
                    "virtual_edges": self.ghn.virtual_edges, "passes": self.ghn.passes})
        return out

