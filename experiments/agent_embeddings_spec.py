"""The settings of the agent-embedding report (``experiments/agent_embeddings.py`` runs them,
``experiments/agent_embeddings_report.py`` states them)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from evohyper.families.embeddings import DatasetSpec

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "experiments" / "out" / "agent_embeddings"
DATASET = DatasetSpec(per_group=8000)
VAE = {"latent": 8, "hidden": (128, 128), "epochs": 60, "batch": 256, "lr": 1e-3, "beta": 1.0, "seed": 0}
SAMPLES = 1000            # generated networks per group for Table 1
PAIRS, POINTS = 10, 21    # interpolation pairs (a group-1 agent, a group-4 agent) and points per line
SEEDS = [0, 1, 2, 3, 4]
SEARCH = {"max_steps": 500, "episodes": 5, "popsize": 16, "generations": 40}
ARMS: dict[str, dict[str, Any]] = {
    "latent_g4": {"decoder": {"name": "agent_embedding", "group": 4}, "sigma0": 1.0,
                  "label": "CMA-ES on the latent code (group 151-200)"},
    "latent_g1": {"decoder": {"name": "agent_embedding", "group": 1}, "sigma0": 1.0,
                  "label": "CMA-ES on the latent code (group 1-50)"},
    "direct": {"decoder": {"name": "direct"}, "sigma0": 0.5, "label": "CMA-ES on the direct weights"},
}
