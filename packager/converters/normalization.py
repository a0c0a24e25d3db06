"""LayerNormalization (BatchNormalization lives in core.py)."""

from __future__ import annotations

import numpy as np

from packager.converters.options import axis_list, channels_first_axis
from packager.converters.registry import KERAS, Converted, UnsupportedOption, converter
from packager.converters.weights import tensor
from packager.graph import LayerSpec
from packager.modules.normalization import KerasLayerNorm


def _broadcast_shape(values: np.ndarray, axes: list[int], input_shape: tuple) -> np.ndarray:
    """gamma/beta (sizes of the normalized axes, in sorted axis order) as a tensor over the full rank."""
    shape = [1] * len(input_shape)
    for axis in axes:
        shape[axis] = input_shape[axis]
    return values.reshape(shape)


@converter("LayerNormalization")
def layer_normalization(spec: LayerSpec) -> Converted:
    """Keras 3's formula: inv = rsqrt(var + eps) * gamma, y = x * inv + (beta - mean * inv); any axes.

    Weights: [gamma if scale or rms_scaling] [beta if center and not rms_scaling]; epsilon from the
    config (default 1e-3). Channels-first variant: the same with the axes and gamma/beta moved.
    """
    config = spec.config
    rank = len(spec.input_shape)
    axes = sorted(a % rank for a in axis_list(config.get("axis", -1)))
    if 0 in axes:
        raise UnsupportedOption("axis=0 (the batch axis)")
    if any(spec.input_shape[a] is None for a in axes):
        raise UnsupportedOption(f"axis={axes} includes a dimension of unknown size")
    rms = bool(config.get("rms_scaling", False))
    weights = list(spec.weights)
    gamma = weights.pop(0) if (config.get("scale", True) or rms) else None
    beta = weights.pop(0) if (config.get("center", True) and not rms) else None
    epsilon = float(config.get("epsilon", 1e-3))

    def build(move_channels: bool) -> KerasLayerNorm:
        def shaped(values):
            if values is None:
                return None
            full = _broadcast_shape(values, axes, spec.input_shape)
            return tensor(np.moveaxis(full, -1, 1) if move_channels else full)

        dims = [channels_first_axis(a, rank) for a in axes] if move_channels else axes
        return KerasLayerNorm(dims, epsilon, shaped(gamma), shaped(beta), rms)

    if rank > 2:
        return Converted(build(False), KERAS, channels_first=build(True))
    return Converted(build(False), KERAS)
