"""ConvLSTM1D/2D/3D: Keras's cell with torch convolutions (TF padding rules for the input conv)."""

from __future__ import annotations

from torch import nn

from packager.converters.activation import activation_module
from packager.converters.conv import conv_parts
from packager.converters.options import channels_last, reject_stateful
from packager.converters.registry import KERAS, Converted, converter
from packager.converters.weights import conv_kernel, tensor
from packager.graph import LayerSpec
from packager.modules.convlstm import ConvLSTM


def _sequential(parts: list[nn.Module]) -> nn.Module:
    return parts[0] if len(parts) == 1 else nn.Sequential(*parts)


def conv_lstm_module(spec: LayerSpec, ndim: int) -> Converted:
    """Input conv: kernel (*k, in, 4F) with strides/padding/dilation and the bias; recurrent conv:
    kernel (*k, F, 4F), stride 1, `same`, no dilation. Gates [i, f, c, o] along the channels."""
    config = spec.config
    reject_stateful(config)
    kernel, recurrent = spec.weights[0], spec.weights[1]
    bias = tensor(spec.weights[2]) if config.get("use_bias", True) else None
    filters = recurrent.shape[-2]
    ones = [1] * ndim
    input_conv = conv_parts(ndim, conv_kernel(kernel), bias, config)
    recurrent_conv = conv_parts(ndim, conv_kernel(recurrent), None, config, 1, None, "same", ones, ones)
    module = ConvLSTM(
        _sequential(input_conv),
        _sequential(recurrent_conv),
        filters,
        activation_module(config.get("activation", "tanh"), axis=1),
        activation_module(config.get("recurrent_activation", "sigmoid"), axis=1),
        bool(config.get("return_sequences", False)),
        bool(config.get("go_backwards", False)),
        channels_last(config),
        bool(config.get("zero_output_for_mask", False)),
    )
    return Converted(module, KERAS, tuple_output=True, mask_input=True)


@converter("ConvLSTM1D")
def conv_lstm1d(spec: LayerSpec) -> Converted:
    """Keras's ConvLSTM cell over (B, T, L, C) with nn.Conv1d for the input and recurrent convolutions."""
    return conv_lstm_module(spec, 1)


@converter("ConvLSTM2D")
def conv_lstm2d(spec: LayerSpec) -> Converted:
    """Keras's ConvLSTM cell over (B, T, H, W, C) with nn.Conv2d for the input and recurrent convolutions."""
    return conv_lstm_module(spec, 2)


@converter("ConvLSTM3D")
def conv_lstm3d(spec: LayerSpec) -> Converted:
    """Keras's ConvLSTM cell over (B, T, D, H, W, C) with nn.Conv3d for both convolutions."""
    return conv_lstm_module(spec, 3)
