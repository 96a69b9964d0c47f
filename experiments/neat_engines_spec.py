"""What the NEAT engine parity study runs (issue 22): its configs, seeds, budgets and arms, in one module that both
the runner (``experiments/neat_engines.py``) and the report (``experiments/neat_engines_report.py``) read."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "experiments" / "out" / "neat_engines"
#: an arm of the study: its directory name and the strategy options it sets, explicitly (a cached run keeps its
#: meaning if a default changes). ``batched``: the default engine in its default dtype (float64, a test holds them
#: equal); ``batched-float32``: float32 genes, opt-in (the dtype the engine first shipped with; its runs tell a
#: rounding effect from a semantic difference)
ARMS = {"batched": ["strategy.engine=batched", "strategy.dtype=float64"],
        "batched-float32": ["strategy.engine=batched", "strategy.dtype=float32"],
        "neat-python": ["strategy.engine=neat-python"]}
ENGINES = tuple(ARMS)
DEFAULT_ENGINES = ("batched", "neat-python")
SUMMARY, PIDFILE = "summary.json", "running.pid"


@dataclass(frozen=True)
class Study:
    config: str
    target: float
    generations: int
    seeds: tuple[int, ...]


STUDIES = {
    "xor": Study("search_spaces/neat_xor.yaml", 3.9, 300, tuple(range(20))),
    "cartpole": Study("search_spaces/neat_cartpole.yaml", 500.0, 100, tuple(range(20))),
    "visual": Study("search_spaces/hyperneat_visual.yaml", 100.0, 300, tuple(range(60))),
}
#: every run: local backend, one torch and one BLAS thread, no progress bar or TensorBoard
COMMON = ["backend.name=local", "backend.evaluator_torch_threads=1", "backend.evaluator_blas_threads=1",
          "output.progress=false", "output.tensorboard=false"]
