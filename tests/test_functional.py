"""Functional graphs: several inputs and outputs, branches, residual merges, shared layers, nested
models, Keras's input/output order, and the walker's layout decisions (one permute per conv run)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import torch
from keras import layers as L

from packager.assemble import convert
from packager.keras_loader import describe, keras_predict
from packager.modules.layout import to_channels_first, to_channels_last
from packager.pipeline import ExportOptions, export_model
from packager.runtime import numpy_runner
from tests.helpers import describe_failures, parity_of, randomize_weights


def _checked(model: keras.Model, seed: int = 0) -> None:
    randomize_weights(model, seed=seed)
    parity = parity_of(model)
    assert parity.passed, f"{model.name}: {describe_failures(parity)}"


def _moves(module: torch.nn.Module) -> tuple[int, int]:
    """(channels-first moves, channels-last moves) the walker put into the fx graph."""
    targets = [node.target for node in module.graph.nodes if node.op == "call_function"]
    return targets.count(to_channels_first), targets.count(to_channels_last)


def multi_io_model() -> keras.Model:
    """Two inputs of different kinds, three outputs declared in an order unlike creation order."""
    image = keras.Input((12, 12, 3), name="image")
    series = keras.Input((None, 4), name="series")
    x = L.Conv2D(6, 3, padding="same", activation="relu")(image)
    x = L.MaxPooling2D(2)(x)
    image_features = L.GlobalAveragePooling2D()(x)
    s = L.LSTM(5, return_sequences=True)(series)
    series_features = L.GlobalMaxPooling1D()(s)
    joined = L.Concatenate()([image_features, series_features])
    score = L.Dense(1, activation="sigmoid", name="score")(joined)
    classes = L.Dense(3, activation="softmax", name="classes")(joined)
    per_step = L.TimeDistributed(L.Dense(2), name="per_step")(s)
    return keras.Model([image, series], [per_step, classes, score], name="multi_io")


def test_multiple_inputs_and_outputs_keep_keras_order():
    model = multi_io_model()
    randomize_weights(model, seed=1)
    graph = describe(model)
    assert [t.name for t in graph.inputs] == ["image", "series"]
    converted = convert(graph).module
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((2, 12, 12, 3)).astype("float32"), rng.standard_normal((2, 7, 4)).astype("float32")]
    with torch.no_grad():
        got = converted(*[torch.from_numpy(x) for x in inputs])
    expected = keras_predict(model, inputs)
    assert [tuple(t.shape) for t in got] == [e.shape for e in expected] == [(2, 7, 2), (2, 3), (2, 1)]
    for i, (g, e) in enumerate(zip(got, expected)):
        err = float(np.abs(g.numpy() - e).max())
        assert err < 1e-5, f"output {i}: max abs err {err:.3g}"
    parity = parity_of(model)
    assert parity.passed, describe_failures(parity)


def test_residual_cnn_moves_channels_once_per_run():
    """conv -> BN -> relu -> conv, plus a 1x1 conv shortcut, Add, pool: one channel move in, one out."""
    inputs = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same")(inputs)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    shortcut = x
    x = L.SeparableConv2D(8, 3, padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(max_value=6.0)(x)
    x = L.Conv2D(8, 3, padding="same")(x)
    x = L.Add()([x, shortcut])
    residual = L.Conv2D(16, 1, strides=2)(x)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = L.Concatenate()([x, residual])  # channel axis, inside the channels-first run
    x = L.LayerNormalization()(x)
    x = L.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, L.Dense(4)(x), name="residual_cnn")
    _checked(model, seed=2)
    module = convert(describe(model)).module
    assert _moves(module) == (1, 0), f"moves (to channels-first, to channels-last): {_moves(module)}"


def test_merge_of_mixed_layouts_moves_only_the_minority():
    """Add(conv output, conv output, raw input): the raw input is moved, the conv outputs are not."""
    inputs = keras.Input((10, 4))
    a = L.Conv1D(4, 3, padding="same")(inputs)
    b = L.Conv1D(4, 5, padding="same")(inputs)
    merged = L.Add()([inputs, a, b])
    model = keras.Model(inputs, L.Conv1D(2, 1)(merged), name="mixed_layouts")
    _checked(model, seed=3)
    # One move of the input for the convs (shared by both and by Add), one move of the result out.
    assert _moves(convert(describe(model)).module) == (1, 1)


def test_shared_layer_is_one_module():
    left = keras.Input((6, 3), name="left")
    right = keras.Input((6, 3), name="right")
    encoder = L.LSTM(4, name="shared_lstm")
    dense = L.Dense(4, name="shared_dense")
    a = dense(encoder(left))
    b = dense(encoder(right))
    diff = L.Subtract()([a, b])
    model = keras.Model([left, right], [diff, L.Multiply()([a, b])], name="siamese")
    _checked(model, seed=4)
    graph = describe(model)
    assert [c.layer for c in graph.calls].count("shared_lstm") == 2
    module = convert(graph).module
    lstm_modules = [name for name, _ in module.named_children() if "shared_lstm" in name]
    assert lstm_modules == ["shared_lstm"], lstm_modules


def test_nested_models_are_inlined():
    """A Sequential and a Functional model used as layers, the Sequential one called twice."""
    block = keras.Sequential(
        [keras.Input((8,)), L.Dense(6, activation="tanh", name="d1"), L.Dense(5, name="d2")], name="block"
    )
    inner_in = keras.Input((5,))
    inner = keras.Model(inner_in, L.Dense(3, name="d3")(L.ReLU(name="act")(inner_in)), name="head")
    a = keras.Input((8,), name="a")
    b = keras.Input((8,), name="b")
    x = L.Add(name="sum")([block(a), block(b)])
    model = keras.Model([a, b], inner(x), name="outer")
    _checked(model, seed=5)
    graph = describe(model)
    assert list(graph.layers) == ["block/d1", "block/d2", "sum", "head/act", "head/d3"]
    assert [c.layer for c in graph.calls] == ["block/d1", "block/d2"] * 2 + ["sum", "head/act", "head/d3"]
    assert graph.calls[4].inputs == [graph.calls[1].outputs[0], graph.calls[3].outputs[0]]


def test_output_that_is_also_an_intermediate_and_repeated():
    inputs = keras.Input((7,))
    hidden = L.Dense(5, activation="relu", name="hidden")(inputs)
    out = L.Dense(2, name="out")(hidden)
    model = keras.Model(inputs, [hidden, out, hidden], name="taps")
    _checked(model, seed=6)


def test_bidirectional_with_states_and_two_outputs():
    inputs = keras.Input((None, 3))
    forward, backward = L.Bidirectional(L.GRU(4, return_sequences=True), merge_mode=None)(inputs)
    merged = L.Average()([forward, backward])
    model = keras.Model(inputs, [L.TimeDistributed(L.Dense(2))(merged), backward], name="bidi_two_outputs")
    _checked(model, seed=7)


def test_bidirectional_return_state_and_initial_state():
    inputs = keras.Input((9, 3))
    outputs = L.Bidirectional(L.LSTM(4, return_state=True), merge_mode="concat")(inputs)
    sequence, h_f, c_f, h_b, c_b = outputs
    decoder_in = keras.Input((5, 2))
    decoded = L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode="sum")(
        decoder_in, initial_state=[h_f, c_f, h_b, c_b]
    )
    model = keras.Model([inputs, decoder_in], [decoded, sequence, c_b], name="bidi_states")
    _checked(model, seed=8)


def test_convlstm_then_pool3d_and_time_distributed_cnn():
    """The layer families of the real LRCN / ConvLSTM files, in one graph with two branches."""
    clip = keras.Input((4, 16, 16, 3))
    c = L.ConvLSTM2D(4, 3, padding="same", return_sequences=True)(clip)
    c = L.MaxPooling3D((1, 2, 2))(c)
    c = L.TimeDistributed(L.Dropout(0.3))(c)
    c = L.Flatten()(c)
    t = L.TimeDistributed(L.Conv2D(4, 3, activation="relu"))(clip)
    t = L.TimeDistributed(L.MaxPooling2D(2))(t)
    t = L.TimeDistributed(L.Flatten())(t)
    t = L.LSTM(6)(t)
    joined = L.Concatenate()([L.Dense(6)(c), t])
    model = keras.Model(clip, L.Dense(3, activation="softmax")(joined), name="video")
    _checked(model, seed=9)


def test_bidirectional_config_without_backward_layer():
    """Keras 2 wrote no backward_layer for the default one: the converter rebuilds it as Keras does."""
    inputs = keras.Input((7, 3))
    model = keras.Model(inputs, L.Bidirectional(L.GRU(4, return_sequences=True), merge_mode="mul")(inputs))
    randomize_weights(model, seed=13)
    graph = describe(model)
    spec = next(s for s in graph.layers.values() if s.class_name == "Bidirectional")
    del spec.config["backward_layer"]
    converted = convert(graph).module
    x = np.random.default_rng(2).standard_normal((2, 7, 3)).astype("float32")
    err = float(np.abs(numpy_runner(converted)([x])[0] - keras_predict(model, [x])[0]).max())
    assert err < 1e-5, f"max abs err {err:.3g}"


def _worst_error(model: keras.Model, inputs: list[np.ndarray]) -> float:
    """Max |torch - Keras| over all outputs, eager and scripted, on these exact inputs."""
    module = convert(describe(model)).module
    expected = keras_predict(model, inputs)
    worst = 0.0
    for runner in (module, torch.jit.script(module)):
        got = numpy_runner(runner)(inputs)
        assert [g.shape for g in got] == [e.shape for e in expected]
        worst = max(worst, *(float(np.abs(g - e).max()) for g, e in zip(got, expected)))
    return worst


def test_mask_through_time_distributed_into_bidirectional():
    """Embedding(mask_zero) -> TimeDistributed(Dense) (passes the mask on) -> Bidirectional LSTM/GRU."""
    ids = keras.Input((None,), dtype="int32")
    x = L.Embedding(20, 6, mask_zero=True)(ids)
    x = L.TimeDistributed(L.Dense(5, activation="tanh"))(x)
    x = L.Bidirectional(L.LSTM(4, return_sequences=True))(x)
    x = L.Bidirectional(L.GRU(3), merge_mode="ave")(x)
    model = keras.Model(ids, L.Dense(2)(x), name="masked_bidi")
    randomize_weights(model, seed=11)
    rows = np.random.default_rng(0).integers(1, 20, size=(5, 9))
    rows[0, 6:] = 0  # post-padded
    rows[1, :4] = 0  # pre-padded
    rows[2, 3:5] = 0  # a hole
    rows[4, :] = 0  # nothing left
    err = _worst_error(model, [rows.astype("int32")])
    assert err < 1e-5, f"max abs err {err:.3g}"


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masking_into_conv_lstm(return_sequences, go_backwards):
    """Masking on 5-D input masks per cell; whole zero frames mask whole steps."""
    clip = keras.Input((5, 6, 6, 2))
    masked = L.Masking()(clip)
    out = L.ConvLSTM2D(3, 3, padding="same", return_sequences=return_sequences, go_backwards=go_backwards)(masked)
    model = keras.Model(clip, out, name="masked_convlstm")
    randomize_weights(model, seed=12)
    x = np.random.default_rng(1).standard_normal((3, 5, 6, 6, 2)).astype("float32")
    x[0, 3:] = 0.0  # trailing empty frames
    x[1, :2] = 0.0  # leading empty frames
    x[2, 2, :3] = 0.0  # some cells of one frame
    err = _worst_error(model, [x])
    assert err < 1e-5, f"max abs err {err:.3g}"


@pytest.mark.slow
def test_export_multi_io_file_keeps_order(tmp_path):
    """End to end from a .keras file: the artifact's forward takes and returns tensors in Keras order."""
    model = multi_io_model()
    randomize_weights(model, seed=10)
    path = tmp_path / "multi_io.keras"
    model.save(path)
    result = export_model(path, ExportOptions(output_dir=tmp_path / "out", bench=False))
    manifest = json.loads((result.directory / "manifest.json").read_text())
    assert [t["name"] for t in manifest["inputs"]] == ["image", "series"]
    assert [t["shape"] for t in manifest["outputs"]] == [[None, None, 2], [None, 3], [None, 1]]
    assert manifest["parity"]["passed"], manifest["parity"]["max_abs_err"]
    scripted = torch.jit.load(str(result.directory / "model.pt"))
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal((3, 12, 12, 3)).astype("float32"), rng.standard_normal((3, 11, 4)).astype("float32")]
    got = scripted(*[torch.from_numpy(x) for x in inputs])
    for i, (g, e) in enumerate(zip(got, keras_predict(model, inputs))):
        err = float(np.abs(g.detach().numpy() - e).max())
        assert err < 1e-5, f"output {i}: max abs err {err:.3g}"
