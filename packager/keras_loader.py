"""The one module that imports Keras/TensorFlow.

`load_model` turns a file into (a) a Keras model built from the file's own config by Keras's own
deserializer in safe mode, used as the reference, and (b) a plain `ModelGraph` for the converters.
Before anything is deserialized every layer class is checked: Lambda layers (Python code) and
classes packager has no converter for are refused, all named in one error, so no code from the
file ever runs.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from packager.quiet import quiet_native_stderr

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
with quiet_native_stderr():  # TensorFlow's C++ start-up chatter, not the user's business
    import keras

from packager.assemble import find_unsupported
from packager.errors import BadModelFile, UnsafeModel, UnsupportedLayers
from packager.graph import CallSpec, LayerSpec, ModelGraph, TensorSpec
from packager.keras_config import is_custom_entry, iter_layers
from packager.legacy import normalize_config, semantics_for
from packager.reader import RawModel, read_model_file

CODE_LAYERS = frozenset({"Lambda"})


@dataclass
class LoadedModel:
    raw: RawModel
    keras_model: keras.Model
    graph: ModelGraph
    normalizations: list[str]


def load_model(path: Path) -> LoadedModel:
    """Read, normalize, check, build and describe the model in `path`."""
    raw = read_model_file(Path(path))
    config, normalizations = normalize_config(raw)
    check_layer_classes(config, raw.path)
    model = build_keras_model(config, raw)
    load_weights(model, raw)
    graph = describe(model, semantics_for(raw))
    return LoadedModel(raw=raw, keras_model=model, graph=graph, normalizations=normalizations)


def check_layer_classes(config: dict, path: Path) -> None:
    """Refuse code-carrying layers, then every class without a converter, before deserializing."""
    entries = list(iter_layers(config))
    code = [(name, cls) for name, cls, _ in entries if cls in CODE_LAYERS]
    if code:
        listed = ", ".join(f"{name} ({cls})" for name, cls in code)
        raise UnsafeModel(
            f"{path}: refusing layer(s) that hold Python code: {listed}; packager never runs code "
            "from a model file (rewrite them as built-in layers, or register a converter with --plugin)"
        )
    unsupported = find_unsupported([(name, cls) for name, cls, _ in entries])
    custom = {name for name, _, entry in entries if is_custom_entry(entry)}
    reasons = [(n, c, "custom layer, not part of Keras" if n in custom else why) for n, c, why in unsupported]
    if reasons:
        raise UnsupportedLayers(reasons)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def build_keras_model(config: dict, raw: RawModel) -> keras.Model:
    """Build with Keras's own deserializer (safe_mode: no Lambda, no unregistered code)."""
    try:
        if raw.format == "keras-zip":
            model = keras.saving.deserialize_keras_object(config, safe_mode=True)
        else:
            from keras.src.legacy.saving import saving_utils

            model = saving_utils.model_from_config(config)
    except Exception as exc:  # Keras raises many kinds for a bad config
        raise BadModelFile(f"{raw.path}: Keras cannot build the model from its config: {_first_line(exc)}") from exc
    if not isinstance(model, keras.Model):
        raise BadModelFile(f"{raw.path}: the config describes a {type(model).__name__}, not a model")
    return model


def load_weights(model: keras.Model, raw: RawModel) -> None:
    """Put the file's weights into `model`; any mismatch with the config is a BadModelFile."""
    try:
        if raw.format == "keras-zip":
            with tempfile.TemporaryDirectory() as tmp:
                weights_path = Path(tmp) / "model.weights.h5"
                weights_path.write_bytes(raw.weights_h5 or b"")
                model.load_weights(str(weights_path))
            return
        for layer in model.layers:
            if not layer.weights:
                continue
            stored = raw.layer_weights.get(layer.name)
            if stored is None:
                raise BadModelFile(f"{raw.path}: layer {layer.name!r} has weights in its config but none in the file")
            layer.set_weights([array for _, array in stored])
    except BadModelFile:
        raise
    except Exception as exc:
        raise BadModelFile(f"{raw.path}: weights do not match the model config: {_first_line(exc)}") from exc


def _functional(model: keras.Model):
    graph = getattr(model, "_functional", None) if isinstance(model, keras.Sequential) else model
    if graph is None or not hasattr(graph, "_nodes_by_depth"):
        raise BadModelFile(f"model {model.name!r} has no input shape, so its graph is unknown")
    return graph


def _shape(tensor) -> tuple:
    return tuple(None if d is None else int(d) for d in tensor.shape)


def _dtype(tensor) -> str:
    return str(getattr(tensor.dtype, "name", tensor.dtype))


class _Describer:
    def __init__(self, semantics: frozenset[str]):
        self.semantics = semantics
        self.layers: dict[str, LayerSpec] = {}
        self.calls: list[CallSpec] = []
        self.names: dict[int, str] = {}  # id(KerasTensor) -> tensor name
        self.used: set[str] = set()

    def tensor_name(self, base: str) -> str:
        name, i = base, 1
        while name in self.used:
            i += 1
            name = f"{base}:{i}"
        self.used.add(name)
        return name

    def walk(self, graph, prefix: str) -> None:
        for depth in sorted(graph._nodes_by_depth, reverse=True):
            for node in graph._nodes_by_depth[depth]:
                op = node.operation
                if op is None or node.is_input or isinstance(op, keras.layers.InputLayer):
                    continue
                if isinstance(op, keras.Model):
                    self.inline(op, node, prefix)
                else:
                    self.add_call(op, node, prefix)

    def inline(self, model: keras.Model, node, prefix: str) -> None:
        """A model used as a layer: walk its graph with its inputs bound to the call's tensors."""
        inner = _functional(model)
        for inner_input, outer in zip(inner.inputs, node.input_tensors):
            self.names[id(inner_input)] = self.names[id(outer)]
        self.walk(inner, prefix + model.name + "/")
        for inner_output, outer in zip(inner.outputs, node.outputs):
            self.names[id(outer)] = self.names[id(inner_output)]

    def add_call(self, layer, node, prefix: str) -> None:
        name = prefix + layer.name
        if name not in self.layers:
            self.layers[name] = LayerSpec(
                name=name,
                class_name=type(layer).__name__,
                config=layer.get_config(),
                weights=[np.asarray(w) for w in layer.get_weights()],
                input_shapes=[_shape(t) for t in node.input_tensors],
                output_shapes=[_shape(t) for t in node.outputs],
                semantics=self.semantics,
            )
        outputs = [self.tensor_name(name) for _ in node.outputs]
        for tensor, tname in zip(node.outputs, outputs):
            self.names[id(tensor)] = tname
        self.calls.append(CallSpec(layer=name, inputs=[self.names[id(t)] for t in node.input_tensors], outputs=outputs))


def describe(model: keras.Model, semantics: frozenset[str] = frozenset()) -> ModelGraph:
    """The Keras model's layers and calls as plain data (nested models inlined)."""
    graph = _functional(model)
    describer = _Describer(semantics)
    inputs = []
    for tensor in graph.inputs:
        name = describer.tensor_name(tensor._keras_history[0].name)
        describer.names[id(tensor)] = name
        inputs.append(TensorSpec(name, _shape(tensor), _dtype(tensor)))
    describer.walk(graph, "")
    outputs = [TensorSpec(describer.names[id(t)], _shape(t), _dtype(t)) for t in graph.outputs]
    return ModelGraph(model.name, describer.layers, describer.calls, inputs, outputs)


def keras_predict(model: keras.Model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Run Keras in inference mode; always a list of outputs in Keras order."""
    result = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    if isinstance(result, dict):
        result = list(result.values())
    if not isinstance(result, (list, tuple)):
        result = [result]
    return [np.asarray(r) for r in result]


def keras_version() -> str:
    return keras.__version__


def keras_timed_call(model: keras.Model):
    """For the benchmark: inputs -> a zero-argument call of the model as a compiled tf.function."""
    import tensorflow as tf

    fn = tf.function(lambda *xs: model(list(xs) if len(xs) > 1 else xs[0], training=False), reduce_retracing=True)

    def make_call(inputs: list[np.ndarray]):
        tensors = [tf.constant(x) for x in inputs]
        return lambda: fn(*tensors)

    return make_call


def tensorflow_threads() -> str:
    import tensorflow as tf

    intra = tf.config.threading.get_intra_op_parallelism_threads()
    return str(intra) if intra else f"default ({os.cpu_count()})"
