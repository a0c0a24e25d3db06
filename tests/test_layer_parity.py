"""One parametrized parity test over the declarative layer table, and the registry guard."""

from __future__ import annotations

import zlib

import keras
import pytest

from packager.converters.registry import registered_classes
from tests.helpers import describe_failures, parity_of, randomize_weights
from tests.layer_cases import CASES, LayerCase


def _model(layer_case: LayerCase) -> keras.Model:
    if isinstance(layer_case.input_shape, list):  # a merge layer: one Input per shape
        inputs = [keras.Input(shape) for shape in layer_case.input_shape]
        model = keras.Model(inputs, layer_case.build()(inputs))
    else:
        inputs = keras.Input(layer_case.input_shape, dtype=layer_case.input_dtype)
        model = keras.Sequential([inputs, layer_case.build()])
    # crc32, not hash(): str hashes change from run to run, and a failure must reproduce.
    randomize_weights(model, seed=zlib.crc32(layer_case.id.encode()))
    return model


@pytest.mark.parametrize("layer_case", CASES, ids=[c.id for c in CASES])
def test_layer_parity(layer_case: LayerCase):
    parity = parity_of(_model(layer_case), atol=layer_case.atol, rtol=layer_case.rtol)
    assert parity.passed, f"{layer_case.id}: {describe_failures(parity)}"
    assert parity.max_abs_err < 1e-3, f"{layer_case.id}: max abs err {parity.max_abs_err:.3g}"


def test_every_registered_converter_has_a_case():
    covered = {cls for c in CASES for cls in c.covers}
    missing = sorted(set(registered_classes()) - covered)
    assert not missing, f"converters without a parity case in tests/layer_cases.py: {missing}"


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
