"""The generic decoders run the shipped ``DecoderContract`` (as a third-party decoder would)."""
from evohyper import ConvSpec, MLPSpec
from evohyper.api import FullyRecurrentSpec
from evohyper.decoders import DirectDecoder, InputConditionedDecoder, StaticHyperDecoder
from evohyper.testing import DecoderContract

MLP = MLPSpec([6, 5, 3])
CONV = ConvSpec([1, 8, 8], [4, 4], 10)


class TestDirectMLP(DecoderContract):
    def make_decoder(self):
        return DirectDecoder(MLP)


class TestDirectConv(DecoderContract):
    def make_decoder(self):
        return DirectDecoder(CONV)


class TestDirectFullyRecurrent(DecoderContract):
    def make_decoder(self):
        return DirectDecoder(FullyRecurrentSpec(3, 2, 1))


class TestStaticHyperAll(DecoderContract):
    def make_decoder(self):
        return StaticHyperDecoder(CONV, layers=["conv1"], genotype="all")


class TestStaticHyperZ(DecoderContract):
    def make_decoder(self):
        return StaticHyperDecoder(MLP, genotype="z", mip=True)


class TestInputConditioned(DecoderContract):
    def make_decoder(self):
        return InputConditionedDecoder(MLP)
