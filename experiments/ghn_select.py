"""Train one GHN variant through the engine (search_spaces/ghn_train_digits.yaml + --set overrides) and
measure Kendall's tau of its predicted validation accuracy against the selection-cell references
(experiments/out/ref_*.json, cells sampled with seed 2000, not the report's seed-1000 cells).
Usage: python experiments/ghn_select.py NAME [decoder/strategy/budget overrides...]"""
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from scipy.stats import kendalltau, spearmanr

from evohyper.config import load_config
from evohyper.engine.evaluation import Evaluator
from evohyper.engine.runner import run as run_search
from evohyper.families.nas.space import graph_from_json

torch.set_num_threads(1)
name, overrides = sys.argv[1], sys.argv[2:]
out = Path("experiments/out")
out.mkdir(parents=True, exist_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    cfg = load_config("search_spaces/ghn_train_digits.yaml", [f"output.runs_dir={tmp}", *overrides])
    t0 = time.perf_counter()
    result, run_dir = run_search(cfg)
    secs = time.perf_counter() - t0
    shutil.copyfile(run_dir / "best" / "decoder_weights.pt", out / f"ghn_{name}.pt")
dec_over = [o for o in overrides if o.startswith("decoder.") and o.split("=")[0].split(".")[1]
            in ("hidden", "virtual_edges", "passes")]
evo = load_config("search_spaces/nas_regularized_evolution_digits.yaml",
                  [*dec_over, f"decoder.weights={out / f'ghn_{name}.pt'}"])
ev = Evaluator(evo.spec(), components=evo.components())
refs = sorted(out.glob("ref_*.json"))
cells = [graph_from_json(c) for c in json.loads(refs[0].read_text())["cells"]]
with torch.no_grad():
    pred = ev.task.evaluate(ev.decoder.decode(cells), 0).metrics["val_accuracy"].tolist()
res = {"name": name, "overrides": overrides, "train_seconds": secs, "pred": pred, "taus": {}}
for r in refs:
    val = json.loads(r.read_text())["val"]
    res["taus"][r.stem] = {"tau": float(kendalltau(pred, val)[0]), "rho": float(spearmanr(pred, val)[0])}
(out / f"sel_{name}.json").write_text(json.dumps(res, indent=1))
print(name, f"{secs:.0f}s", json.dumps(res["taus"]))
