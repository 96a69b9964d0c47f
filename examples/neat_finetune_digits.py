"""Evolve a network with NEAT on digits, export it as a plain torch module, fine-tune it by gradient.

    python examples/neat_finetune_digits.py [--generations 50] [--steps 100] [--seed 0] [--run-dir RUN]

Prints the held-out test accuracy of the evolved network before and after ``--steps`` Adam steps on
the training split (minibatches of 64). The module's weights, biases and responses are ordinary
``nn.Parameter``s; its topology (what NEAT evolved) stays fixed: links NEAT did not evolve get no gradient.
"""
from __future__ import annotations

import argparse

import torch

from evohyper.config import apply_overrides, load_raw, validate
from evohyper.engine.runner import run
from evohyper.export import load_best, to_module
from evohyper_tasks.digits import DigitsTask


def accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((net(x).argmax(-1) == y).float().mean())


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--generations", type=int, default=50)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--run-dir", help="fine-tune the best network of this finished run instead of evolving one")
    args = p.parse_args(argv)

    run_dir = args.run_dir
    if run_dir is None:                                        # 1. evolve (the engine, as `evohyper run`)
        config = validate(apply_overrides(load_raw("search_spaces/neat_digits.yaml"), [
            f"budget.generations={args.generations}", f"seed={args.seed}", f"output.runs_dir={args.runs_dir}"]))
        _, run_dir = run(config)
    phenotypes, _ = load_best(run_dir)                         # 2. the best network, rebuilt from the run
    net = to_module(phenotypes, 0)                             #    ... as a plain torch.nn.Module

    task = DigitsTask()
    task.setup("cpu")
    x_test, y_test = task.split("test", torch.device("cpu"))
    before = accuracy(net, x_test, y_test)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)         # 3. fine-tune by gradient
    step = 0
    while step < args.steps:
        for x, y in task.train_batches(64, seed=args.seed + step):
            loss = torch.nn.functional.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step == args.steps:
                break
    after = accuracy(net.eval(), x_test, y_test)
    nodes = len(phenotypes.genomes[0].nodes)
    links = sum(c.enabled for c in phenotypes.genomes[0].connections.values())
    print(f"run: {run_dir}\nevolved network: {nodes} nodes, {links} enabled links")
    print(f"test accuracy: evolved {before:.3f} -> after {args.steps} Adam steps {after:.3f}")
    return {"before": before, "after": after}


if __name__ == "__main__":
    main()
