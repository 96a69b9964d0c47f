"""The HyperGAN generator runs the shipped decoder contract (single networks and sets of k)."""
from evohyper import MLPSpec
from evohyper.families.hypergan import HyperGANDecoder
from evohyper.testing import DecoderContract


class TestHyperGANDecoder(DecoderContract):
    def make_decoder(self):
        return HyperGANDecoder(MLPSpec([8, 6, 3]), noise=4, code=4, hidden=8)


class TestHyperGANSets(DecoderContract):
    def make_decoder(self):
        return HyperGANDecoder(MLPSpec([8, 6, 3]), noise=4, code=4, hidden=8, set_size=3)
