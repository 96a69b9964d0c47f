"""The engine: search loop, budget, backends, checkpoints, observers."""
