"""``DecoderContract``: the conformance tests every decoder must pass, shipped for third parties.

Subclass it in a pytest module and say how to build your decoder::

    from evohyper.testing import DecoderContract

    class TestMyDecoder(DecoderContract):
        def make_decoder(self):
            return MyDecoder(MLPSpec([4, 8, 2]), width=3)

For genotypes other than vectors, override ``make_genotypes`` (a population of ``n`` random
genotypes, deterministic in ``seed``). pytest collects ``TestMyDecoder`` but never
``DecoderContract`` itself.
"""
from __future__ import annotations

import inspect
import json
import typing
from typing import Any, ClassVar

import torch

from evohyper.api.decoder import Decoder, DecoderInfo
from evohyper.api.phenotypes import Phenotypes
from evohyper.testing._strategy_contract import validator_understands


class DecoderContract:
    """Base class of a decoder's conformance tests; implement ``make_decoder`` in a ``Test*`` subclass."""

    #: population size of the test populations
    population: ClassVar[int] = 5
    #: standard deviation of random vector genotypes
    genotype_scale: ClassVar[float] = 0.5
    #: tolerance of "one batched call == one call per individual" (GEMMs of another size may round differently)
    rtol: ClassVar[float] = 1e-5
    atol: ClassVar[float] = 1e-6

    # ------------------------------------------------------------------ hooks
    def make_decoder(self) -> Decoder:
        """A new instance of the decoder under test (required)."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_decoder() returning a Decoder")

    def make_genotypes(self, decoder: Decoder, n: int, seed: int = 0) -> Any:
        """``n`` random genotypes (default, for vector decoders: ``randn [n, genome_size] * scale``)."""
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(n, decoder.genome_size, generator=gen) * self.genotype_scale

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def one(genotypes: Any, i: int) -> Any:
        return genotypes[i:i + 1]

    def assert_same(self, actual: Phenotypes, expected: Phenotypes, what: str) -> None:
        a, e = actual.tensors, expected.tensors
        assert a.keys() == e.keys(), f"{what}: tensor names differ: {sorted(a)} vs {sorted(e)}"
        for name in e:
            x, y = a[name].detach().double().cpu(), e[name].detach().double().cpu()
            assert x.shape == y.shape, f"{what}: tensor {name!r} has shape {tuple(x.shape)}, expected {tuple(y.shape)}"
            assert torch.allclose(x, y, rtol=self.rtol, atol=self.atol, equal_nan=True), \
                f"{what}: tensor {name!r} differs (max abs diff {float((x - y).abs().max()):.3g})"

    # ------------------------------------------------------------------ declaration
    def test_signature_is_a_valid_config_schema(self) -> None:
        cls = type(self.make_decoder())
        assert issubclass(cls, Decoder)
        assert (inspect.getdoc(cls) or "").strip(), "the first docstring line is the `evohyper list` description"
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert params and params[0].name == "target", "the first constructor argument is the target spec"
        hints = typing.get_type_hints(cls.__init__)
        for p in params[1:]:
            assert p.default is not p.empty, f"{cls.__name__}.{p.name} needs a default"
            hint = hints.get(p.name, typing.Any)
            assert validator_understands(hint), (
                f"{cls.__name__}.{p.name}: annotation {hint!r} is not one the config validator checks"
            )

    def test_declares_its_genotypes(self) -> None:
        decoder = self.make_decoder()
        info = decoder.info()
        assert isinstance(info, DecoderInfo)
        assert info.genotype == type(decoder).genotype_kind, "info().genotype must equal the class's genotype_kind"
        assert info.genome_size == decoder.genome_size
        if info.genome_size is not None:
            assert isinstance(info.genome_size, int) and info.genome_size >= 1

    def test_describe_is_json(self) -> None:
        json.dumps(self.make_decoder().describe())

    # ------------------------------------------------------------------ decoding
    def test_decodes_a_population_in_one_call(self) -> None:
        decoder = self.make_decoder()
        with torch.no_grad():
            phen = decoder.decode(self.make_genotypes(decoder, self.population), device="cpu")
        assert isinstance(phen, Phenotypes) and len(phen) == self.population
        for name, t in phen.tensors.items():
            assert torch.isfinite(t).all(), f"tensor {name!r} has non-finite values"

    def test_batched_decode_equals_one_individual_at_a_time(self) -> None:
        """An individual's phenotype never depends on who else is decoded with it."""
        decoder = self.make_decoder()
        genotypes = self.make_genotypes(decoder, self.population, seed=1)
        with torch.no_grad():
            batch = decoder.decode(genotypes, device="cpu")
            for i in range(self.population):
                single = decoder.decode(self.one(genotypes, i), device="cpu")
                self.assert_same(batch.select([i]), single, f"individual {i}")

    def test_deterministic(self) -> None:
        decoder = self.make_decoder()
        genotypes = self.make_genotypes(decoder, self.population, seed=2)
        with torch.no_grad():
            self.assert_same(decoder.decode(genotypes), decoder.decode(genotypes), "decoding twice")
        again = self.make_genotypes(self.make_decoder(), self.population, seed=2)
        with torch.no_grad():
            self.assert_same(self.make_decoder().decode(again), decoder.decode(genotypes), "a second instance")

    # ------------------------------------------------------------------ self-trained decoders
    def test_self_trained_parameters_round_trip(self) -> None:
        decoder = self.make_decoder()
        if decoder.info().trained_size is None:
            return
        vector = decoder.parameter_vector()
        assert vector.shape == (decoder.info().trained_size,)
        other = self.make_decoder()
        other.load_parameter_vector(vector + 1.0)
        assert torch.equal(other.parameter_vector(), vector + 1.0)
