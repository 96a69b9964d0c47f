"""What the quality-diversity study runs (issue 23): its arms, budgets and where the runs go, in one module that
the driver (``experiments/quality_diversity.py``) and the report (``experiments/quality_diversity_report.py``)
both read.

**Arms.** ``pyribs_dask`` is pyribs' lunar-lander tutorial loop (``experiments/quality_diversity_pyribs.py``);
every other arm is ``evohyper run`` of a shipped config with ``seed``, ``budget.generations`` and
``output.runs_dir`` set. ``group`` says which comparison an arm belongs to (``lunar``: LunarLander-v3 at one
evaluation budget; ``walker``: the MuJoCo arm, its own budget). ``default``: run by a plain study command;
the others (the walker, and NEAT MAP-Elites) run when named with ``--arms`` and enter the report as soon as
their cached runs exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "experiments" / "out" / "quality_diversity"
SEEDS = (0, 1, 2)
#: Dask workers on the pyribs side = Ray actors on ours (the machine has 2 cores)
WORKERS = 2
#: LunarLander iterations (generations of 150 episodes) per run in this study; the tutorial runs 300
ITERATIONS = 60
TUTORIAL_ITERATIONS = 300
#: the tutorial's QD score offset (``GridArchive(..., qd_score_offset=-600)``), used on both sides
QD_SCORE_OFFSET = -600.0
#: MuJoCo arm: its config's budget (search_spaces/walker_cma_me.yaml: 4 M environment steps, about 20 minutes a
#: seed on the 2 shared cores, an hour for the 3 seeds)
WALKER_ENV_STEPS = 4_000_000
#: its QD score offset (the config's ``archive.qd_score_offset``)
WALKER_QD_SCORE_OFFSET = -100.0


@dataclass(frozen=True)
class Arm:
    label: str
    kind: str                  # pyribs | evohyper
    group: str                 # lunar | walker
    config: str | None = None  # search_spaces/<config> for evohyper arms
    default: bool = True
    note: str = ""

    @property
    def resumable(self) -> bool:
        """A killed run continues from its checkpoint (the walker) instead of starting again."""
        return self.group == "walker"

    @property
    def overrides(self) -> list[str]:
        """``--set`` budget overrides of an evohyper arm: LunarLander arms run the study's iterations, the
        walker its config's environment-step budget."""
        return [] if self.group == "walker" else [f"budget.generations={ITERATIONS}"]


ARMS: dict[str, Arm] = {
    "pyribs_dask": Arm("pyribs tutorial loop (Dask, 2 workers)", "pyribs", "lunar"),
    "cma_me": Arm("evohyper cma_me (Ray, 2 actors)", "evohyper", "lunar", "lunarlander_cma_me.yaml"),
    "map_elites": Arm("evohyper map_elites (Ray, 2 actors)", "evohyper", "lunar", "lunarlander_map_elites.yaml"),
    "neat_map_elites": Arm("evohyper neat_map_elites (Ray, 2 actors)", "evohyper", "lunar",
                           "lunarlander_neat_map_elites.yaml", default=False,
                           note="run it with --arms neat_map_elites"),
    "walker_cma_me": Arm("evohyper cma_me on Walker2d-v5, feet_contact (Ray, 2 actors)", "evohyper", "walker",
                         "walker_cma_me.yaml", default=False,
                         note="about 20 minutes a seed on 2 cores; run it with --arms walker_cma_me"),
}
#: the CMA-ME comparison's two sides (targets are computed between these)
REFERENCE, OURS = "pyribs_dask", "cma_me"


def run_dir(root: Path, arm: str, seed: int) -> Path:
    return root / arm / f"seed{seed}"


def result_path(root: Path, arm: str, seed: int) -> Path:
    """A finished run's JSON (written last, atomically): a run is cached iff this exists."""
    return run_dir(root, arm, seed) / "run.json"
