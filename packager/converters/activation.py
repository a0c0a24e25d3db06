"""Activation layers and the activation argument of other layers."""

from __future__ import annotations

from torch import nn

from packager.converters.options import activation_name
from packager.converters.registry import ANY, KERAS, Converted, UnsupportedOption, converter
from packager.graph import LayerSpec
from packager.modules.activations import ACTIVATIONS, AXIS_ACTIVATIONS


def activation_module(value, axis: int = -1) -> nn.Module:
    """The torch module for a Keras activation name or serialized function; `axis` for softmax & co."""
    name = activation_name(value)
    factory = ACTIVATIONS.get(name)
    if factory is None:
        raise UnsupportedOption(f"activation {name!r}")
    return factory(axis)


def is_identity(module: nn.Module) -> bool:
    return isinstance(module, nn.Identity)


def with_activation(module: nn.Module, activation: nn.Module) -> nn.Module:
    """`module` followed by `activation`, or `module` alone when the activation is linear."""
    return module if is_identity(activation) else nn.Sequential(module, activation)


@converter("Activation")
def activation(spec: LayerSpec) -> Converted:
    """Activation(name): element-wise ones work in any layout; softmax & co act on the last axis."""
    value = spec.config.get("activation")
    if activation_name(value) in AXIS_ACTIVATIONS:
        return Converted(activation_module(value, -1), KERAS, channels_first=activation_module(value, 1))
    return Converted(activation_module(value), ANY)
