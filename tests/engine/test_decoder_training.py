"""``train_decoder`` (outside a search) and the gradient strategy running a training config through the
engine produce the same generator: one training step, minibatches and noise from (seed, global step)."""
from __future__ import annotations

import torch

from evohyper.config import load_config
from evohyper.engine.decoder_training import DecoderTraining, train_decoder
from evohyper.engine.runner import build_search
from evohyper.families.hypergan.decoder import HyperGANDecoder
from evohyper_tasks.digits import DigitsTask

OPTS = {"noise": 8, "code": 8, "hidden": 16, "samples": 4, "beta": 1.0}


def test_train_decoder_equals_the_training_config_run():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        search = build_search(load_config("search_spaces/digits_hypergan_train.yaml", [
            "seed=3", "decoder.init_seed=0", *(f"decoder.{k}={v}" for k, v in OPTS.items()),
            "decoder.score_samples=4", "network.hidden=[16]", "strategy.steps_per_generation=4",
            "budget.generations=3"]), None)
        search.run()
        task = DigitsTask()
        dec = HyperGANDecoder(task.target({"hidden": [16]}), **OPTS)
        opts = train_decoder(dec, task, DecoderTraining(steps=12, seed=3, lr=1e-3), log_every=5)
        assert [h["step"] for h in opts.history] == [5, 10, 12]
        torch.testing.assert_close(dec.parameter_vector(), search.strategy.genotype[0], rtol=0, atol=1e-6)
    finally:
        torch.set_num_threads(before)
