"""Selection-cell references (cells sampled with seed 2000, disjoint from the report's seed 1000):
from-scratch validation accuracy under a few recipes, and the tau between two independent runs of each
recipe (the reference's own noise ceiling). Writes experiments/out/ref_<steps>_<seeds>_<seed>.json."""
import json
import random
import sys
import time
from pathlib import Path

import torch

from evohyper.families.nas.space import CellSpace, graph_to_json
from evohyper.families.nas.training import train_from_scratch
from evohyper_tasks.digits import image_split

torch.set_num_threads(1)
steps, seeds, seed = (int(a) for a in sys.argv[1:4])
n = int(sys.argv[4]) if len(sys.argv) > 4 else 60
space = CellSpace(nodes=6, max_inputs=2, channels=8)
rng = random.Random(2000)
cells = [space.sample(rng) for _ in range(n)]
t0 = time.perf_counter()
data = image_split()
val = [train_from_scratch(g, 8, data=data, steps=steps, seeds=seeds, seed=seed)["val_acc"] for g in cells]
out = Path("experiments/out")
out.mkdir(parents=True, exist_ok=True)
(out / f"ref_{steps}_{seeds}_{seed}.json").write_text(json.dumps(
    {"steps": steps, "seeds": seeds, "seed": seed, "val": val, "seconds": time.perf_counter() - t0,
     "cells": [graph_to_json(g) for g in cells]}))
print(steps, seeds, seed, "done", time.perf_counter() - t0)
