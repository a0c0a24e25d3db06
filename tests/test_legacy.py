"""Legacy files: each normalization on a small synthetic config, and weight layouts checked against
numpy implementations of what the old layer computed (not against packager's own conversion).

The synthetic HDF5 files are written like Keras 1/2 wrote them: `model_config` JSON, `keras_version`,
`backend`, and `model_weights/<layer>/` groups listed by `layer_names` / `weight_names`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from keras import layers as L

from packager.assemble import convert
from packager.errors import BadModelFile
from packager.keras_loader import keras_predict, load_model
from packager.legacy import (
    convert_layer_weights,
    legacy_rnn_initial_state,
    normalize,
    sequential_input_layer,
    sequential_list_config,
)
from packager.reader import RawModel
from packager.runtime import numpy_runner

RNG = np.random.default_rng(0)


def write_h5(
    path: Path, config: dict, weights: dict, keras_version: str | None = "2.2.4", backend="tensorflow"
) -> Path:
    """A Keras 1/2 style HDF5 model file. `weights`: layer name -> [(weight name, array)]."""
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        if keras_version:
            f.attrs["keras_version"] = keras_version.encode()
        if backend:
            f.attrs["backend"] = backend.encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [name.encode() for name in weights]
        for name, pairs in weights.items():
            layer = group.create_group(name)
            layer.attrs["weight_names"] = [w.encode() for w, _ in pairs]
            for w, array in pairs:
                if w not in layer:
                    layer.create_dataset(w, data=array)
    return path


def raw_of(config: dict, version: str | None = "2.2.4", weights: dict | None = None, fmt="hdf5") -> RawModel:
    return RawModel(Path("x.h5"), "0", fmt, version, "tensorflow", config, layer_weights=weights or {})


def rand(*shape) -> np.ndarray:
    return RNG.normal(0, 0.5, size=shape).astype("float32")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def hard_sigmoid_keras2(x):
    return np.clip(0.2 * x + 0.5, 0, 1)


def torch_output(path: Path, inputs: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """(Keras reference, converted torch) outputs for `inputs`, and the normalizations applied."""
    loaded = load_model(path)
    module = convert(loaded.graph).module
    return keras_predict(loaded.keras_model, inputs), numpy_runner(module)(inputs), loaded.normalizations


def keras2_lstm_entry(name: str, units: int, **config) -> dict:
    base = {"name": name, "units": units, "activation": "tanh", "recurrent_activation": "hard_sigmoid"}
    return {"class_name": "LSTM", "config": {**base, "return_sequences": False, "implementation": 1, **config}}


# ---------------------------------------------------------------------------------------------
# Config fixes


def test_bare_list_sequential_gets_a_config_dict_and_an_input_layer():
    config = {"class_name": "Sequential", "config": [keras2_lstm_entry("lstm_1", 4, batch_input_shape=[None, 9, 3])]}
    assert sequential_list_config(config)
    assert sequential_input_layer(config)
    first = config["config"]["layers"][0]
    assert first == {
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, 9, 3], "dtype": "float32", "name": "lstm_1_input"},
    }


def test_keras2_sequential_without_input_layer_builds_with_one_batch_axis(tmp_path):
    """Keras 2.2.4/2.3: the first layer carries batch_input_shape; Keras 3 alone adds a second batch axis."""
    conv = {
        "class_name": "Conv1D",
        "config": {"name": "conv1d_1", "filters": 2, "kernel_size": [3], "batch_input_shape": [None, 8, 5]},
    }
    flat = {"class_name": "Flatten", "config": {"name": "flatten_1"}}
    dense = {"class_name": "Dense", "config": {"name": "dense_1", "units": 3}}
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [conv, flat, dense]}}
    weights = {
        "conv1d_1": [("conv1d_1/kernel:0", rand(3, 5, 2)), ("conv1d_1/bias:0", rand(2))],
        "flatten_1": [],
        "dense_1": [("dense_1/kernel:0", rand(12, 3)), ("dense_1/bias:0", rand(3))],
    }
    path = write_h5(tmp_path / "m.h5", config, weights, "2.3.1")
    x = rand(2, 8, 5)
    expected, got, applied = torch_output(path, [x])
    assert "sequential_input_layer" in applied
    assert np.abs(expected[0] - got[0]).max() < 1e-5
    # numpy: valid Conv1D, flatten (time, channels), dense
    k, b = weights["conv1d_1"][0][1], weights["conv1d_1"][1][1]
    conv_out = np.stack([np.einsum("btc,tcf->bf", x[:, t : t + 3], k) + b for t in range(6)], 1)
    reference = conv_out.reshape(2, -1) @ weights["dense_1"][0][1] + weights["dense_1"][1][1]
    assert np.abs(expected[0] - reference).max() < 1e-5


def test_time_major_false_is_dropped_and_true_refused():
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [keras2_lstm_entry("l", 3, time_major=False, batch_input_shape=[None, 4, 2])],
        },
    }
    result = normalize(raw_of(config, "2.10.0"))
    assert "removed_rnn_arguments" in result.applied
    assert "time_major" not in json.dumps(result.config)
    config["config"]["layers"][0]["config"]["time_major"] = True
    with pytest.raises(BadModelFile, match="time_major=True"):
        normalize(raw_of(config, "2.10.0"))


def test_initializer_dtype_is_dropped():
    init = {"class_name": "GlorotUniform", "config": {"dtype": "float32", "seed": None}}
    entry = {"class_name": "Dense", "config": {"name": "d", "units": 2, "kernel_initializer": init}}
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [entry]}}
    result = normalize(raw_of(config, "2.2.4-tf"))
    assert result.applied == ["initializer_dtype"]
    assert result.config["config"]["layers"][0]["config"]["kernel_initializer"]["config"] == {"seed": None}


def test_keras1_class_and_argument_names():
    conv = {
        "class_name": "Convolution1D",
        "config": {
            "name": "c",
            "nb_filter": 4,
            "filter_length": 3,
            "subsample_length": 1,
            "border_mode": "same",
            "init": "uniform",
            "bias": True,
            "W_regularizer": None,
            "input_dim": None,
            "activation": "relu",
        },
    }
    lstm = {"class_name": "LSTM", "config": {"name": "l", "output_dim": 5, "inner_activation": "hard_sigmoid"}}
    drop = {"class_name": "Dropout", "config": {"name": "d", "p": 0.2}}
    config = {"class_name": "Sequential", "config": [conv, lstm, drop]}
    result = normalize(raw_of(config, "1.1.1"))
    conv_config, lstm_config, drop_config = (e["config"] for e in result.config["config"]["layers"])
    assert result.config["config"]["layers"][0]["class_name"] == "Conv1D"
    assert conv_config == {
        "name": "c",
        "filters": 4,
        "kernel_size": 3,
        "strides": 1,
        "padding": "same",
        "use_bias": True,
        "activation": "relu",
    }
    assert lstm_config["units"] == 5 and lstm_config["recurrent_activation"]["config"] == "packager>hard_sigmoid_keras2"
    assert drop_config == {"name": "d", "rate": 0.2}
    for fix in ("sequential_list_config", "keras1_class_names", "keras1_arguments", "keras2_hard_sigmoid"):
        assert fix in result.applied


def test_keras3_configs_are_left_alone():
    """A Keras 3 Embedding keeps output_dim; nothing applies to a current file."""
    entry = {"class_name": "Embedding", "config": {"name": "e", "input_dim": 5, "output_dim": 3}}
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [entry]}}
    result = normalize(raw_of(copy.deepcopy(config), "3.8.0", fmt="keras-zip"))
    assert result.applied == [] and result.config == config


def test_hard_sigmoid_only_rewritten_for_keras2_files():
    for version, expected in (("2.0.5", True), ("3.5.0", False)):
        entry = keras2_lstm_entry("l", 3, batch_input_shape=[None, 4, 2])
        result = normalize(raw_of({"class_name": "Sequential", "config": [entry]}, version))
        assert ("keras2_hard_sigmoid" in result.applied) is expected, version


def test_wrapped_layers_get_a_module():
    inner = {"class_name": "Dense", "config": {"name": "d", "units": 2}}
    entry = {"class_name": "TimeDistributed", "config": {"name": "td", "layer": inner}}
    result = normalize(raw_of({"class_name": "Sequential", "config": {"name": "s", "layers": [entry]}}, "2.10.0"))
    assert result.config["config"]["layers"][0]["config"]["layer"]["module"] == "keras.layers"


def test_legacy_initial_state_node_becomes_keras3_kwargs():
    decoder = {
        "class_name": "LSTM",
        "config": {"name": "dec"},
        "inbound_nodes": [[["dec_in", 0, 0, {}], ["enc", 0, 1, {}], ["enc", 0, 2, {}]]],
    }
    model = {"class_name": "Model", "config": {"name": "m", "layers": [decoder]}}
    assert legacy_rnn_initial_state(model)
    node = decoder["inbound_nodes"][0]
    assert [t["config"]["keras_history"] for t in node["args"]] == [["dec_in", 0, 0]]
    assert [t["config"]["keras_history"] for t in node["kwargs"]["initial_state"]] == [["enc", 0, 1], ["enc", 0, 2]]


def test_keras2_seq2seq_file_means_initial_state(tmp_path):
    """The decoder gets the encoder's states: compare with the same model built natively in Keras 3."""
    units, feats = 4, 3
    enc = keras2_lstm_entry("enc", units, return_state=True, recurrent_activation="sigmoid")
    dec = keras2_lstm_entry("dec", units, return_sequences=True, recurrent_activation="sigmoid")
    enc["inbound_nodes"] = [[["enc_in", 0, 0, {}]]]
    dec["inbound_nodes"] = [[["dec_in", 0, 0, {}], ["enc", 0, 1, {}], ["enc", 0, 2, {}]]]
    inputs = [
        {
            "class_name": "InputLayer",
            "config": {"batch_input_shape": [None, None, feats], "name": n},
            "inbound_nodes": [],
        }
        for n in ("enc_in", "dec_in")
    ]
    for layer in (*inputs, enc, dec):
        layer["name"] = layer["config"]["name"]
    config = {
        "class_name": "Model",
        "config": {
            "name": "s2s",
            "layers": [*inputs, enc, dec],
            "input_layers": [["enc_in", 0, 0], ["dec_in", 0, 0]],
            "output_layers": [["dec", 0, 0]],
        },
    }
    weights = {
        name: [(f"{name}/kernel:0", rand(feats, 4 * units)), (f"{name}/recurrent_kernel:0", rand(units, 4 * units))]
        + [(f"{name}/bias:0", rand(4 * units))]
        for name in ("enc", "dec")
    }
    path = write_h5(tmp_path / "s2s.h5", config, {"enc_in": [], "dec_in": [], **weights})
    xs = [rand(2, 5, feats), rand(2, 6, feats)]
    expected, got, applied = torch_output(path, xs)
    assert applied == ["legacy_rnn_initial_state"]
    a, b = keras.Input((None, feats)), keras.Input((None, feats))
    _, h, c = L.LSTM(units, return_state=True)(a)
    native = keras.Model([a, b], L.LSTM(units, return_sequences=True)(b, initial_state=[h, c]))
    native.set_weights([w for name in ("enc", "dec") for _, w in weights[name]])
    assert np.abs(expected[0] - keras_predict(native, xs)[0]).max() < 1e-6
    assert np.abs(expected[0] - got[0]).max() < 1e-5


# ---------------------------------------------------------------------------------------------
# Keras 2 semantics


def numpy_lstm(x, kernel, recurrent, bias, rec_act, gates="ifco"):
    """Keras LSTM, last output; kernel blocks in `gates` order."""
    units = recurrent.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        part = {g: z[:, i * units : (i + 1) * units] for i, g in enumerate(gates)}
        i, f, o = rec_act(part["i"]), rec_act(part["f"]), rec_act(part["o"])
        c = f * c + i * np.tanh(part["c"])
        h = o * np.tanh(c)
    return h


def test_keras2_hard_sigmoid_is_the_old_formula(tmp_path):
    """A Keras 2 LSTM with hard_sigmoid computes clip(0.2x + 0.5), in the Keras reference and in torch."""
    kernel, recurrent, bias = rand(3, 16) * 4, rand(4, 16) * 4, rand(16)  # large: far outside [-2.5, 2.5]
    entry = keras2_lstm_entry("lstm_1", 4, batch_input_shape=[None, 6, 3])
    config = {"class_name": "Sequential", "config": [entry]}
    names = [("lstm_1/kernel:0", kernel), ("lstm_1/recurrent_kernel:0", recurrent), ("lstm_1/bias:0", bias)]
    path = write_h5(tmp_path / "m.h5", config, {"lstm_1": names}, "2.0.5")
    x = rand(3, 6, 3) * 3
    expected, got, applied = torch_output(path, [x])
    reference = numpy_lstm(x, kernel, recurrent, bias, hard_sigmoid_keras2)
    keras3_formula = numpy_lstm(x, kernel, recurrent, bias, lambda v: np.clip(v / 6 + 0.5, 0, 1))
    assert "keras2_hard_sigmoid" in applied
    assert np.abs(expected[0] - reference).max() < 1e-5, "the Keras reference does not use the Keras 2 formula"
    assert np.abs(got[0] - reference).max() < 1e-5
    assert np.abs(keras3_formula - reference).max() > 1e-2, "the test cannot tell the two formulas apart"


@pytest.mark.parametrize("bias_shape", [(9,), (2, 9)], ids=["reset_after_false", "reset_after_true"])
def test_keras2_gru_without_reset_after_reads_the_bias_shape(tmp_path, bias_shape):
    entry = {"class_name": "GRU", "config": {"name": "gru_1", "units": 3, "batch_input_shape": [None, 5, 2]}}
    weights = {"gru_1": [("gru_1/kernel:0", rand(2, 9)), ("gru_1/recurrent_kernel:0", rand(3, 9))]}
    weights["gru_1"].append(("gru_1/bias:0", rand(*bias_shape)))
    path = write_h5(tmp_path / "gru.h5", {"class_name": "Sequential", "config": [entry]}, weights, "2.0.5")
    x = rand(2, 5, 2)
    expected, got, applied = torch_output(path, [x])
    assert "keras2_gru_reset_after" in applied
    assert np.abs(expected[0] - got[0]).max() < 1e-5
    assert load_model(path).graph.layers["gru_1"].config["reset_after"] is (len(bias_shape) == 2)


# ---------------------------------------------------------------------------------------------
# Weight layouts


def test_keras1_lstm_per_gate_weights(tmp_path):
    """Keras 1 stored W_i, U_i, b_i, W_c, U_c, b_c, W_f, U_f, b_f, W_o, U_o, b_o."""
    units, feats = 3, 2
    per_gate = {g: (rand(feats, units), rand(units, units), rand(units)) for g in "icfo"}
    names = [(f"lstm_1_{w}_{g}:0", per_gate[g][k]) for g in "icfo" for k, w in enumerate("WUb")]
    entry = {
        "class_name": "LSTM",
        "config": {
            "name": "lstm_1",
            "output_dim": units,
            "inner_activation": "sigmoid",
            "activation": "tanh",
            "batch_input_shape": [None, 4, feats],
            "consume_less": "cpu",
            "init": "glorot_uniform",
        },
    }
    path = write_h5(tmp_path / "k1.h5", {"class_name": "Sequential", "config": [entry]}, {"lstm_1": names}, "1.1.1")
    x = rand(2, 4, feats)
    expected, got, applied = torch_output(path, [x])
    kernel = np.concatenate([per_gate[g][0] for g in "icfo"], 1)
    recurrent = np.concatenate([per_gate[g][1] for g in "icfo"], 1)
    bias = np.concatenate([per_gate[g][2] for g in "icfo"])
    reference = numpy_lstm(x, kernel, recurrent, bias, sigmoid, gates="icfo")
    assert "keras1_rnn_weights" in applied
    assert np.abs(expected[0] - reference).max() < 1e-5
    assert np.abs(got[0] - reference).max() < 1e-5


def test_keras1_conv1d_kernel_layout(tmp_path):
    """Keras 1 Convolution1D kernels are (k, 1, in, out); the conv is a correlation."""
    kernel, bias = rand(3, 1, 4, 2), rand(2)
    entry = {
        "class_name": "Convolution1D",
        "config": {
            "name": "c",
            "nb_filter": 2,
            "filter_length": 3,
            "border_mode": "valid",
            "batch_input_shape": [None, 7, 4],
        },
    }
    path = write_h5(
        tmp_path / "c.h5",
        {"class_name": "Sequential", "config": [entry]},
        {"c": [("c_W", kernel), ("c_b", bias)]},
        "1.2.0",
    )
    x = rand(2, 7, 4)
    expected, got, applied = torch_output(path, [x])
    reference = np.stack([np.einsum("bkc,kcf->bf", x[:, t : t + 3], kernel[:, 0]) + bias for t in range(5)], 1)
    assert "keras1_conv1d_kernel" in applied
    assert np.abs(expected[0] - reference).max() < 1e-5 and np.abs(got[0] - reference).max() < 1e-5


def test_theano_kernels_are_flipped(tmp_path):
    """A Theano-trained Conv1D computed a true convolution: the stored kernel runs reversed in time."""
    kernel, bias = rand(3, 2, 2), rand(2)
    entry = {
        "class_name": "Conv1D",
        "config": {"name": "c", "filters": 2, "kernel_size": [3], "batch_input_shape": [None, 6, 2]},
    }
    weights = {"c": [("c/kernel:0", kernel), ("c/bias:0", bias)]}
    path = write_h5(tmp_path / "t.h5", {"class_name": "Sequential", "config": [entry]}, weights, "2.0.5", "theano")
    x = rand(1, 6, 2)
    expected, got, applied = torch_output(path, [x])
    reference = np.stack([np.einsum("bkc,kcf->bf", x[:, t : t + 3], kernel[::-1]) + bias for t in range(4)], 1)
    assert "theano_conv_kernels" in applied
    assert np.abs(expected[0] - reference).max() < 1e-5 and np.abs(got[0] - reference).max() < 1e-5


def cudnn_matrix(block: np.ndarray) -> np.ndarray:
    """How cuDNN reads a stored (in, units) block: its flat row-major bytes as a (units, in) matrix."""
    return block.reshape(-1).reshape(block.shape[1], block.shape[0])


def test_cudnn_lstm_weights(tmp_path):
    """CuDNNLSTM: gates i, f, c, o; y = W x + b_w + R h + b_r with cuDNN's reading of the blocks."""
    units, feats = 3, 2
    kernel, recurrent, bias = rand(feats, 4 * units), rand(units, 4 * units), rand(8 * units)
    entry = {"class_name": "CuDNNLSTM", "config": {"name": "cu", "units": units, "batch_input_shape": [None, 5, feats]}}
    weights = {"cu": [("cu/kernel:0", kernel), ("cu/recurrent_kernel:0", recurrent), ("cu/bias:0", bias)]}
    path = write_h5(tmp_path / "cu.h5", {"class_name": "Sequential", "config": [entry]}, weights, "2.2.4")
    x = rand(2, 5, feats)
    expected, got, applied = torch_output(path, [x])
    w = [cudnn_matrix(b) for b in np.hsplit(kernel, 4)]
    r = [cudnn_matrix(b) for b in np.hsplit(recurrent, 4)]
    b = np.split(bias[: 4 * units] + bias[4 * units :], 4)
    h = np.zeros((2, units))
    c = np.zeros_like(h)
    for t in range(5):
        i, f, g, o = (x[:, t] @ w[k].T + h @ r[k].T + b[k] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
    assert {"cudnn_rnn_weights", "cudnn_rnn_layers"} <= set(applied)
    assert np.abs(expected[0] - h).max() < 1e-5 and np.abs(got[0] - h).max() < 1e-5


def test_cudnn_gru_weights(tmp_path):
    """CuDNNGRU: Keras blocks z, r, h; reset gate applied after the recurrent matmul (+ its bias)."""
    units, feats = 3, 2
    kernel, recurrent, bias = rand(feats, 3 * units), rand(units, 3 * units), rand(6 * units)
    entry = {"class_name": "CuDNNGRU", "config": {"name": "cu", "units": units, "batch_input_shape": [None, 5, feats]}}
    weights = {"cu": [("cu/kernel:0", kernel), ("cu/recurrent_kernel:0", recurrent), ("cu/bias:0", bias)]}
    path = write_h5(tmp_path / "cu.h5", {"class_name": "Sequential", "config": [entry]}, weights, "2.2.4")
    x = rand(2, 5, feats)
    expected, got, _ = torch_output(path, [x])
    w = [cudnn_matrix(b) for b in np.hsplit(kernel, 3)]
    r = [cudnn_matrix(b) for b in np.hsplit(recurrent, 3)]
    bw, br = np.split(bias[: 3 * units], 3), np.split(bias[3 * units :], 3)
    h = np.zeros((2, units))
    for t in range(5):
        xz, xr, xh = (x[:, t] @ w[k].T + bw[k] for k in range(3))
        hz, hr, hh = (h @ r[k].T + br[k] for k in range(3))
        z, reset = sigmoid(xz + hz), sigmoid(xr + hr)
        h = z * h + (1 - z) * np.tanh(xh + reset * hh)
    assert np.abs(expected[0] - h).max() < 1e-5 and np.abs(got[0] - h).max() < 1e-5


def test_bidirectional_keras1_weights_convert_per_direction():
    """24 Keras 1 arrays (12 per direction) become [kernel, recurrent, bias] forward, then backward."""
    directions = [[rand(*shape) for _ in "icfo" for shape in ((2, 3), (3, 3), (3,))] for _ in range(2)]
    entry = {"class_name": "Bidirectional", "config": {"layer": {"class_name": "LSTM", "config": {}}}}
    converted, fixes = convert_layer_weights(entry, directions[0] + directions[1])
    assert fixes == ["keras1_rnn_weights"] and [a.shape for a in converted] == [(2, 12), (3, 12), (12,)] * 2
    for half, arrays in enumerate(directions):
        gates = {g: arrays[3 * k : 3 * k + 3] for k, g in enumerate("icfo")}  # stored i, c, f, o
        expected_kernel = np.concatenate([gates[g][0] for g in "ifco"], 1)  # Keras 2: i, f, c, o
        assert np.array_equal(converted[3 * half], expected_kernel), f"direction {half}"


# ---------------------------------------------------------------------------------------------
# Files whose weights cannot be used


def test_missing_and_damaged_weight_groups_are_listed_together(tmp_path):
    """Keras 3.1 wrote a Bidirectional's halves under one set of names, failed, and stopped."""
    inputs = keras.Input((1, 4))
    x = L.Bidirectional(L.LSTM(2), name="bi")(inputs)
    model = keras.Model(inputs, L.Dense(1, name="head")(x))
    config = {"class_name": "Functional", "config": model.get_config()}
    names = [("kernel", rand(4, 8)), ("recurrent_kernel", rand(2, 8)), ("bias", rand(8))]
    path = write_h5(tmp_path / "damaged.h5", config, {"bi": names + names}, "3.1.1")
    with pytest.raises(BadModelFile) as error:
        load_model(path)
    message = str(error.value)
    assert "bi (Bidirectional): 6 weights listed under 3 distinct names" in message, message
    assert "head (Dense): no weights stored" in message, message


def test_hdf5_named_keras_is_read_as_hdf5(tmp_path):
    entry = {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [None, 3]}}
    weights = {"d": [("d/kernel:0", rand(3, 2)), ("d/bias:0", rand(2))]}
    path = write_h5(tmp_path / "model.keras", {"class_name": "Sequential", "config": [entry]}, weights, "2.9.0")
    loaded = load_model(path)
    assert loaded.raw.format == "hdf5"
    x = rand(2, 3)
    assert (
        np.abs(keras_predict(loaded.keras_model, [x])[0] - (x @ weights["d"][0][1] + weights["d"][1][1])).max() < 1e-6
    )


def test_nested_model_weights_in_keras2_order(tmp_path):
    """Keras 2 saved a nested model as one group: all trainable weights first, then non-trainable."""
    inner = keras.Sequential(
        [
            keras.Input((4,)),
            L.BatchNormalization(name="bn1"),
            L.Dense(3, name="dense"),
            L.BatchNormalization(name="bn2"),
        ],
        name="block",
    )
    inputs = keras.Input((4,), name="x")
    model = keras.Model(inputs, L.Dense(2, name="head")(inner(inputs)))
    bn1 = [rand(4), rand(4), rand(4), np.abs(rand(4)) + 0.5]  # gamma, beta, mean, variance
    bn2 = [rand(3), rand(3), rand(3), np.abs(rand(3)) + 0.5]
    dense, head = [rand(4, 3), rand(3)], [rand(3, 2), rand(2)]
    trainable = [("bn1/gamma:0", bn1[0]), ("bn1/beta:0", bn1[1]), ("dense/kernel:0", dense[0])]
    trainable += [("dense/bias:0", dense[1]), ("bn2/gamma:0", bn2[0]), ("bn2/beta:0", bn2[1])]
    frozen = [("bn1/moving_mean:0", bn1[2]), ("bn1/moving_variance:0", bn1[3])]
    frozen += [("bn2/moving_mean:0", bn2[2]), ("bn2/moving_variance:0", bn2[3])]
    weights = {"x": [], "block": trainable + frozen, "head": [("head/kernel:0", head[0]), ("head/bias:0", head[1])]}
    config = {"class_name": "Functional", "config": model.get_config()}
    path = write_h5(tmp_path / "nested.h5", config, weights, "2.3.1")
    x = rand(5, 4)
    expected, got, _ = torch_output(path, [x])

    def batch_norm(v, gamma, beta, mean, variance):
        return (v - mean) / np.sqrt(variance + 1e-3) * gamma + beta

    reference = batch_norm(batch_norm(x, *bn1) @ dense[0] + dense[1], *bn2) @ head[0] + head[1]
    assert np.abs(expected[0] - reference).max() < 1e-5
    assert np.abs(got[0] - reference).max() < 1e-5
