"""Pooling: TF `same` pads max with -inf and leaves padded cells out of averages."""

from __future__ import annotations

from torch import nn

from packager.converters.conv import padding_modules
from packager.converters.options import as_list, channels_last
from packager.converters.registry import CHANNELS_FIRST, KERAS, Converted, converter
from packager.graph import LayerSpec
from packager.modules.pooling import AvgPoolExcludePad, GlobalPool, avg_pool, max_pool


def pool_module(spec: LayerSpec, ndim: int, mode: str) -> Converted:
    config = spec.config
    size = as_list(config.get("pool_size", 2), ndim)
    stride = as_list(config.get("strides") or size, ndim)
    ones = [1] * ndim
    padding = config.get("padding", "valid")
    if mode == "max":
        pad, symmetric = padding_modules(padding, size, stride, ones, float("-inf"))
        pool = max_pool(ndim, size, stride, symmetric)  # torch pads max pooling with -inf too
        module = pool if pad is None else nn.Sequential(pad, pool)
    else:
        pad, symmetric = padding_modules(padding, size, stride, ones, 0.0)
        pool = avg_pool(ndim, size, stride, symmetric)  # count_include_pad=False, as Keras
        module = pool if pad is None else AvgPoolExcludePad(pad, pool)
    return Converted(module, CHANNELS_FIRST if channels_last(config) else KERAS)


@converter("MaxPooling1D")
def max_pooling1d(spec: LayerSpec) -> Converted:
    """nn.MaxPool1d; `same` pads with -inf, TF's uneven split."""
    return pool_module(spec, 1, "max")


@converter("AveragePooling1D")
def average_pooling1d(spec: LayerSpec) -> Converted:
    """nn.AvgPool1d; `same` averages over real cells only (padding excluded)."""
    return pool_module(spec, 1, "avg")


def global_pool_module(spec: LayerSpec, mode: str) -> Converted:
    """Reduce the spatial axes; equally valid on a channels-first input (spatial axes 2..)."""
    rank = len(spec.input_shape)
    keepdims = bool(spec.config.get("keepdims", False))
    if channels_last(spec.config):
        spatial_keras = list(range(1, rank - 1))
        variant = GlobalPool(list(range(2, rank)), mode, keepdims)
        return Converted(GlobalPool(spatial_keras, mode, keepdims), KERAS, channels_first=variant)
    return Converted(GlobalPool(list(range(2, rank)), mode, keepdims), KERAS)


@converter("GlobalMaxPooling1D")
def global_max_pooling1d(spec: LayerSpec) -> Converted:
    """amax over time (keepdims honoured)."""
    return global_pool_module(spec, "max")


@converter("GlobalAveragePooling1D")
def global_average_pooling1d(spec: LayerSpec) -> Converted:
    """mean over time (keepdims honoured); with a Keras mask, the mean over unmasked steps."""
    converted = global_pool_module(spec, "avg")
    converted.mask_input = True
    return converted


@converter("MaxPooling2D")
def max_pooling2d(spec: LayerSpec) -> Converted:
    """nn.MaxPool2d; `same` pads with -inf, TF's uneven split."""
    return pool_module(spec, 2, "max")


@converter("MaxPooling3D")
def max_pooling3d(spec: LayerSpec) -> Converted:
    """nn.MaxPool3d; `same` pads with -inf, TF's uneven split."""
    return pool_module(spec, 3, "max")


@converter("AveragePooling2D")
def average_pooling2d(spec: LayerSpec) -> Converted:
    """nn.AvgPool2d; `same` averages over real cells only (padding excluded)."""
    return pool_module(spec, 2, "avg")


@converter("AveragePooling3D")
def average_pooling3d(spec: LayerSpec) -> Converted:
    """nn.AvgPool3d; `same` averages over real cells only (padding excluded)."""
    return pool_module(spec, 3, "avg")


@converter("GlobalMaxPooling2D")
def global_max_pooling2d(spec: LayerSpec) -> Converted:
    """amax over height and width (keepdims honoured)."""
    return global_pool_module(spec, "max")


@converter("GlobalMaxPooling3D")
def global_max_pooling3d(spec: LayerSpec) -> Converted:
    """amax over the three spatial axes (keepdims honoured)."""
    return global_pool_module(spec, "max")


@converter("GlobalAveragePooling2D")
def global_average_pooling2d(spec: LayerSpec) -> Converted:
    """mean over height and width (keepdims honoured)."""
    return global_pool_module(spec, "avg")


@converter("GlobalAveragePooling3D")
def global_average_pooling3d(spec: LayerSpec) -> Converted:
    """mean over the three spatial axes (keepdims honoured)."""
    return global_pool_module(spec, "avg")
