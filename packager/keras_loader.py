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
from packager.errors import BadModelFile, UnsafeModel, UnsupportedLayers, one_line
from packager.graph import CallSpec, LayerSpec, ModelGraph, TensorSpec
from packager.keras_config import is_custom_entry, iter_layers
from packager.legacy import normalize, semantics_for
from packager.reader import RawModel, read_model_file
from packager.safety import describe_code, find_code

# Layers whose call takes a mask but uses it only when training (batch statistics).
MASK_UNUSED_AT_INFERENCE = frozenset({"BatchNormalization"})


@keras.saving.register_keras_serializable(package="packager", name="hard_sigmoid_keras2")
def hard_sigmoid_keras2(x):
    """Keras <= 2 hard_sigmoid, clip(0.2 x + 0.5, 0, 1): what legacy files mean by "hard_sigmoid"."""
    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


@dataclass
class LoadedModel:
    raw: RawModel
    keras_model: keras.Model
    graph: ModelGraph
    normalizations: list[str]


def load_model(path: Path) -> LoadedModel:
    """Read, normalize, check, build and describe the model in `path`."""
    raw = read_model_file(Path(path))
    normalized = normalize(raw)
    check_layer_classes(normalized.config, raw.path)
    model = build_keras_model(normalized.config, raw)
    load_weights(model, raw, normalized.weights)
    graph = describe(model, semantics_for(raw))
    return LoadedModel(raw=raw, keras_model=model, graph=graph, normalizations=normalized.applied)


def check_layer_classes(config: dict, path: Path) -> None:
    """Refuse code-carrying layers, then every class without a converter, before deserializing."""
    entries = list(iter_layers(config))
    code = find_code(config)  # Lambda layers, serialized lambdas, marshalled bytecode anywhere in a layer
    if code:
        raise UnsafeModel(
            f"{path}: refusing Python code stored in the file: {describe_code(code)}; packager never runs code "
            "from a model file (rewrite them as built-in layers, or register a converter with --plugin)"
        )
    unsupported = find_unsupported([(name, cls) for name, cls, _ in entries])
    custom = {name for name, _, entry in entries if is_custom_entry(entry)}
    reasons = [(n, c, "custom layer, not part of Keras" if n in custom else why) for n, c, why in unsupported]
    if reasons:
        raise UnsupportedLayers(reasons)


def _first_line(exc: BaseException) -> str:
    # Keras's message often says what is wrong only on its second line (weights that do not fit).
    return one_line(exc)


def build_keras_model(config: dict, raw: RawModel) -> keras.Model:
    """Build with Keras's own deserializer (safe_mode: no Lambda, no unregistered code)."""
    # The compile config (loss, metrics, optimizer) is for training: building it could only fail on
    # a custom loss, or deserialize one.
    config = {key: value for key, value in config.items() if key != "compile_config"}
    try:
        if raw.format == "keras-zip":
            model = keras.saving.deserialize_keras_object(config, safe_mode=True)
        else:
            from keras.src.legacy.saving import saving_utils
            from keras.src.saving.serialization_lib import SafeModeScope

            with SafeModeScope(True):  # as keras.saving.load_model does for .h5: no lambdas
                model = saving_utils.model_from_config(config, custom_objects=registered_objects())
    except Exception as exc:  # Keras raises many kinds for a bad config
        raise BadModelFile(f"{raw.path}: Keras cannot build the model from its config: {_first_line(exc)}") from exc
    if not isinstance(model, keras.Model):
        raise BadModelFile(f"{raw.path}: the config describes a {type(model).__name__}, not a model")
    return model


def registered_objects() -> dict:
    """Classes and functions registered with Keras (packager's own, --plugin files'), by both names.

    Legacy HDF5 configs name a custom class without its package ("TCN", not "Custom>TCN").
    """
    objects = {}
    for key, obj in keras.saving.get_custom_objects().items():
        objects[key] = obj
        objects.setdefault(key.split(">")[-1], obj)
    return objects


def load_weights(model: keras.Model, raw: RawModel, weights: dict[str, list[np.ndarray]] | None = None) -> None:
    """Put the file's weights into `model`; any mismatch with the config is a BadModelFile.

    HDF5: `weights` (layer name -> arrays, normalized by legacy.py) go into each layer's variables
    in the legacy order trainable + non-trainable, as Keras's own HDF5 loader does; every layer
    whose weights are missing or do not fit is listed in one error.
    """
    try:
        if raw.format == "keras-zip":
            with tempfile.TemporaryDirectory() as tmp:
                weights_path = Path(tmp) / "model.weights.h5"
                weights_path.write_bytes(raw.weights_h5 or b"")
                model.load_weights(str(weights_path))
            return
        if weights is None:
            weights = {name: [array for _, array in pairs] for name, pairs in raw.layer_weights.items()}
        assignments, problems = _match_weights(model, raw, weights)
    except BadModelFile:
        raise
    except Exception as exc:
        raise BadModelFile(f"{raw.path}: weights do not match the model config: {_first_line(exc)}") from exc
    if problems:
        raise BadModelFile(f"{raw.path}: the file's weights do not fit its model config: " + "; ".join(problems))
    for variable, array in assignments:
        variable.assign(array)


def _match_weights(model: keras.Model, raw: RawModel, weights: dict[str, list[np.ndarray]]) -> tuple[list, list[str]]:
    """(variable, array) pairs for every layer, and a line per layer whose weights do not fit."""
    assignments, problems = [], []
    for layer in model.layers:
        variables = layer.trainable_weights + layer.non_trainable_weights
        if not variables:
            continue
        label = f"{layer.name} ({type(layer).__name__})"
        arrays = weights.get(layer.name)
        if layer.name in raw.weight_problems:
            problems.append(f"{label}: {raw.weight_problems[layer.name]}, so its weights are incomplete")
        elif arrays is None:
            problems.append(f"{label}: no weights stored in the file")
        elif len(arrays) != len(variables):
            problems.append(f"{label}: {len(arrays)} arrays stored, the layer has {len(variables)} weights")
        else:
            wrong = [
                f"{v.path} expects {tuple(v.shape)}, file has {a.shape}"
                for v, a in zip(variables, arrays)
                if tuple(v.shape) != a.shape
            ]
            if wrong:
                problems.append(f"{label}: " + ", ".join(wrong))
            assignments.extend(zip(variables, arrays))
    return assignments, problems


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
        self.masks: dict[int, str] = {}  # id(symbolic Keras mask) -> mask name
        self.used: set[str] = set()

    def tensor_name(self, base: str) -> str:
        name, i = base, 1
        while name in self.used:
            i += 1
            name = f"{base}:{i}"
        self.used.add(name)
        return name

    def walk(self, graph, prefix: str) -> None:
        used = _data_tensor_ids(graph)
        for depth in sorted(graph._nodes_by_depth, reverse=True):
            for node in graph._nodes_by_depth[depth]:
                op = node.operation
                if op is None or node.is_input or isinstance(op, keras.layers.InputLayer):
                    continue
                if isinstance(op, keras.Model):
                    self.inline(op, node, prefix)
                elif isinstance(op, keras.layers.Layer):
                    self.add_call(op, node, prefix)
                elif any(id(t) in used for t in node.outputs):
                    # A bare keras.ops call wired into the graph. Ops that only compute masks (the
                    # not_equal of an Embedding's compute_mask) are the layers' own business.
                    raise UnsupportedLayers([(prefix + op.name, type(op).__name__, "a Keras op, not a layer")])

    def inline(self, model: keras.Model, node, prefix: str) -> None:
        """A model used as a layer: walk its graph with its inputs bound to the call's tensors."""
        inner = _functional(model)
        if any(getattr(t, "_keras_mask", None) is not None for t in node.input_tensors):
            # Keras hands the mask to the inner graph only at run time; its layers were built without.
            raise UnsupportedLayers([(prefix + model.name, type(model).__name__, "receives a Keras mask")])
        for inner_input, outer in zip(inner.inputs, node.input_tensors):
            self.names[id(inner_input)] = self.names[id(outer)]
        self.walk(inner, prefix + model.name + "/")
        for inner_output, outer in zip(inner.outputs, node.outputs):
            self.names[id(outer)] = self.names[id(inner_output)]

    def add_call(self, layer, node, prefix: str) -> None:
        name = prefix + layer.name
        inputs = _call_tensors(node)
        if name not in self.layers:
            self.layers[name] = LayerSpec(
                name=name,
                class_name=type(layer).__name__,
                config=layer.get_config(),
                weights=[np.asarray(w) for w in layer.get_weights()],
                input_shapes=[_shape(t) for t in inputs],
                output_shapes=[_shape(t) for t in node.outputs],
                semantics=self.semantics,
            )
        outputs = [self.tensor_name(name) for _ in node.outputs]
        for tensor, tname in zip(node.outputs, outputs):
            self.names[id(tensor)] = tname
        call = CallSpec(layer=name, inputs=[self.names[id(t)] for t in inputs], outputs=outputs)
        call.mask = self.mask_received(layer, node, name)
        call.output_mask = self.mask_created(node, outputs[0])
        self.calls.append(call)

    def mask_received(self, layer, node, name: str) -> str | None:
        """The mask Keras passes to this call (it does so only when `call` has a lone tensor input)."""
        mask = node.arguments.kwargs.get("mask")
        if mask is None or type(layer).__name__ in MASK_UNUSED_AT_INFERENCE:
            return None
        if isinstance(mask, (list, tuple)):
            if all(m is None for m in mask):
                return None
            raise UnsupportedLayers([(name, type(layer).__name__, "receives several Keras masks")])
        if id(mask) in self.names:  # a graph tensor passed explicitly as mask=
            return self.names[id(mask)]
        return self.masks.get(id(mask), _UNKNOWN_MASK)

    def mask_created(self, node, first_output: str) -> str | None:
        """The name of a mask this call attaches to its outputs that no earlier call made."""
        created = None
        for tensor in node.outputs:
            mask = getattr(tensor, "_keras_mask", None)
            if mask is not None and id(mask) not in self.masks:
                created = created or f"{first_output}:mask"
                self.masks[id(mask)] = created
        return created


# The mask a call receives when no call of the graph made it (e.g. one Keras computes inside a
# nested model); assemble refuses the call rather than guess.
_UNKNOWN_MASK = "<mask of unknown origin>"


def _data_tensor_ids(graph) -> set[int]:
    """ids of the tensors that layers read as data (not as `mask=`) or that the model returns."""
    used = {id(t) for t in graph.outputs}
    for nodes in graph._nodes_by_depth.values():
        for node in nodes:
            if isinstance(node.operation, keras.layers.Layer):
                used.update(id(t) for t in _call_tensors(node))
    return used


def _call_tensors(node) -> list:
    """The tensors a call reads, in order: positional ones, then keyword ones such as
    `initial_state`; not `mask`, which travels beside them."""
    args, kwargs = node.arguments.args, node.arguments.kwargs
    keyword = {key: value for key, value in kwargs.items() if key != "mask"}
    flat = keras.tree.flatten(args) + [t for key in keyword for t in keras.tree.flatten(keyword[key])]
    return [t for t in flat if isinstance(t, keras.KerasTensor)]


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


def keras_layer_outputs(model: keras.Model, inputs: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Every layer's outputs for `inputs`, in inference mode, keyed by the names `describe` gives layers.

    Runs the model node by node as Keras's Functional.call does (same arguments, nested models walked
    into), recording the outputs of each layer's first call: the reference for layer-by-layer diagnosis.
    """
    graph = _functional(model)
    values = {id(t): keras.ops.convert_to_tensor(x) for t, x in zip(graph.inputs, inputs)}
    recorded: dict[str, list] = {}
    _run_nodes(graph, values, "", recorded)
    return {name: [np.asarray(v) for v in outs] for name, outs in recorded.items()}


def _run_nodes(graph, values: dict, prefix: str, recorded: dict) -> None:
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            op = node.operation
            if op is None or node.is_input or isinstance(op, keras.layers.InputLayer):
                continue
            if any(id(t) not in values for t in node.input_tensors):
                continue  # not computable from these inputs, as in Functional.call
            if isinstance(op, keras.Model):
                inner = _functional(op)
                for inner_input, outer in zip(inner.inputs, node.input_tensors):
                    values[id(inner_input)] = values[id(outer)]
                _run_nodes(inner, values, prefix + op.name + "/", recorded)
                outputs = [values[id(t)] for t in inner.outputs]
            else:
                args, kwargs = node.arguments.fill_in(values)
                if "training" in getattr(op, "_call_context_args", {}):
                    kwargs["training"] = False
                outputs = keras.tree.flatten(op(*args, **kwargs))
                recorded.setdefault(prefix + op.name, outputs)
            for tensor, value in zip(node.outputs, outputs):
                values[id(tensor)] = value


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


def pin_tensorflow_threads(threads: int) -> bool:
    """Pin TensorFlow's thread pools; only possible before TensorFlow runs its first op."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialized
        return False
    return True


def keras_tf_function(model: keras.Model, graph: ModelGraph):
    """The model as a tf.function with an input signature (dynamic dims as None), for tf2onnx."""
    import tensorflow as tf

    signature = tuple(tf.TensorSpec(spec.shape, spec.dtype, name=f"input_{i}") for i, spec in enumerate(graph.inputs))

    def call(*xs):
        return model(list(xs) if len(xs) > 1 else xs[0], training=False)

    return tf.function(call, input_signature=signature), signature
