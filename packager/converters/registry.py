"""The converter registry: Keras class name -> small named function (LayerSpec -> torch module)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

from torch import nn

from packager.graph import LayerSpec

# Layouts a converted module can take its input in.
KERAS = "keras"  # the tensor exactly as Keras has it (channels last unless data_format says otherwise)
CHANNELS_FIRST = "channels_first"  # Keras's channels-last tensor with the channel axis moved to 1
ANY = "any"  # element-wise: works on either layout and keeps it


@dataclass
class Converted:
    """A converter's result when a plain module is not enough to say how to wire it.

    `layout`: what the module expects and returns. `channels_first`: an equivalent module for a
    channels-first input (lets BatchNorm or softmax sit inside a conv run without permutes).
    `tuple_output`: the module returns a tuple whose items are the Keras call's outputs.
    `list_input`: the module takes the call's inputs as one list (merge layers: any number of them).
    `mask_input`: the module's forward takes `mask=` (a (batch, time) bool tensor) and applies it
    as Keras does; calls that receive a Keras mask are refused for modules without it.
    `mask_module`: for layers that create a mask (Embedding mask_zero, Masking), a module computing
    it from the layer's input.
    """

    module: nn.Module
    layout: str = KERAS
    channels_first: nn.Module | None = None
    tuple_output: bool = False
    list_input: bool = False
    mask_input: bool = False
    mask_module: nn.Module | None = None


ConverterResult = Union[nn.Module, Converted]
ConverterFn = Callable[[LayerSpec], ConverterResult]

_REGISTRY: dict[str, ConverterFn] = {}

# Structural classes the graph walker handles itself; they never reach a converter.
STRUCTURAL = frozenset({"InputLayer"})


class UnsupportedOption(Exception):
    """A converter cannot express this layer's configuration; the message says which option."""


def converter(*class_names: str) -> Callable[[ConverterFn], ConverterFn]:
    """Register `fn` for the Keras classes `class_names`. Duplicates are an error."""

    def register(fn: ConverterFn) -> ConverterFn:
        for name in class_names:
            owner = _REGISTRY.get(name)
            if owner is not None and owner is not fn:
                raise ValueError(f"converter for {name!r} already registered by {owner.__module__}.{owner.__name__}")
            _REGISTRY[name] = fn
        return fn

    return register


def get_converter(class_name: str) -> ConverterFn | None:
    load_builtin_converters()
    return _REGISTRY.get(class_name)


def registered_classes() -> list[str]:
    load_builtin_converters()
    return sorted(_REGISTRY)


def is_supported(class_name: str) -> bool:
    return class_name in STRUCTURAL or get_converter(class_name) is not None


def as_converted(result: ConverterResult) -> Converted:
    return result if isinstance(result, Converted) else Converted(result)


def convert_layer(spec: LayerSpec) -> Converted:
    """Run the registered converter for `spec` (wrappers use this for the layer they wrap)."""
    fn = get_converter(spec.class_name)
    if fn is None:
        raise UnsupportedOption(f"no converter for class {spec.class_name}")
    return as_converted(fn(spec))


_loaded = False


def load_builtin_converters() -> None:
    """Import the modules whose decorators fill the registry (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from packager.converters import (  # noqa: F401
        activation,
        advanced_activations,
        conv,
        convlstm,
        core,
        embedding,
        merge,
        normalization,
        pooling,
        recurrent,
        reshaping,
        wrappers,
    )
