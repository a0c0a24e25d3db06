"""Convolutions. Keras kernels (*k, in/groups, out) become torch's (out, in/groups, *k)."""

from __future__ import annotations

import torch
from torch import nn

from packager.converters.activation import activation_module
from packager.converters.options import as_list, channels_last
from packager.converters.registry import CHANNELS_FIRST, KERAS, Converted, UnsupportedOption, converter
from packager.converters.weights import conv_kernel, tensor
from packager.graph import LayerSpec
from packager.modules.padding import ConstantPad, SamePad, same_padding_static

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


def padding_modules(
    padding: str, kernel: list[int], stride: list[int], dilation: list[int], value: float = 0.0
) -> tuple[nn.Module | None, list[int]]:
    """TF padding as (explicit pad module or None, symmetric padding for the torch op)."""
    ndim = len(kernel)
    if padding == "valid":
        return None, [0] * ndim
    if padding == "causal":
        if ndim != 1:
            raise UnsupportedOption("causal padding outside Conv1D")
        return ConstantPad([((kernel[0] - 1) * dilation[0], 0)], value), [0]
    if padding != "same":
        raise UnsupportedOption(f"padding={padding!r}")
    if any(s != 1 for s in stride):
        return SamePad(kernel, stride, dilation, value), [0] * ndim
    pads = same_padding_static(kernel, dilation)
    if all(left == right for left, right in pads):
        return None, [left for left, _ in pads]
    return ConstantPad(pads, value), [0] * ndim


def conv_module(spec: LayerSpec, ndim: int) -> Converted:
    """ConvND with TF padding and the layer's activation, on channels-first tensors."""
    config = spec.config
    kernel_size = as_list(config["kernel_size"], ndim)
    stride = as_list(config.get("strides", 1), ndim)
    dilation = as_list(config.get("dilation_rate", 1), ndim)
    groups = int(config.get("groups", 1))
    use_bias = config.get("use_bias", True)
    kernel = spec.weights[0]
    pad, symmetric = padding_modules(config.get("padding", "valid"), kernel_size, stride, dilation)
    conv = _CONV[ndim](
        kernel.shape[-2] * groups,
        kernel.shape[-1],
        kernel_size,
        stride=stride,
        padding=symmetric,
        dilation=dilation,
        groups=groups,
        bias=use_bias,
    )
    with torch.no_grad():
        conv.weight.copy_(conv_kernel(kernel))
        if use_bias:
            conv.bias.copy_(tensor(spec.weights[1]))
    parts = [m for m in (pad, conv, activation_module(config.get("activation"), axis=1)) if m is not None]
    parts = [m for m in parts if not isinstance(m, nn.Identity)]
    module = parts[0] if len(parts) == 1 else nn.Sequential(*parts)
    return Converted(module, CHANNELS_FIRST if channels_last(config) else KERAS)


@converter("Conv1D")
def conv1d(spec: LayerSpec) -> Converted:
    """Conv1D: valid / same (TF's uneven split, stride-dependent) / causal (left pad (k-1)*d)."""
    return conv_module(spec, 1)
