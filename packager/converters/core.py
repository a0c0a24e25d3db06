"""Dense, Flatten, BatchNormalization and the layers that are identities at inference."""

from __future__ import annotations

import torch
from torch import nn

from packager.converters.activation import activation_module, with_activation
from packager.converters.registry import ANY, KERAS, Converted, UnsupportedOption, converter
from packager.converters.weights import dense_kernel, tensor
from packager.graph import LayerSpec
from packager.modules.core import ChannelAffine, Flatten


@converter("Dense")
def dense(spec: LayerSpec) -> nn.Module:
    """Dense -> nn.Linear on the last axis (so 3-D input works as in Keras); weight = kernel.T."""
    kernel = spec.weights[0]
    use_bias = spec.config.get("use_bias", True)
    linear = nn.Linear(kernel.shape[0], kernel.shape[1], bias=use_bias)
    with torch.no_grad():
        linear.weight.copy_(dense_kernel(kernel))
        if use_bias:
            linear.bias.copy_(tensor(spec.weights[1]))
    return with_activation(linear, activation_module(spec.config.get("activation")))


@converter(
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
)
def inference_identity(spec: LayerSpec) -> Converted:
    """Noise and dropout layers do nothing at inference."""
    return Converted(nn.Identity(), ANY)


@converter("Flatten")
def flatten(spec: LayerSpec) -> nn.Module:
    """Flatten in channels-last order (Keras moves channels last first when data_format says so)."""
    return Flatten(channels_first=spec.config.get("data_format") == "channels_first")


def _broadcast(values: torch.Tensor, trailing: int) -> torch.Tensor:
    return values.reshape(-1, *([1] * trailing))


@converter("BatchNormalization")
def batch_normalization(spec: LayerSpec) -> Converted:
    """Inference BN: y = x * gamma * rsqrt(var + eps) + (beta - mean * gamma * rsqrt(var + eps)).

    Weights are [gamma if scale] [beta if center] moving_mean, moving_variance; epsilon comes from
    the config (Keras default 1e-3, torch's is 1e-5).
    """
    config = spec.config
    axis = config.get("axis", -1)
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise UnsupportedOption(f"axis={axis} (normalizing over several axes)")
        axis = axis[0]
    rank = len(spec.input_shape)
    axis = axis % rank
    if axis == 0:
        raise UnsupportedOption("axis=0 (the batch axis)")
    weights = list(spec.weights)
    gamma = tensor(weights.pop(0)) if config.get("scale", True) else None
    beta = tensor(weights.pop(0)) if config.get("center", True) else None
    mean, variance = tensor(weights[0]), tensor(weights[1])
    scale = torch.rsqrt(variance + float(config.get("epsilon", 1e-3)))
    if gamma is not None:
        scale = scale * gamma
    shift = -mean * scale if beta is None else beta - mean * scale
    module = ChannelAffine(_broadcast(scale, rank - 1 - axis), _broadcast(shift, rank - 1 - axis))
    if axis == rank - 1 and rank > 2:
        # Channels-last BN also runs inside a run of channels-first conv layers.
        variant = ChannelAffine(_broadcast(scale, rank - 2), _broadcast(shift, rank - 2))
        return Converted(module, KERAS, channels_first=variant)
    return Converted(module, KERAS)
