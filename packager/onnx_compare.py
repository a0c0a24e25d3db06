"""ONNX Runtime on a tf2onnx export of the same Keras model: the usual alternative deployment path.

Optional (`pip install packager[compare]`); absent packages simply leave the runtime out.
"""

from __future__ import annotations

import importlib.util
import logging

from packager.bench import Runtime
from packager.graph import ModelGraph
from packager.quiet import quiet_native_stderr

MISSING_NOTE = "ONNX Runtime not compared: install the optional extra (pip install 'packager[compare]')"


def onnx_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("tf2onnx", "onnxruntime"))


def onnx_bytes(keras_model, graph: ModelGraph) -> bytes:
    """Convert the Keras model with tf2onnx (from its tf.function; Keras 3 models lack from_keras support)."""
    from packager.keras_loader import keras_tf_function

    function, signature = keras_tf_function(keras_model, graph)
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    with quiet_native_stderr():
        import tf2onnx

        proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=17)
    return proto.SerializeToString()


def onnx_runtime(model: bytes, threads: int | None) -> Runtime:
    """An ONNX Runtime CPU session with intra-op threads pinned (0 = its default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def make_call(inputs):
        feed = dict(zip(names, inputs))
        return lambda: session.run(None, feed)

    return Runtime("onnxruntime (tf2onnx)", make_call, "cpu", str(threads) if threads else "default")
