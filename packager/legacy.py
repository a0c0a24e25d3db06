"""Normalize what older Keras versions wrote so that Keras 3 builds the model the file meant.

Two kinds of fixes, each a small named function whose name goes into the manifest
(`source.normalizations`) when it changed something:

- config fixes rewrite the saved JSON (bare-list Sequential configs, missing InputLayer, Keras 1
  class and argument names, arguments Keras 3 removed, legacy `initial_state` wiring, Keras 2
  semantics such as the old `hard_sigmoid` and GRU `reset_after=False`);
- weight fixes rewrite one layer's arrays into Keras 3's order and layout (Keras 1 per-gate RNN
  weights, Keras 1 Conv1D kernels, CuDNNLSTM/CuDNNGRU weights, Theano-flipped kernels), chosen by
  the class the file wrote, before any renaming.

Nothing here imports TensorFlow or runs code from the file.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from packager.errors import BadModelFile
from packager.keras_config import MODEL_CLASSES, WRAPPED_KEYS
from packager.reader import RawModel

# packager's Keras-2 hard_sigmoid (registered in keras_loader), serialized as Keras 3 writes a
# registered function.
KERAS2_HARD_SIGMOID = {
    "module": "builtins",
    "class_name": "function",
    "config": "packager>hard_sigmoid_keras2",
    "registered_name": "function",
}

RNN_CLASSES = frozenset({"LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "RNN"})
RNN_WRAPPERS = frozenset({"Bidirectional"})

KERAS1_CLASS_NAMES = {
    "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "Convolution3D": "Conv3D",
    "AtrousConvolution1D": "Conv1D",
    "AtrousConvolution2D": "Conv2D",
    "SeparableConvolution2D": "SeparableConv2D",
    "Deconvolution2D": "Conv2DTranspose",
}

# Keras 1 argument -> Keras 2/3 argument, per family (Keras 2's legacy/interfaces.py).
_KERAS1_WEIGHT_ARGS = {
    "init": "kernel_initializer",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "bias": "use_bias",
}
_KERAS1_CONV_ARGS = {
    **_KERAS1_WEIGHT_ARGS,
    "nb_filter": "filters",
    "filter_length": "kernel_size",
    "subsample_length": "strides",
    "subsample": "strides",
    "border_mode": "padding",
    "atrous_rate": "dilation_rate",
    "dim_ordering": "data_format",
}
KERAS1_ARGUMENTS: dict[str, dict[str, str]] = {
    "Dense": {**_KERAS1_WEIGHT_ARGS, "output_dim": "units"},
    "Dropout": {"p": "rate"},
    "SpatialDropout1D": {"p": "rate"},
    "SpatialDropout2D": {"p": "rate", "dim_ordering": "data_format"},
    "GaussianDropout": {"p": "rate"},
    "GaussianNoise": {"sigma": "stddev"},
    "Embedding": {
        "init": "embeddings_initializer",
        "W_regularizer": "embeddings_regularizer",
        "W_constraint": "embeddings_constraint",
    },
    "Conv1D": _KERAS1_CONV_ARGS,
    "Conv2D": _KERAS1_CONV_ARGS,
    "Conv3D": _KERAS1_CONV_ARGS,
    "SeparableConv2D": _KERAS1_CONV_ARGS,
    "Conv2DTranspose": _KERAS1_CONV_ARGS,
    "MaxPooling1D": {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"},
    "AveragePooling1D": {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"},
    "MaxPooling2D": {"border_mode": "padding", "dim_ordering": "data_format"},
    "AveragePooling2D": {"border_mode": "padding", "dim_ordering": "data_format"},
    "UpSampling2D": {"dim_ordering": "data_format"},
    "ZeroPadding2D": {"dim_ordering": "data_format"},
    "Flatten": {},
    "Activation": {},
    "BatchNormalization": {},
}
_KERAS1_RNN_ARGS = {
    "output_dim": "units",
    "init": "kernel_initializer",
    "inner_init": "recurrent_initializer",
    "inner_activation": "recurrent_activation",
    "W_regularizer": "kernel_regularizer",
    "U_regularizer": "recurrent_regularizer",
    "b_regularizer": "bias_regularizer",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
}
for _rnn in ("LSTM", "GRU", "SimpleRNN"):
    KERAS1_ARGUMENTS[_rnn] = _KERAS1_RNN_ARGS

# Keras 1 keys with no Keras 3 counterpart. Initializers, regularizers and constraints only matter
# for training, and Keras 1 spelled them in ways Keras 3 no longer parses, so they go too.
KERAS1_DROPPED = frozenset(
    {
        "input_dim",
        "input_length",
        "input_dtype",
        "consume_less",
        "forget_bias_init",
        "mode",
        "beta_init",
        "gamma_init",
        "gamma_regularizer",
        "beta_regularizer",
        "kernel_initializer",
        "recurrent_initializer",
        "embeddings_initializer",
        "kernel_regularizer",
        "recurrent_regularizer",
        "bias_regularizer",
        "embeddings_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "recurrent_constraint",
        "bias_constraint",
        "embeddings_constraint",
    }
)
DIM_ORDERING = {"tf": "channels_last", "th": "channels_first", "default": "channels_last"}


def keras_major(version: str | None) -> int:
    """The major version the file was written with (3 when unknown, i.e. treat as current)."""
    try:
        return int(str(version).split(".")[0])
    except (TypeError, ValueError):
        return 3


def file_major(raw: RawModel) -> int:
    """The Keras major version of `raw`; an HDF5 file without `keras_version` is Keras 1 (as Keras 2 read it)."""
    if raw.keras_version is None and raw.format == "hdf5":
        return 1
    return keras_major(raw.keras_version)


def semantics_for(raw: RawModel) -> frozenset[str]:
    """Behaviour flags converters honour: "keras2" for files written by Keras 1/2."""
    return frozenset({"keras2"}) if file_major(raw) < 3 else frozenset()


@dataclass
class Normalized:
    """The config Keras 3 can build, the HDF5 weights in Keras 3 order, and the fixes applied."""

    config: dict
    weights: dict[str, list[np.ndarray]] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)

    def note(self, fix: str) -> None:
        if fix not in self.applied:
            self.applied.append(fix)


def normalize(raw: RawModel) -> Normalized:
    """Normalize config and (HDF5) weights of `raw`; the result names every fix that applied."""
    result = Normalized(config=copy.deepcopy(raw.config))
    major = file_major(raw)
    for fix in (sequential_list_config, sequential_input_layer, stray_input_shapes, legacy_rnn_initial_state):
        if _apply_to_models(fix, result.config):
            result.note(fix.__name__)
    # Weights are fixed by the class the file wrote, so before layer configs are renamed.
    result.weights = _normalize_weights(raw, result)
    for fix in _layer_fixes(major):
        if any([fix(entry) for entry in _all_layer_entries(result.config)]):
            result.note(fix.__name__)
    if major < 3 and any([keras2_gru_reset_after(entry, raw) for entry in _all_layer_entries(result.config)]):
        result.note(keras2_gru_reset_after.__name__)
    return result


# ----------------------------------------------------------------------------------------------
# Walking the config


def _model_entries(config: dict) -> Iterator[dict]:
    """The model config and every nested model config (Sequential / Functional / Model)."""
    yield config
    inner = config.get("config")
    layers = inner if isinstance(inner, list) else inner.get("layers", []) if isinstance(inner, dict) else []
    for entry in layers:
        if isinstance(entry, dict) and entry.get("class_name") in MODEL_CLASSES:
            yield from _model_entries(entry)


def _layer_list(model: dict) -> list[dict]:
    inner = model.get("config")
    if isinstance(inner, dict) and isinstance(inner.get("layers"), list):
        return inner["layers"]
    return []


def _all_layer_entries(config: dict) -> Iterator[dict]:
    """Every layer entry of every model, wrapped layers included (after the list fix)."""
    for model in _model_entries(config):
        for entry in _layer_list(model):
            if isinstance(entry, dict) and entry.get("class_name") not in MODEL_CLASSES:
                yield from _with_wrapped(entry)


def _with_wrapped(entry: dict) -> Iterator[dict]:
    yield entry
    layer_config = entry.get("config")
    if isinstance(layer_config, dict):
        for key in WRAPPED_KEYS:
            wrapped = layer_config.get(key)
            if isinstance(wrapped, dict) and "class_name" in wrapped:
                yield from _with_wrapped(wrapped)


def _apply_to_models(fix: Callable[[dict], bool], config: dict) -> bool:
    return any([fix(model) for model in list(_model_entries(config))])


def _layer_fixes(major: int) -> list[Callable[[dict], bool]]:
    """The per-layer config fixes for a file written by Keras `major` (Keras 1 names only in Keras 1)."""
    fixes = [keras1_class_names, keras1_arguments] if major == 1 else []
    fixes += [cudnn_rnn_layers, removed_rnn_arguments, initializer_dtype, wrapped_layer_module]
    if major < 3:
        fixes.append(keras2_hard_sigmoid)
    return fixes


# ----------------------------------------------------------------------------------------------
# Model-level config fixes


def sequential_list_config(model: dict) -> bool:
    """Keras 1.x / 2.0-2.2.2 stored a Sequential config as a bare list of layers."""
    if model.get("class_name") != "Sequential" or not isinstance(model.get("config"), list):
        return False
    model["config"] = {"name": model.get("name") or "sequential", "layers": model["config"]}
    return True


def _input_layer_from(first: dict) -> dict | None:
    """An InputLayer entry for a first layer carrying `batch_input_shape` (or Keras 1 input_dim)."""
    config = first.get("config", {})
    shape = config.get("batch_input_shape")
    if shape is None and first.get("class_name") == "Embedding":
        # Keras 1/2 Embedding(input_length=n) took (batch, n) ids; its input_dim is the vocabulary.
        shape = [None, config["input_length"]] if config.get("input_length") else None
    elif shape is None and config.get("input_dim") is not None:
        # Keras 1 recurrent/conv layers: input_dim (+ input_length) instead of a shape.
        shape = [None, config.get("input_length"), config["input_dim"]]
        if first.get("class_name") == "Dense":
            shape = [None, config["input_dim"]]
    if shape is None:
        return None
    dtype = config.get("dtype") or config.get("input_dtype") or "float32"
    if not isinstance(dtype, str):
        dtype = "float32"
    name = f"{config.get('name', 'layer')}_input"
    return {"class_name": "InputLayer", "config": {"batch_shape": list(shape), "dtype": dtype, "name": name}}


def sequential_input_layer(model: dict) -> bool:
    """Keras <= 2.3 Sequential models have no InputLayer: the first layer has `batch_input_shape`.

    Keras 3 would read that shape as the layer's own input_shape (an extra batch axis), so the
    shape moves into an explicit InputLayer, as Keras 2 built it implicitly.
    """
    layers = _layer_list(model)
    if model.get("class_name") != "Sequential" or not layers or layers[0].get("class_name") == "InputLayer":
        return False
    input_layer = _input_layer_from(layers[0])
    if input_layer is None:
        return False
    layers.insert(0, input_layer)
    return True


def stray_input_shapes(model: dict) -> bool:
    """Drop `batch_input_shape` from non-input layers: Keras 2 ignored it past the first layer."""
    changed = False
    for entry in _layer_list(model):
        config = entry.get("config")
        if entry.get("class_name") != "InputLayer" and isinstance(config, dict):
            for key in ("batch_input_shape", "batch_shape", "input_shape"):
                if key in config:
                    del config[key]
                    changed = True
    return changed


def _keras_tensor(inbound: list) -> dict:
    """A legacy inbound entry [layer, node, tensor, kwargs] as a Keras 3 serialized tensor."""
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None], "dtype": "float32", "keras_history": [inbound[0], inbound[1], inbound[2]]},
    }


def legacy_rnn_initial_state(model: dict) -> bool:
    """Keras 2 wrote `rnn(x, initial_state=[h, c])` as one legacy node with inbound [x, h, c].

    Keras 3 would pass all three as inputs; rewrite the node in Keras 3 form with the states
    under `initial_state`, which is what Keras 2 did with them.
    """
    changed = False
    for entry in _layer_list(model):
        if entry.get("class_name") not in RNN_CLASSES | RNN_WRAPPERS | {"CuDNNLSTM", "CuDNNGRU"}:
            continue
        nodes = entry.get("inbound_nodes")
        if not isinstance(nodes, list):
            continue
        for i, node in enumerate(nodes):
            if not (isinstance(node, list) and len(node) > 1 and all(isinstance(x, list) for x in node)):
                continue
            kwargs = dict(node[0][3]) if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
            kwargs["initial_state"] = [_keras_tensor(x) for x in node[1:]]
            nodes[i] = {"args": [_keras_tensor(node[0])], "kwargs": kwargs}
            changed = True
    return changed


# ----------------------------------------------------------------------------------------------
# Layer-level config fixes (every layer entry, wrapped layers included)


def keras1_class_names(entry: dict) -> bool:
    """Keras 1 class names: Convolution1D -> Conv1D, Deconvolution2D -> Conv2DTranspose, ..."""
    new = KERAS1_CLASS_NAMES.get(entry.get("class_name"))
    if new is None:
        return False
    entry["class_name"] = new
    return True


def keras1_arguments(entry: dict) -> bool:
    """Keras 1 argument names (output_dim, nb_filter, filter_length, border_mode, init, p, ...).

    Applied to Keras 1 files only: Keras 2+ wrote the new names (Embedding keeps output_dim).
    """
    config = entry.get("config")
    if not isinstance(config, dict):
        return False
    before = dict(config)
    for old, new in KERAS1_ARGUMENTS.get(entry.get("class_name"), {}).items():
        if old in config:
            config[new] = config.pop(old)
    if "nb_row" in config and "nb_col" in config:
        config["kernel_size"] = [config.pop("nb_row"), config.pop("nb_col")]
    if "data_format" in config:
        config["data_format"] = DIM_ORDERING.get(config["data_format"], config["data_format"])
    keep = {"input_dim"} if entry.get("class_name") == "Embedding" else set()
    for key in (KERAS1_DROPPED - keep) & set(config):
        del config[key]
    return config != before


def cudnn_rnn_layers(entry: dict) -> bool:
    """CuDNNLSTM / CuDNNGRU are LSTM / GRU(reset_after=True) with tanh and sigmoid."""
    cls = entry.get("class_name")
    if cls not in ("CuDNNLSTM", "CuDNNGRU"):
        return False
    config = entry.setdefault("config", {})
    entry["class_name"] = cls[len("CuDNN") :]
    config.update(activation="tanh", recurrent_activation="sigmoid")
    if cls == "CuDNNGRU":
        config["reset_after"] = True
    return True


def wrapped_layer_module(entry: dict) -> bool:
    """Keras 3 wrappers (Bidirectional, TimeDistributed) rebuild the wrapped layer with the new
    deserializer, which finds a class only through its `module`; older files wrote none."""
    config = entry.get("config")
    if not isinstance(config, dict):
        return False
    changed = False
    for key in WRAPPED_KEYS:
        wrapped = config.get(key)
        if isinstance(wrapped, dict) and "class_name" in wrapped and "module" not in wrapped:
            wrapped["module"] = "keras.layers"
            wrapped.setdefault("registered_name", None)
            changed = True
    return changed


REMOVED_RNN_ARGUMENTS = ("time_major",)


def removed_rnn_arguments(entry: dict) -> bool:
    """tf.keras 2.x wrote `time_major: false` into RNN configs; Keras 3 has no such argument."""
    config = entry.get("config")
    if entry.get("class_name") not in RNN_CLASSES or not isinstance(config, dict):
        return False
    changed = False
    for key in REMOVED_RNN_ARGUMENTS:
        if key in config:
            if config[key]:
                # A time-major model takes (time, batch, ...) inputs: a different contract.
                raise BadModelFile(f"layer {config.get('name')!r}: {key}=True RNNs are not supported")
            del config[key]
            changed = True
    return changed


def initializer_dtype(entry: dict) -> bool:
    """tf.keras 1.x (2.2.4-tf) wrote `dtype` into initializer configs; Keras 3 rejects it."""
    config = entry.get("config")
    if not isinstance(config, dict):
        return False
    changed = False
    for key, value in config.items():
        inner = value.get("config") if key.endswith("_initializer") and isinstance(value, dict) else None
        if isinstance(inner, dict) and inner.pop("dtype", None) is not None:
            changed = True
    return changed


_ACTIVATION_KEYS = ("activation", "recurrent_activation")


def keras2_hard_sigmoid(entry: dict) -> bool:
    """Keras <= 2 hard_sigmoid was clip(0.2x + 0.5, 0, 1); Keras 3's is relu6(x + 3) / 6.

    A Keras 2 file means the old formula, so its config names packager's registered Keras-2
    function, and the reference Keras model computes what the model computed when trained.
    """
    config = entry.get("config")
    if not isinstance(config, dict):
        return False
    changed = False
    for key in _ACTIVATION_KEYS:
        if config.get(key) == "hard_sigmoid":
            config[key] = dict(KERAS2_HARD_SIGMOID)
            changed = True
    return changed


def keras2_gru_reset_after(entry: dict, raw: RawModel) -> bool:
    """Keras 2 GRUs default to reset_after=False (Keras 3: True); the bias shape tells which.

    A (3u,) bias is reset_after=False, a (2, 3u) bias reset_after=True, whatever the config says.
    """
    config = entry.get("config")
    if entry.get("class_name") != "GRU" or not isinstance(config, dict):
        return False
    if "reset_after" in config:
        return False
    config["reset_after"] = _stored_bias_rank(raw, str(config.get("name"))) == 2
    return True


def _stored_bias_rank(raw: RawModel, layer: str) -> int | None:
    """The rank of the bias stored for `layer` (found by weight name, also inside wrappers)."""
    for pairs in raw.layer_weights.values():
        for name, array in pairs:
            parts = name.replace(":0", "").split("/")
            if parts[-1] == "bias" and layer in parts[:-1] or name.startswith(f"{layer}_b"):
                return array.ndim
    return None


# ----------------------------------------------------------------------------------------------
# Weights: Keras 1 / CuDNN / Theano layouts -> Keras 3


def _normalize_weights(raw: RawModel, result: Normalized) -> dict[str, list[np.ndarray]]:
    """Top-level layer name -> arrays in Keras 3 order, converted by the class the file wrote."""
    weights = {name: [a for _, a in pairs] for name, pairs in raw.layer_weights.items()}
    if raw.format != "hdf5":
        return weights
    theano = (raw.backend or "") == "theano"
    for entry in _layer_list(result.config):
        name = entry.get("config", {}).get("name") if isinstance(entry.get("config"), dict) else None
        if name not in weights or entry.get("class_name") in MODEL_CLASSES:
            continue
        arrays, fixes = convert_layer_weights(entry, weights[name], theano)
        weights[name] = arrays
        for fix in fixes:
            result.note(fix)
    return weights


def convert_layer_weights(entry: dict, arrays: list[np.ndarray], theano: bool = False) -> tuple[list, list[str]]:
    """One layer's stored arrays -> Keras 3 arrays, and the names of the fixes applied."""
    cls = entry.get("class_name")
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    if cls in ("Bidirectional", "TimeDistributed") and isinstance(config.get("layer"), dict):
        inner = config["layer"]
        if cls == "TimeDistributed":
            return convert_layer_weights(inner, arrays, theano)
        half = len(arrays) // 2
        backward = config.get("backward_layer") if isinstance(config.get("backward_layer"), dict) else inner
        forward, fixes = convert_layer_weights(inner, arrays[:half], theano)
        backward_arrays, more = convert_layer_weights(backward, arrays[half:], theano)
        return forward + backward_arrays, fixes + [f for f in more if f not in fixes]
    applied = []
    for fix in WEIGHT_FIXES:  # in order: a Keras 1 Theano kernel is reshaped, then flipped
        converted = fix(cls, config, arrays, theano)
        if converted is not None:
            arrays = converted
            applied.append(fix.__name__)
    return arrays, applied


def keras1_rnn_weights(cls, config, arrays, theano) -> list[np.ndarray] | None:
    """Keras 1 kept one (W, U, b) triple per gate: LSTM i, c, f, o; GRU z, r, h.

    Keras 2+ concatenates them: LSTM kernel [i, f, c, o], GRU kernel [z, r, h].
    """
    if cls == "LSTM" and len(arrays) == 12:
        order = [0, 2, 1, 3]  # stored i, c, f, o -> i, f, c, o
    elif cls == "GRU" and len(arrays) == 9:
        order = [0, 1, 2]
    else:
        return None
    gates = [arrays[3 * g : 3 * g + 3] for g in order]
    return [np.concatenate([gate[k] for gate in gates], axis=-1) for k in range(3)]


def keras1_conv1d_kernel(cls, config, arrays, theano) -> list[np.ndarray] | None:
    """Keras 1 Convolution1D was a Conv2D over (length, 1): kernel (k, 1, in, out) -> (k, in, out).

    Very early files stored (out, in, k, 1); Keras 2 transposed those first, and so do we.
    """
    if cls != "Convolution1D" or not arrays or arrays[0].ndim != 4:
        return None
    kernel = arrays[0]
    filters = config.get("nb_filter", config.get("filters"))
    if kernel.shape[1] != 1 or (filters is not None and kernel.shape[3] != filters):
        kernel = np.transpose(kernel, (2, 3, 1, 0))
    return [kernel[:, 0, :, :], *arrays[1:]]


def keras1_th_conv2d_kernel(cls, config, arrays, theano) -> list[np.ndarray] | None:
    """Keras 1 Convolution2D with dim_ordering "th" stored (out, in, rows, cols) kernels."""
    if cls != "Convolution2D" or config.get("dim_ordering") != "th" or not arrays:
        return None
    return [np.transpose(arrays[0], (2, 3, 1, 0)), *arrays[1:]]


def _per_gate(kernel: np.ndarray, gates: int, fn) -> np.ndarray:
    return np.hstack([fn(k) for k in np.hsplit(kernel, gates)])


def _cudnn_input_kernel(k: np.ndarray) -> np.ndarray:
    """cuDNN reads each gate's stored (in, u) block as a row-major (u, in) matrix W; Keras wants W.T."""
    return k.T.reshape(k.shape, order="F")


def cudnn_rnn_weights(cls, config, arrays, theano) -> list[np.ndarray] | None:
    """CuDNNLSTM / CuDNNGRU weights -> LSTM / GRU(reset_after=True) weights (Keras 2's converter).

    Kernels are transposed gate by gate; LSTM's 8u bias is input + recurrent halves (summed);
    GRU's 6u bias becomes the (2, 3u) input/recurrent bias of reset_after=True.
    """
    if cls not in ("CuDNNLSTM", "CuDNNGRU") or len(arrays) != 3:
        return None
    gates = 4 if cls == "CuDNNLSTM" else 3
    kernel = _per_gate(arrays[0], gates, _cudnn_input_kernel)
    recurrent = _per_gate(arrays[1], gates, lambda k: k.T)
    if cls == "CuDNNLSTM":
        bias = np.sum(np.split(arrays[2], 2, axis=0), axis=0)
    else:
        bias = np.asarray(arrays[2]).reshape(2, -1)
    return [kernel, recurrent, bias]


def _flip_spatial(kernel: np.ndarray) -> np.ndarray:
    """Theano convolved with flipped kernels: flip every axis but the last two (in, out)."""
    return np.copy(kernel[(slice(None, None, -1),) * (kernel.ndim - 2)])


THEANO_CONV_CLASSES = frozenset({"Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Convolution1D", "Convolution2D"})


def theano_conv_kernels(cls, config, arrays, theano) -> list[np.ndarray] | None:
    """Files written with the Theano backend hold flipped conv kernels (Keras 2 flipped them on load)."""
    if not theano or cls not in THEANO_CONV_CLASSES and cls != "ConvLSTM2D" or not arrays:
        return None
    flipped = [_flip_spatial(arrays[0]), *arrays[1:]]
    if cls == "ConvLSTM2D":
        flipped[1] = _flip_spatial(arrays[1])
    return flipped


WEIGHT_FIXES = [
    keras1_rnn_weights,
    keras1_conv1d_kernel,
    keras1_th_conv2d_kernel,
    cudnn_rnn_weights,
    theano_conv_kernels,
]
