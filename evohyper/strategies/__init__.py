"""Search strategies wrapping cma, evotorch and deap. Each registers itself by name."""
