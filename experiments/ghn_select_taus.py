"""Recompute every selection variant's tau against every reference present; print the table, and the
taus between references (their noise ceiling)."""
import itertools
import json
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

out = Path("experiments/out")
refs = {r.stem: json.loads(r.read_text())["val"] for r in sorted(out.glob("ref_*.json"))}

avg = {}
for steps in sorted({k.split("_")[1] for k in refs}):
    ks = [k for k in refs if k.split("_")[1] == steps]
    if len(ks) > 1:
        avg[f"ref_{steps}_avg{len(ks)}x3"] = list(np.mean([refs[k] for k in ks], 0))
refs.update(avg)
for a, b in itertools.combinations(refs, 2):
    print(f"ref {a} vs {b}: tau {kendalltau(refs[a], refs[b])[0]:.3f}")
for f in sorted(out.glob("sel_*.json")):
    v = json.loads(f.read_text())
    v["taus"] = {k: float(kendalltau(v["pred"], r)[0]) for k, r in refs.items()}
    f.write_text(json.dumps(v, indent=1))
    print(v["name"], v["overrides"], f"{v['train_seconds']:.0f}s", {k: round(t, 3) for k, t in v["taus"].items()})
