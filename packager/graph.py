"""The plain description of a Keras model that every stage after loading works on.

It holds no TensorFlow objects: layer configs are dicts, weights are numpy arrays, and the wiring is
a list of calls in execution order. Converters and the graph builder need nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class TensorSpec:
    """A graph tensor: `name` is unique in the graph; `shape` includes the batch axis (None)."""

    name: str
    shape: Shape
    dtype: str = "float32"


@dataclass
class LayerSpec:
    """One Keras layer: its config as Keras serializes it and its weights in `layer.weights` order.

    `input_shapes`/`output_shapes` are those of the layer's first call (batch axis included).
    `semantics` names Keras-version behaviours the converter must honour (e.g. "keras2").
    """

    name: str
    class_name: str
    config: dict
    weights: list[np.ndarray] = field(default_factory=list)
    input_shapes: list[Shape] = field(default_factory=list)
    output_shapes: list[Shape] = field(default_factory=list)
    semantics: frozenset[str] = frozenset()

    @property
    def input_shape(self) -> Shape:
        return self.input_shapes[0]

    @property
    def output_shape(self) -> Shape:
        return self.output_shapes[0]

    def param_count(self) -> int:
        return int(sum(w.size for w in self.weights))


@dataclass
class CallSpec:
    """One call of a layer: the tensors it reads and writes, by name.

    `inputs` are the call's tensors in order (a recurrent layer's `initial_state` follows its
    sequence). Keras masks travel beside the tensors: `mask` names the (batch, time) boolean mask
    Keras hands this call (None: no mask reaches it); `output_mask` names the new mask the call
    creates (Embedding with mask_zero, Masking), computed from its first input.
    """

    layer: str
    inputs: list[str]
    outputs: list[str]
    mask: str | None = None
    output_mask: str | None = None


@dataclass
class ModelGraph:
    """A Keras model as layers plus calls in an order where every input is ready before use."""

    name: str
    layers: dict[str, LayerSpec]
    calls: list[CallSpec]
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]

    def layer_classes(self) -> list[tuple[str, str]]:
        return [(spec.name, spec.class_name) for spec in self.layers.values()]
