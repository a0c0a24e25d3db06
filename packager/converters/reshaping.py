"""Reshaping layers: padding, cropping, up-sampling, RepeatVector, Reshape, Permute.

Padding, cropping and up-sampling act on the spatial axes only, so a channels-last layer also
works on a channels-first tensor inside a conv run (its `channels_first` variant).
"""

from __future__ import annotations

from torch import nn

from packager.converters.options import as_list, channels_last
from packager.converters.registry import KERAS, Converted, UnsupportedOption, converter
from packager.graph import LayerSpec
from packager.modules.layout import ChannelsFirstInside
from packager.modules.padding import ConstantPad
from packager.modules.reshaping import BilinearUpsample2D, Crop, Permute, RepeatAxes, RepeatVector, Reshape


def pairs(value, ndim: int) -> list[tuple[int, int]]:
    """Keras padding/cropping: an int, one int per axis, or a (left, right) pair per axis."""
    if isinstance(value, int):
        return [(value, value)] * ndim
    values = list(value)
    if ndim == 1 and len(values) == 2 and all(isinstance(v, int) for v in values):
        return [(int(values[0]), int(values[1]))]
    if len(values) != ndim:
        raise UnsupportedOption(f"padding/cropping {value!r} for {ndim} spatial axes")
    return [(int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1])) for v in values]


def spatial_layers(config: dict, make, ndim: int) -> Converted:
    """`make(trailing)` builds the module for a tensor whose spatial axes are followed by `trailing` axes.

    channels_last Keras tensors have the channel axis after the spatial ones (trailing=1); the
    channels-first variant, and Keras's own channels_first data, have none.
    """
    if channels_last(config):
        return Converted(make(1), KERAS, channels_first=make(0))
    return Converted(make(0), KERAS)


def zero_padding(spec: LayerSpec, ndim: int) -> Converted:
    pads = pairs(spec.config.get("padding", 1), ndim)
    return spatial_layers(spec.config, lambda trailing: ConstantPad(pads + [(0, 0)] * trailing), ndim)


@converter("ZeroPadding1D")
def zero_padding1d(spec: LayerSpec) -> Converted:
    """F.pad with zeros on the time axis, (left, right)."""
    return zero_padding(spec, 1)


@converter("ZeroPadding2D")
def zero_padding2d(spec: LayerSpec) -> Converted:
    """F.pad with zeros, ((top, bottom), (left, right))."""
    return zero_padding(spec, 2)


@converter("ZeroPadding3D")
def zero_padding3d(spec: LayerSpec) -> Converted:
    """F.pad with zeros on the three spatial axes, a (left, right) pair each."""
    return zero_padding(spec, 3)


def cropping(spec: LayerSpec, ndim: int) -> Converted:
    crops = pairs(spec.config.get("cropping", 1), ndim)
    return spatial_layers(spec.config, lambda trailing: Crop(crops + [(0, 0)] * trailing), ndim)


@converter("Cropping1D")
def cropping1d(spec: LayerSpec) -> Converted:
    """narrow() on the time axis, (start, end) cells cut."""
    return cropping(spec, 1)


@converter("Cropping2D")
def cropping2d(spec: LayerSpec) -> Converted:
    """narrow() on height and width, ((top, bottom), (left, right)) cells cut."""
    return cropping(spec, 2)


@converter("Cropping3D")
def cropping3d(spec: LayerSpec) -> Converted:
    """narrow() on the three spatial axes, a (start, end) pair each."""
    return cropping(spec, 3)


def _nearest(size: list[int], rank: int):
    """Repeat the `len(size)` spatial axes that precede `trailing` axes of a rank-`rank` tensor."""
    return lambda trailing: RepeatAxes(size, [rank - trailing - len(size) + i for i in range(len(size))])


@converter("UpSampling1D")
def up_sampling1d(spec: LayerSpec) -> Converted:
    """repeat_interleave(size) on the time axis."""
    size = as_list(spec.config.get("size", 2), 1)
    return spatial_layers({}, _nearest(size, 3), 1)


@converter("UpSampling2D")
def up_sampling2d(spec: LayerSpec) -> Converted:
    """nearest: repeat_interleave per axis; bilinear: F.interpolate(align_corners=False) as tf.image.resize."""
    config = spec.config
    size = as_list(config.get("size", 2), 2)
    interpolation = config.get("interpolation", "nearest")
    if interpolation == "nearest":
        return spatial_layers(config, _nearest(size, 4), 2)
    if interpolation == "bilinear":
        module = BilinearUpsample2D(size)
        if channels_last(config):
            return Converted(ChannelsFirstInside(module), KERAS, channels_first=module)
        return Converted(module, KERAS)
    raise UnsupportedOption(f"interpolation={interpolation!r} (nearest and bilinear are supported)")


@converter("UpSampling3D")
def up_sampling3d(spec: LayerSpec) -> Converted:
    """repeat_interleave(size) on the three spatial axes."""
    size = as_list(spec.config.get("size", 2), 3)
    return spatial_layers(spec.config, _nearest(size, 5), 3)


@converter("RepeatVector")
def repeat_vector(spec: LayerSpec) -> nn.Module:
    """(B, F) -> (B, n, F)."""
    return RepeatVector(int(spec.config["n"]))


@converter("Reshape")
def reshape(spec: LayerSpec) -> nn.Module:
    """x.reshape(B, *target_shape); a -1 is inferred as Keras infers it."""
    return Reshape([int(d) for d in spec.config["target_shape"]])


@converter("Permute")
def permute(spec: LayerSpec) -> nn.Module:
    """x.permute(0, *dims) (Keras dims are 1-based and exclude the batch axis)."""
    return Permute([int(d) for d in spec.config["dims"]])
