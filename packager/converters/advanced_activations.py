"""The activation layers with arguments: ReLU, LeakyReLU, PReLU, ELU, Softmax."""

from __future__ import annotations

import numpy as np
from torch import nn

from packager.converters.options import axis_list, channels_first_axis
from packager.converters.registry import ANY, KERAS, Converted, converter
from packager.converters.weights import tensor
from packager.graph import LayerSpec
from packager.modules.activations import KerasReLU, PReLU, SoftmaxAxes


@converter("ReLU")
def relu(spec: LayerSpec) -> Converted:
    """KerasReLU(negative_slope, max_value, threshold); nn.ReLU for the defaults. Element-wise."""
    config = spec.config
    slope = float(config.get("negative_slope") or 0.0)
    max_value = config.get("max_value")
    threshold = float(config.get("threshold") or 0.0)
    if slope == 0.0 and max_value is None and threshold == 0.0:
        return Converted(nn.ReLU(), ANY)
    return Converted(KerasReLU(slope, None if max_value is None else float(max_value), threshold), ANY)


@converter("LeakyReLU")
def leaky_relu(spec: LayerSpec) -> Converted:
    """nn.LeakyReLU(negative_slope) (Keras 2 called it `alpha`); Keras's default slope is 0.3."""
    config = spec.config
    slope = config.get("negative_slope", config.get("alpha", 0.3))
    return Converted(nn.LeakyReLU(float(0.3 if slope is None else slope)), ANY)


@converter("ELU")
def elu(spec: LayerSpec) -> Converted:
    """nn.ELU(alpha): x if x > 0 else alpha * (exp(x) - 1)."""
    alpha = spec.config.get("alpha", 1.0)
    return Converted(nn.ELU(alpha=float(1.0 if alpha is None else alpha)), ANY)


@converter("PReLU")
def prelu(spec: LayerSpec) -> Converted:
    """relu(x) - alpha * relu(-x); alpha has the input's shape without batch (1 on shared_axes)."""
    alpha = spec.weights[0]
    module = PReLU(tensor(alpha))
    if alpha.ndim >= 2:
        # Channels-first: alpha's channel axis (last) moves to the front like the tensor's.
        return Converted(module, KERAS, channels_first=PReLU(tensor(np.moveaxis(alpha, -1, 0))))
    return Converted(module, KERAS)


def _softmax(axes: list[int]) -> nn.Module:
    return nn.Softmax(dim=axes[0]) if len(axes) == 1 else SoftmaxAxes(axes)


@converter("Softmax")
def softmax(spec: LayerSpec) -> Converted:
    """nn.Softmax(axis); several axes: exp(x - logsumexp(x, axes)) as Keras."""
    rank = len(spec.input_shape)
    axes = [a % rank for a in axis_list(spec.config.get("axis", -1))]
    module = _softmax(axes)
    if rank > 2 and 0 not in axes:
        return Converted(module, KERAS, channels_first=_softmax([channels_first_axis(a, rank) for a in axes]))
    return Converted(module, KERAS)
