"""Wrapper layers. The wrapped layer is converted by its own registered converter from a LayerSpec
synthesized out of the wrapper's config and weights."""

from __future__ import annotations

from torch import nn

from packager.converters.registry import (
    ANY,
    CHANNELS_FIRST,
    KERAS,
    Converted,
    UnsupportedOption,
    convert_layer,
    converter,
)
from packager.graph import LayerSpec, Shape
from packager.modules.layout import ChannelsFirstInside
from packager.modules.wrappers import Bidirectional, FirstOutput, OneStateRecurrent, TimeDistributed, TwoStateRecurrent


def inner_spec(
    outer: LayerSpec, key: str, weights: list, input_shapes: list[Shape], output_shapes: list[Shape]
) -> LayerSpec:
    """The wrapped layer's description: its serialized config under `key` in the wrapper's config."""
    entry = outer.config.get(key)
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise UnsupportedOption(f"{key!r} is not a serialized Keras layer")
    config = dict(entry.get("config") or {})
    return LayerSpec(
        name=f"{outer.name}/{config.get('name', key)}",
        class_name=entry["class_name"],
        config=config,
        weights=list(weights),
        input_shapes=input_shapes,
        output_shapes=output_shapes,
        semantics=outer.semantics,
    )


def _drop_time(shape: Shape) -> Shape:
    return (shape[0], *shape[2:])


def _keras_layout(converted: Converted) -> nn.Module:
    """The wrapped module as one that takes and returns Keras-layout tensors."""
    module = converted.module
    if converted.layout == CHANNELS_FIRST:
        module = ChannelsFirstInside(module)
    return FirstOutput(module) if converted.tuple_output else module


@converter("TimeDistributed")
def time_distributed(spec: LayerSpec) -> Converted:
    """Fold time into batch, run the wrapped layer's converted module, unfold: (B, T, ...) -> (B*T, ...)."""
    inner = convert_layer(
        inner_spec(
            spec,
            "layer",
            spec.weights,
            [_drop_time(s) for s in spec.input_shapes],
            [_drop_time(s) for s in spec.output_shapes],
        )
    )
    if inner.list_input:
        raise UnsupportedOption("TimeDistributed around a multi-input layer")
    if isinstance(inner.module, nn.Identity):
        return Converted(nn.Identity(), ANY)
    # Keras hands a mask on only to wrapped layers that take one (per step); others ignore it.
    return Converted(TimeDistributed(_keras_layout(inner)), KERAS, mask_input=not inner.mask_input)


# Recurrent classes Bidirectional can wrap, and the states each carries.
_RECURRENT_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1, "ConvLSTM1D": 2, "ConvLSTM2D": 2, "ConvLSTM3D": 2}


def _direction(spec: LayerSpec, key: str, weights: list) -> Converted:
    """One direction's converted RNN, as a module (x, states list, mask) -> [output, *states]."""
    inner = inner_spec(spec, key, weights, spec.input_shapes, spec.output_shapes)
    if inner.class_name not in _RECURRENT_STATES:
        raise UnsupportedOption(f"Bidirectional around {inner.class_name}")
    # Keras's Bidirectional forces zero_output_for_mask = return_sequences on both directions.
    inner.config["zero_output_for_mask"] = bool(inner.config.get("return_sequences", False))
    converted = convert_layer(inner)
    adapter = TwoStateRecurrent if _RECURRENT_STATES[inner.class_name] == 2 else OneStateRecurrent
    return Converted(adapter(converted.module), mask_input=converted.mask_input)


def _weight_count(entry: dict) -> int:
    """kernel, recurrent_kernel and, with use_bias, bias: the forward layer's share of the weights."""
    return 2 + int(bool((entry.get("config") or {}).get("use_bias", True)))


@converter("Bidirectional")
def bidirectional(spec: LayerSpec) -> Converted:
    """Forward and backward (go_backwards) RNNs; backward sequences flipped back; concat/sum/mul/ave/None."""
    config = spec.config
    merge_mode = config.get("merge_mode", "concat")
    if merge_mode not in ("concat", "sum", "mul", "ave", None):
        raise UnsupportedOption(f"merge_mode={merge_mode!r}")
    layer = config.get("layer") or {}
    if not config.get("backward_layer"):
        # Older configs leave it out when it is the default: Keras builds it as a go_backwards copy.
        backward_layer = {**layer, "config": {**(layer.get("config") or {}), "go_backwards": True}}
        config = {**config, "backward_layer": backward_layer}
        spec = LayerSpec(
            spec.name, spec.class_name, config, spec.weights, spec.input_shapes, spec.output_shapes, spec.semantics
        )
    count = _weight_count(layer)
    forward = _direction(spec, "layer", spec.weights[:count])
    backward = _direction(spec, "backward_layer", spec.weights[count:])
    return_sequences = bool((layer.get("config") or {}).get("return_sequences", False))
    module = Bidirectional(forward.module, backward.module, merge_mode, return_sequences)
    return Converted(module, KERAS, tuple_output=True, mask_input=forward.mask_input and backward.mask_input)
