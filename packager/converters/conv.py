"""Convolutions. Keras kernels (*k, in/groups, out) become torch's (out, in/groups, *k)."""

from __future__ import annotations

import torch
from torch import nn

from packager.converters.activation import activation_module
from packager.converters.options import as_list, channels_last
from packager.converters.registry import CHANNELS_FIRST, KERAS, Converted, UnsupportedOption, converter
from packager.converters.weights import conv_kernel, depthwise_kernel, tensor, transpose_conv_kernel
from packager.graph import LayerSpec
from packager.modules.conv import TransposeConvTF
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


def conv_parts(
    ndim: int,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    config: dict,
    groups: int = 1,
    kernel_size: list[int] | None = None,
    padding: str | None = None,
    stride: list[int] | None = None,
    dilation: list[int] | None = None,
) -> list[nn.Module]:
    """[explicit TF pad module,] torch ConvND with weight (out, in/groups, *k) and bias, channels-first."""
    kernel_size = kernel_size or as_list(config["kernel_size"], ndim)
    stride = stride or as_list(config.get("strides", 1), ndim)
    dilation = dilation or as_list(config.get("dilation_rate", 1), ndim)
    pad, symmetric = padding_modules(padding or config.get("padding", "valid"), kernel_size, stride, dilation)
    conv = _CONV[ndim](
        weight.shape[1] * groups,
        weight.shape[0],
        kernel_size,
        stride=stride,
        padding=symmetric,
        dilation=dilation,
        groups=groups,
        bias=bias is not None,
    )
    with torch.no_grad():
        conv.weight.copy_(weight)
        if bias is not None:
            conv.bias.copy_(bias)
    return [conv] if pad is None else [pad, conv]


def _finish(parts: list[nn.Module], config: dict) -> Converted:
    """The parts plus the layer's activation (on the channel axis 1), in the layout data_format asks."""
    parts = [*parts, activation_module(config.get("activation"), axis=1)]
    parts = [m for m in parts if not isinstance(m, nn.Identity)]
    module = parts[0] if len(parts) == 1 else nn.Sequential(*parts)
    return Converted(module, CHANNELS_FIRST if channels_last(config) else KERAS)


def _bias(spec: LayerSpec, index: int) -> torch.Tensor | None:
    return tensor(spec.weights[index]) if spec.config.get("use_bias", True) else None


def conv_module(spec: LayerSpec, ndim: int) -> Converted:
    """ConvND with TF padding and the layer's activation, on channels-first tensors."""
    groups = int(spec.config.get("groups", 1))
    parts = conv_parts(ndim, conv_kernel(spec.weights[0]), _bias(spec, 1), spec.config, groups)
    return _finish(parts, spec.config)


@converter("Conv1D")
def conv1d(spec: LayerSpec) -> Converted:
    """Conv1D: valid / same (TF's uneven split, stride-dependent) / causal (left pad (k-1)*d)."""
    return conv_module(spec, 1)


@converter("Conv2D")
def conv2d(spec: LayerSpec) -> Converted:
    """nn.Conv2d, kernel (kh, kw, in/g, out) -> (out, in/g, kh, kw); TF `same` split, dilation, groups."""
    return conv_module(spec, 2)


@converter("Conv3D")
def conv3d(spec: LayerSpec) -> Converted:
    """nn.Conv3d, kernel (kd, kh, kw, in/g, out) -> (out, in/g, kd, kh, kw); TF `same` split, dilation."""
    return conv_module(spec, 3)


def depthwise_module(spec: LayerSpec, ndim: int) -> Converted:
    """Depthwise conv = torch conv with groups = in channels and depth_multiplier outputs per group."""
    kernel = spec.weights[0]
    parts = conv_parts(ndim, depthwise_kernel(kernel), _bias(spec, 1), spec.config, groups=kernel.shape[-2])
    return _finish(parts, spec.config)


@converter("DepthwiseConv1D")
def depthwise_conv1d(spec: LayerSpec) -> Converted:
    """Grouped nn.Conv1d (groups = in), kernel (k, in, mult) -> (in*mult, 1, k)."""
    return depthwise_module(spec, 1)


@converter("DepthwiseConv2D")
def depthwise_conv2d(spec: LayerSpec) -> Converted:
    """Grouped nn.Conv2d (groups = in), kernel (kh, kw, in, mult) -> (in*mult, 1, kh, kw)."""
    return depthwise_module(spec, 2)


def separable_module(spec: LayerSpec, ndim: int) -> Converted:
    """Depthwise conv (stride, padding, dilation; no bias) then a 1x1 pointwise conv carrying the bias."""
    depthwise, pointwise = spec.weights[0], spec.weights[1]
    ones = [1] * ndim
    parts = conv_parts(ndim, depthwise_kernel(depthwise), None, spec.config, groups=depthwise.shape[-2])
    parts += conv_parts(ndim, conv_kernel(pointwise), _bias(spec, 2), spec.config, 1, ones, "valid", ones, ones)
    return _finish(parts, spec.config)


@converter("SeparableConv1D")
def separable_conv1d(spec: LayerSpec) -> Converted:
    """Depthwise nn.Conv1d (groups = in) then pointwise 1x1 nn.Conv1d with the bias."""
    return separable_module(spec, 1)


@converter("SeparableConv2D")
def separable_conv2d(spec: LayerSpec) -> Converted:
    """Depthwise nn.Conv2d (groups = in) then pointwise 1x1 nn.Conv2d with the bias."""
    return separable_module(spec, 2)


_CONV_TRANSPOSE = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}


def conv_transpose_module(spec: LayerSpec, ndim: int) -> Converted:
    """torch ConvTranspose without padding, then TF's crop / zero-extension to its output size."""
    config = spec.config
    kernel_size = as_list(config["kernel_size"], ndim)
    stride = as_list(config.get("strides", 1), ndim)
    dilation = as_list(config.get("dilation_rate", 1), ndim)
    padding = config.get("padding", "valid")
    if padding not in ("valid", "same"):
        raise UnsupportedOption(f"padding={padding!r}")
    output_padding = config.get("output_padding")
    weight = transpose_conv_kernel(spec.weights[0])
    conv = _CONV_TRANSPOSE[ndim](
        weight.shape[0], weight.shape[1], kernel_size, stride=stride, dilation=dilation, bias=False
    )
    with torch.no_grad():
        conv.weight.copy_(weight)
    module = TransposeConvTF(
        conv,
        kernel_size,
        stride,
        dilation,
        padding == "same",
        None if output_padding is None else as_list(output_padding, ndim),
        _bias(spec, 1),
    )
    return _finish([module], config)


@converter("Conv1DTranspose")
def conv1d_transpose(spec: LayerSpec) -> Converted:
    """nn.ConvTranspose1d, kernel (k, out, in) -> (in, out, k); output cut/extended to TF's size."""
    return conv_transpose_module(spec, 1)


@converter("Conv2DTranspose")
def conv2d_transpose(spec: LayerSpec) -> Converted:
    """nn.ConvTranspose2d, kernel (kh, kw, out, in) -> (in, out, kh, kw); output aligned as TF's."""
    return conv_transpose_module(spec, 2)


@converter("Conv3DTranspose")
def conv3d_transpose(spec: LayerSpec) -> Converted:
    """nn.ConvTranspose3d, kernel (kd, kh, kw, out, in) -> (in, out, kd, kh, kw); aligned as TF's."""
    return conv_transpose_module(spec, 3)
