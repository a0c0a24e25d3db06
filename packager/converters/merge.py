"""Merge layers. Element-wise ones work in either layout when all inputs share a rank; Concatenate
moves its axis along when it runs channels-first."""

from __future__ import annotations

from packager.converters.options import channels_first_axis
from packager.converters.registry import ANY, KERAS, Converted, UnsupportedOption, converter
from packager.graph import LayerSpec
from packager.modules.merge import Concatenate, ElementwiseMerge


def elementwise(spec: LayerSpec, op: str) -> Converted:
    ranks = [len(shape) for shape in spec.input_shapes]
    module = ElementwiseMerge(op, [max(ranks) - r for r in ranks])
    if len(set(ranks)) == 1:
        return Converted(module, ANY, list_input=True)
    return Converted(module, KERAS, list_input=True)  # axes are inserted at 1: Keras layout only


@converter("Add")
def add(spec: LayerSpec) -> Converted:
    """x0 + x1 + ... (broadcasting; lower-rank inputs get axes after the batch axis, as Keras)."""
    return elementwise(spec, "add")


@converter("Subtract")
def subtract(spec: LayerSpec) -> Converted:
    """x0 - x1."""
    if len(spec.input_shapes) != 2:
        raise UnsupportedOption(f"Subtract of {len(spec.input_shapes)} inputs")
    return elementwise(spec, "subtract")


@converter("Multiply")
def multiply(spec: LayerSpec) -> Converted:
    """x0 * x1 * ..."""
    return elementwise(spec, "multiply")


@converter("Average")
def average(spec: LayerSpec) -> Converted:
    """(x0 + x1 + ...) / n."""
    return elementwise(spec, "average")


@converter("Maximum")
def maximum(spec: LayerSpec) -> Converted:
    """torch.maximum folded over the inputs."""
    return elementwise(spec, "maximum")


@converter("Minimum")
def minimum(spec: LayerSpec) -> Converted:
    """torch.minimum folded over the inputs."""
    return elementwise(spec, "minimum")


@converter("Concatenate")
def concatenate(spec: LayerSpec) -> Converted:
    """torch.cat on Keras's axis (default -1); inside a channels-first run the axis moves with the channels."""
    axis = int(spec.config.get("axis", -1))
    rank = len(spec.output_shape)
    if axis % rank == 0:
        raise UnsupportedOption("axis=0 (the batch axis)")
    module = Concatenate(axis % rank)
    if rank > 2:
        variant = Concatenate(channels_first_axis(axis, rank))
        return Converted(module, KERAS, channels_first=variant, list_input=True)
    return Converted(module, KERAS, list_input=True)
