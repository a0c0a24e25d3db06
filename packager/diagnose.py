"""When parity fails, say where: the first Keras layer whose output the torch module does not reproduce.

Both sides are run once on the failing case's inputs, recording every layer's output:
- Keras: `keras_loader.keras_layer_outputs` (the model run node by node, inference mode);
- torch: the assembled fx GraphModule run by a `torch.fx.Interpreter` that keeps each module call's
  result, moved back to Keras layout (channels last) where the module ran channels-first.
Layers are compared in execution order with the export's own criterion (`validate.compare`); the
first one outside atol/rtol is named, with its error and how well its inputs still agreed.
Each layer's first call is compared (a shared layer's later calls are not).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.fx as fx

from packager.assemble import ConvertedModel
from packager.converters.registry import CHANNELS_FIRST
from packager.graph import ModelGraph
from packager.runtime import as_output_list, to_tensors
from packager.validate import Parity, ReferenceData, compare

KerasLayerOutputs = Callable[[list[np.ndarray]], dict[str, list[np.ndarray]]]


@dataclass
class Divergence:
    """The first layer whose torch output differs from Keras's beyond tolerance."""

    layer: str
    class_name: str
    max_abs_err: float
    max_rel_err: float
    input_err: float | None  # the largest error among the tensors it read (None: unknown)
    note: str | None = None  # shape mismatch, or the exception the torch module raised

    def describe(self) -> str:
        if self.note and not math.isfinite(self.max_abs_err):
            text = f"first diverging layer: {self.layer} ({self.class_name}): {self.note}"
        else:
            text = (
                f"first diverging layer: {self.layer} ({self.class_name}), max abs err {self.max_abs_err:.3g}, "
                f"max rel err {self.max_rel_err:.3g}"
            )
        if self.input_err is not None:
            text += f" (its inputs agree to {self.input_err:.3g})"
        return text


class _LayerModuleFailed(Exception):
    def __init__(self, target: str, error: Exception):
        super().__init__(f"{type(error).__name__}: {error}".splitlines()[0][:300])
        self.target = target


class _Recorder(fx.Interpreter):
    """Runs the GraphModule and keeps the first result of every submodule call, by attribute name."""

    def __init__(self, module: fx.GraphModule):
        super().__init__(module)
        self.results: dict[str, object] = {}

    def call_module(self, target, args, kwargs):
        try:
            result = super().call_module(target, args, kwargs)
        except Exception as exc:  # the layer that breaks is the answer, not a crash
            raise _LayerModuleFailed(str(target), exc) from exc
        self.results.setdefault(str(target), result)
        return result


def _to_keras_layout(tensors: list[torch.Tensor], layout: str | None) -> list[np.ndarray]:
    """A channels-first module's (B, C, *spatial) outputs back to Keras's (B, *spatial, C)."""
    arrays = []
    for tensor in tensors:
        if layout == CHANNELS_FIRST and tensor.dim() > 2:
            tensor = torch.movedim(tensor, 1, -1)
        arrays.append(tensor.detach().cpu().numpy())
    return arrays


def torch_layer_outputs(
    converted: ConvertedModel, inputs: list[np.ndarray]
) -> tuple[dict[str, list[np.ndarray]], tuple[str, str] | None]:
    """Keras layer name -> its module's outputs in Keras layout; and (layer, error) if a module raised."""
    recorder = _Recorder(converted.module)
    failed: tuple[str, str] | None = None
    with torch.inference_mode():
        try:
            recorder.run(*to_tensors(inputs))
        except _LayerModuleFailed as exc:
            layer = next((name for name, attr in converted.attributes.items() if attr == exc.target), exc.target)
            failed = (layer, str(exc))
    outputs = {}
    for layer, attr in converted.attributes.items():
        if attr is not None and attr in recorder.results:
            tensors = as_output_list(recorder.results[attr])
            outputs[layer] = _to_keras_layout(tensors, converted.layouts.get(layer))
    return outputs, failed


def find_divergence(
    graph: ModelGraph,
    converted: ConvertedModel,
    keras_outputs: dict[str, list[np.ndarray]],
    inputs: list[np.ndarray],
    atol: float,
    rtol: float,
) -> Divergence | None:
    """The first layer (execution order) whose torch output misses Keras's by more than atol + rtol*|keras|."""
    torch_outputs, failed = torch_layer_outputs(converted, inputs)
    tensor_err: dict[str, float] = {spec.name: 0.0 for spec in graph.inputs}
    seen: set[str] = set()
    for call in graph.calls:
        if call.layer in seen:
            continue
        seen.add(call.layer)
        spec = graph.layers[call.layer]
        known_inputs = [tensor_err[t] for t in call.inputs if t in tensor_err]
        input_err = max(known_inputs) if len(known_inputs) == len(call.inputs) else None
        if converted.attributes.get(call.layer) is None:  # an identity at inference: it passes its input on
            for source, tensor in zip(call.inputs, call.outputs):
                if source in tensor_err:
                    tensor_err[tensor] = tensor_err[source]
            continue
        if failed is not None and failed[0] == call.layer:
            return Divergence(call.layer, spec.class_name, math.inf, math.inf, input_err, f"torch raised {failed[1]}")
        expected, got = keras_outputs.get(call.layer), torch_outputs.get(call.layer)
        if expected is None or got is None:
            continue
        got = got[: len(call.outputs)]  # an RNN module returns (sequence, h, c) even when Keras returns one
        max_abs, max_rel, passed, note = compare(expected, got, atol, rtol)
        for tensor in call.outputs:
            tensor_err[tensor] = max_abs
        if not passed:
            return Divergence(call.layer, spec.class_name, max_abs, max_rel, input_err, note)
    return None


def diagnose_parity(
    graph: ModelGraph,
    converted: ConvertedModel,
    reference: ReferenceData,
    parity: Parity,
    keras_layer_outputs: KerasLayerOutputs,
) -> str:
    """One phrase for the parity error: which layer diverges first on the worst failing case."""
    worst = max(parity.failures(), key=lambda r: r.max_abs_err)
    index = next(
        (i for i, case in enumerate(reference.cases) if (case.batch, case.seq_len) == (worst.batch, worst.seq_len)),
        len(reference.cases) - 1,
    )
    inputs = reference.inputs[index]
    try:
        found = find_divergence(graph, converted, keras_layer_outputs(inputs), inputs, parity.atol, parity.rtol)
    except Exception as exc:  # a diagnosis that breaks must not hide the parity error it explains
        first = str(exc).strip().splitlines()[:1]
        return f"layer-by-layer diagnosis failed ({type(exc).__name__}{': ' + first[0][:200] if first else ''})"
    if found is not None:
        return found.describe()
    if worst.stage == "eager":
        return "every layer's output matches Keras within tolerance; the difference is in the wiring between layers"
    return (
        "every layer of the eager torch module matches Keras within tolerance; "
        f"the difference arises at stage {worst.stage}"
    )
