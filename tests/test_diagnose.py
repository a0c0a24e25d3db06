"""Layer-by-layer parity diagnosis: corrupt one converted layer and check that it is the one named."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import torch
from keras import layers as L

from packager.assemble import convert
from packager.diagnose import diagnose_parity, find_divergence
from packager.keras_loader import describe, keras_layer_outputs, keras_predict
from packager.runtime import numpy_runner
from packager.validate import Parity, check_stage, keras_reference
from tests.helpers import randomize_weights

ATOL, RTOL = 1e-5, 1e-4


def cnn_lstm() -> keras.Model:
    """Conv and pooling run channels-first in torch, so their outputs must be moved back to compare."""
    model = keras.Sequential(
        [
            keras.Input((30, 3)),
            L.Conv1D(6, 3, padding="same", activation="relu", name="conv"),
            L.BatchNormalization(name="bn"),
            L.MaxPooling1D(2, name="pool"),
            L.Dropout(0.2, name="drop"),
            L.LSTM(5, return_sequences=True, name="lstm"),
            L.GlobalAveragePooling1D(name="gap"),
            L.Dense(3, activation="softmax", name="head"),
        ],
        name="cnn_lstm",
    )
    randomize_weights(model, seed=3)
    return model


def nested() -> keras.Model:
    """A Sequential used as a layer inside a functional model: its layers are named "block/<layer>"."""
    block = keras.Sequential(
        [keras.Input((8,)), L.Dense(6, activation="tanh", name="inner_a"), L.Dense(4, name="inner_b")], name="block"
    )
    inputs = keras.Input((8,), name="x")
    outputs = L.Dense(2, name="out")(block(L.Dense(8, activation="relu", name="pre")(inputs)))
    model = keras.Model(inputs, outputs, name="outer")
    randomize_weights(model, seed=4)
    return model


def _setup(model: keras.Model):
    graph = describe(model)
    converted = convert(graph)
    inputs = [np.random.default_rng(0).standard_normal((2, *model.inputs[0].shape[1:])).astype("float32")]
    return graph, converted, inputs


def _corrupt(converted, layer: str) -> None:
    """Add N(0, 0.5) noise to the first parameter (or buffer: BatchNorm's folded scale) of `layer`'s module.

    Noise, not a constant: a constant shift of a softmax layer's weights would cancel out.
    """
    module = converted.module.get_submodule(converted.attributes[layer])
    first = next(itertools.chain(module.parameters(), module.buffers()))
    with torch.no_grad():
        first.add_(0.5 * torch.randn(first.shape, generator=torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("factory", [cnn_lstm, nested], ids=["cnn_lstm", "nested"])
def test_clean_conversion_has_no_divergent_layer(factory):
    model = factory()
    graph, converted, inputs = _setup(model)
    keras_out = keras_layer_outputs(model, inputs)
    assert set(keras_out) >= {name for name, attr in converted.attributes.items() if attr}, sorted(keras_out)
    found = find_divergence(graph, converted, keras_out, inputs, ATOL, RTOL)
    assert found is None, found.describe()


@pytest.mark.parametrize(
    ("factory", "layer"),
    [
        (cnn_lstm, "conv"),
        (cnn_lstm, "bn"),
        (cnn_lstm, "lstm"),
        (cnn_lstm, "head"),
        (nested, "block/inner_a"),
        (nested, "out"),
    ],
)
def test_corrupted_layer_is_named(factory, layer):
    model = factory()
    graph, converted, inputs = _setup(model)
    _corrupt(converted, layer)
    found = find_divergence(graph, converted, keras_layer_outputs(model, inputs), inputs, ATOL, RTOL)
    assert found is not None, f"corrupting {layer} went unnoticed"
    assert found.layer == layer, found.describe()
    assert found.max_abs_err > 1e-3, found.describe()
    assert found.input_err is not None and found.input_err <= ATOL, found.describe()
    assert found.describe().startswith(f"first diverging layer: {layer} ({graph.layers[layer].class_name})")


def test_layer_whose_module_raises_is_named():
    model = cnn_lstm()
    graph, converted, inputs = _setup(model)
    head = converted.module.get_submodule(converted.attributes["head"])
    linear = next(m for m in head.modules() if isinstance(m, torch.nn.Linear))
    linear.weight = torch.nn.Parameter(torch.zeros(3, 7))  # the Dense reads 5 features, not 7
    found = find_divergence(graph, converted, keras_layer_outputs(model, inputs), inputs, ATOL, RTOL)
    assert found is not None and found.layer == "head", found
    assert "torch raised RuntimeError" in found.describe(), found.describe()


def test_diagnose_parity_uses_the_failing_case():
    """What the export's parity error says: the worst failing case is replayed layer by layer."""
    model = cnn_lstm()
    graph, converted, _ = _setup(model)
    _corrupt(converted, "lstm")
    reference = keras_reference(graph, lambda xs: keras_predict(model, xs))
    parity = Parity(ATOL, RTOL)
    check_stage("eager", numpy_runner(converted.module), reference, parity)
    assert not parity.passed
    text = diagnose_parity(graph, converted, reference, parity, lambda xs: keras_layer_outputs(model, xs))
    assert text.startswith("first diverging layer: lstm (LSTM), max abs err"), text
