"""The circuit-design report's numbers, owned here: the lengths, the paper's table, every method's column
on the same targets, and the tables by length.

Why a module of its own: the plots (``circuit_design_write.py``), the text (``circuit_design_text.py``) and
the shape checks (``circuit_design_shape.py``) all read these; kept in the writer, the text and the writer
imported each other.
"""
from __future__ import annotations

import numpy as np

from evohyper.families.circuits.space import DEFAULT_SPACE as SPACE

LENGTHS = list(SPACE.lengths)
PUBLISHED = {  # Rotman & Wolf (2020), Table 1: accuracy by length 4..10
    "exact": {"GA": [.58, .28, .09, .03, .01, 0, 0], "GRU": [.01, 0, 0, 0, 0, 0, 0],
              "GRU per length": [.30, .08, .02, 0, 0, 0, 0], "hypernet, GRU-only": [.07, .05, .04, .01, 0, 0, 0],
              "ours w/o simulator": [.30, .41, .50, .46, .44, .42, .42], "ours": [.32, .42, .51, .46, .44, .42, .43]},
    "kinds_match": {"GA": [.66, .35, .15, .05, .02, 0, 0], "ours": [.36, .45, .54, .47, .49, .47, .46]},
}
NAMES = {"exact": "exact (kinds + values)", "kinds_match": "kinds only (placements and elements, values ignored)",
         "equivalent": "response-equivalent (max |log(r / r_target)| < 0.01)"}


def by_length(values, lengths) -> list[float]:
    """The mean of ``values`` at each length of ``LENGTHS`` (``lengths``: each value's circuit length)."""
    v, ln = np.asarray(values, dtype=float), np.asarray(lengths)
    return [float(v[ln == n].mean()) for n in LENGTHS]


def columns(res: dict) -> dict[str, dict]:
    """Every method's per-target metrics and lengths, on the GA's targets (the first ga_per_length test
    targets per length) and, for the networks, on all their test targets."""
    s, test_len = res["settings"], res["test"].lengths.numpy()
    cols = {}
    for label, ga in res["ga"].items():
        cols[f"GA ({'same wall-clock' if label != 'big' else f'{s.big_budget} evaluations'})"] = {
            **{m: ga[m] for m in ("exact", "kinds_match", "equivalent")}, "length": ga["length"]}
    for name, net in res["nets"].items():
        for mode, suffix in (("greedy", " w/o simulator"), ("full", "")):
            cols[name + suffix] = {**{m: net[mode][m] for m in ("exact", "kinds_match", "equivalent")},
                                   "length": test_len.tolist()}
    cols["hybrid: GA seeded by ours"] = {**{m: res["hybrid"][m] for m in ("exact", "kinds_match", "equivalent")},
                                         "length": res["hybrid"]["length"]}
    return cols


def same_targets(res: dict, col: dict) -> dict:
    """A network column restricted to the GA's targets (first ga_per_length per length)."""
    s = res["settings"]
    if len(col["length"]) != s.nn_per_length * len(LENGTHS):    # a GA column: already on those targets
        return col
    keep = np.arange(len(col["length"])) % s.nn_per_length < s.ga_per_length
    return {k: list(np.asarray(v)[keep]) for k, v in col.items()}


def table(res: dict, metric: str, methods: list[str], restrict: bool) -> list[str]:
    cols = columns(res)
    head = ["| length | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    data = {m: (same_targets(res, cols[m]) if restrict else cols[m]) for m in methods}
    rows = []
    for i, n in enumerate(LENGTHS):
        cells = []
        for m in methods:
            ours = by_length(data[m][metric], data[m]["length"])[i]
            paper = PUBLISHED.get(metric, {}).get("GA" if m.startswith("GA") else m)
            cells.append(f"{ours:.2f} / {paper[i]:.2f}" if paper and ", paper's input" not in m else f"{ours:.2f}")
        rows.append(f"| {n} | " + " | ".join(cells) + " |")
    means = [np.mean(by_length(data[m][metric], data[m]["length"])) for m in methods]
    rows.append("| mean 4-10 | " + " | ".join(f"**{v:.3f}**" for v in means) + " |")
    return head + rows
