"""Convert every layer and wire the modules into one torch.fx GraphModule that mirrors the Keras graph.

The walker owns the layout decision: tensors stay in Keras layout except inside runs of modules
that work channels-first (conv, pooling), where it moves the channel axis once at each end of the
run and reuses a moved tensor for every consumer.
"""

from __future__ import annotations

import keyword
import operator
import re
from dataclasses import dataclass

import torch.fx as fx
from torch import nn

from packager.converters.registry import (
    ANY,
    CHANNELS_FIRST,
    KERAS,
    STRUCTURAL,
    Converted,
    UnsupportedOption,
    convert_layer,
    get_converter,
)
from packager.errors import UnsupportedLayers, one_line
from packager.graph import LayerSpec, ModelGraph
from packager.modules.layout import to_channels_first, to_channels_last


@dataclass
class ConvertedModel:
    """The assembled module and, per Keras layer, the attribute that holds its torch module."""

    module: fx.GraphModule
    attributes: dict[str, str | None]  # Keras layer name -> module attribute (None: elided identity)
    layouts: dict[str, str]  # Keras layer name -> layout its module ran in


def find_unsupported(layers: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(name, class, reason) for every layer with no converter, before anything is converted."""
    missing = []
    for name, class_name in layers:
        if class_name not in STRUCTURAL and get_converter(class_name) is None:
            missing.append((name, class_name, "no converter"))
    return missing


def convert_layers(graph: ModelGraph) -> dict[str, Converted]:
    """Run every converter; collect every failure and raise them together."""
    converted: dict[str, Converted] = {}
    errors = find_unsupported(graph.layer_classes())
    crashed: Exception | None = None
    for name, spec in graph.layers.items():
        if any(name == err[0] for err in errors):
            continue
        try:
            converted[name] = convert_layer(spec)
        except UnsupportedOption as exc:
            errors.append((name, spec.class_name, str(exc)))
        except Exception as exc:  # a converter that breaks on an odd config (damaged file): name the layer
            crashed = crashed or exc
            errors.append((name, spec.class_name, f"converter failed: {type(exc).__name__}: {one_line(exc, 200)}"))
    errors.extend(mask_errors(graph, converted))
    if errors:
        raise UnsupportedLayers(errors) from crashed  # --debug shows the converter's traceback
    return converted


def mask_errors(graph: ModelGraph, converted: dict[str, Converted]) -> list[tuple[str, str, str]]:
    """Calls given a Keras mask their module cannot apply, and used masks nothing can compute.

    A Keras mask changes a layer's output only where Keras hands it to the layer's call, so only
    those calls matter; a mask that merely travels past other layers is harmless.
    """
    made = {call.output_mask: call.layer for call in graph.calls if call.output_mask}
    tensors = {spec.name for spec in graph.inputs} | {t for call in graph.calls for t in call.outputs}
    errors: list[tuple[str, str, str]] = []
    for call in graph.calls:
        if call.mask is None or call.layer not in converted:
            continue
        cls = graph.layers[call.layer].class_name
        if not converted[call.layer].mask_input:
            errors.append((call.layer, cls, "receives a Keras mask it cannot apply"))
        producer = made.get(call.mask)
        if producer is not None and producer in converted and converted[producer].mask_module is None:
            why = "computes a Keras mask that packager cannot reproduce"
            errors.append((producer, graph.layers[producer].class_name, why))
        elif producer is None and call.mask not in tensors:
            errors.append((call.layer, cls, "receives a Keras mask of unknown origin"))
    return list(dict.fromkeys(errors))


def attribute_name(name: str, taken: set[str]) -> str:
    """A Python identifier for a module attribute, derived from the Keras layer name."""
    base = re.sub(r"\W", "_", name) or "layer"
    if base[0].isdigit() or keyword.iskeyword(base) or hasattr(nn.Module, base):
        base = f"layer_{base}"
    candidate, i = base, 1
    while candidate in taken:
        i += 1
        candidate = f"{base}_{i}"
    taken.add(candidate)
    return candidate


class _Wiring:
    """Tensor name -> fx node per layout, moving the channel axis only when a consumer needs it."""

    def __init__(self, fx_graph: fx.Graph):
        self.graph = fx_graph
        self.nodes: dict[str, dict[str, fx.Node]] = {}
        self.neutral: set[str] = set()  # (batch, features) tensors: the same in both layouts

    def define(self, tensor: str, node: fx.Node, layout: str, rank: int) -> None:
        self.nodes[tensor] = {layout: node}
        if rank <= 2:
            self.neutral.add(tensor)

    def alias(self, tensor: str, existing: str) -> None:
        self.nodes[tensor] = self.nodes[existing]
        if existing in self.neutral:
            self.neutral.add(tensor)

    def home(self, tensor: str) -> str:
        return next(iter(self.nodes[tensor]))

    def preferred_layout(self, tensors: list[str]) -> str:
        """The layout most of `tensors` already live in (ties: the first one's), so merges move the fewest."""
        homes = [self.home(t) for t in tensors if t not in self.neutral]
        if not homes:
            return KERAS
        first_count = sum(h == CHANNELS_FIRST for h in homes)
        if first_count * 2 == len(homes):
            return homes[0]
        return CHANNELS_FIRST if first_count * 2 > len(homes) else KERAS

    def get(self, tensor: str, layout: str) -> fx.Node:
        variants = self.nodes[tensor]
        if tensor in self.neutral:
            return next(iter(variants.values()))
        if layout not in variants:
            if layout == CHANNELS_FIRST:
                variants[layout] = self.graph.call_function(to_channels_first, (variants[KERAS],))
            else:
                variants[layout] = self.graph.call_function(to_channels_last, (variants[CHANNELS_FIRST],))
        return variants[layout]


def _choose(conv: Converted, preferred: str) -> tuple[nn.Module, str]:
    """The module variant and layout for a call whose inputs mostly live in `preferred`.

    Every input of the call is then fetched in that one layout (moved once, and the moved tensor
    kept for other consumers).
    """
    if conv.layout == ANY:
        return conv.module, preferred
    if preferred == CHANNELS_FIRST and conv.channels_first is not None:
        return conv.channels_first, CHANNELS_FIRST
    return conv.module, conv.layout


def assemble(graph: ModelGraph, converted: dict[str, Converted]) -> ConvertedModel:
    root = nn.Module()
    fx_graph = fx.Graph()
    wiring = _Wiring(fx_graph)
    taken: set[str] = set()
    for spec in graph.inputs:
        wiring.define(spec.name, fx_graph.placeholder(attribute_name(spec.name, taken)), KERAS, len(spec.shape))

    attributes: dict[str, str | None] = {}
    layouts: dict[str, str] = {}
    module_attr: dict[int, str] = {}  # id(module) -> attribute, so a shared layer is one module
    used_masks = {call.mask for call in graph.calls if call.mask}
    for call in graph.calls:
        conv = converted[call.layer]
        spec: LayerSpec = graph.layers[call.layer]
        if call.output_mask in used_masks and conv.mask_module is not None:
            _define_mask(fx_graph, root, wiring, call, conv.mask_module, taken)
        module, layout = _choose(conv, wiring.preferred_layout(call.inputs))
        layouts[call.layer] = layout
        if isinstance(module, nn.Identity) and len(call.inputs) == 1 and len(call.outputs) == 1:
            attributes.setdefault(call.layer, None)
            wiring.alias(call.outputs[0], call.inputs[0])  # inference no-op
            continue
        if id(module) not in module_attr:
            module_attr[id(module)] = attribute_name(call.layer, taken)
            root.add_module(module_attr[id(module)], module)
        attributes[call.layer] = module_attr[id(module)]
        args = tuple(wiring.get(t, layout) for t in call.inputs)
        if conv.list_input:
            args = (list(args),)
        mask = {"mask": wiring.get(call.mask, KERAS)} if call.mask else {}
        node = fx_graph.call_module(module_attr[id(module)], args, mask)
        for i, tensor in enumerate(call.outputs):
            out = fx_graph.call_function(operator.getitem, (node, i)) if conv.tuple_output else node
            rank = len(spec.output_shapes[min(i, len(spec.output_shapes) - 1)])
            # A (batch, features) tensor is the same in both layouts.
            wiring.define(tensor, out, KERAS if rank <= 2 else layout, rank)

    outputs = [wiring.get(spec.name, KERAS) for spec in graph.outputs]
    fx_graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    module = fx.GraphModule(root, fx_graph, class_name=attribute_name(graph.name, set()))
    module.eval()
    return ConvertedModel(module=module, attributes=attributes, layouts=layouts)


def _define_mask(fx_graph: fx.Graph, root: nn.Module, wiring: _Wiring, call, mask_module: nn.Module, taken) -> None:
    """The (batch, time) mask a layer creates, computed from its first input beside the layer."""
    attr = attribute_name(f"{call.layer}_mask", taken)
    root.add_module(attr, mask_module)
    node = fx_graph.call_module(attr, (wiring.get(call.inputs[0], KERAS),))
    wiring.define(call.output_mask, node, KERAS, 2)


def convert(graph: ModelGraph) -> ConvertedModel:
    """Keras description -> torch module (eval mode) taking and returning Keras-layout tensors."""
    return assemble(graph, convert_layers(graph))
