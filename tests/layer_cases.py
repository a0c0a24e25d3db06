"""The declarative table of layer cases: one row per layer variant, driving one parity test.

`build` makes the Keras layer; the test wraps it as Input(input_shape) -> layer with random
weights (a list of shapes: one Input each, for merge layers). `covers` names the Keras classes
(registry keys) the case exercises. A `None` in `input_shape` is a dynamic sequence length,
checked at two lengths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
from keras import layers as L

from packager.modules.activations import ACTIVATIONS


@dataclass(frozen=True)
class LayerCase:
    id: str
    build: Callable[[], keras.layers.Layer]
    input_shape: tuple
    covers: tuple[str, ...]
    atol: float = 1e-5
    rtol: float = 1e-4
    reason: str = ""  # why the tolerance differs from the default, when it does
    input_dtype: str = "float32"


def case(id, build, input_shape, *covers, **kw) -> LayerCase:
    return LayerCase(id, build, input_shape, covers or (id.split("_")[0],), **kw)


SEQ = (20, 6)
DYN = (None, 5)

CONV1D = [
    case("conv1d_valid", lambda: L.Conv1D(8, 3), SEQ, "Conv1D"),
    case("conv1d_same_k3", lambda: L.Conv1D(8, 3, padding="same"), SEQ, "Conv1D"),
    case("conv1d_same_k4_uneven", lambda: L.Conv1D(8, 4, padding="same"), SEQ, "Conv1D"),
    case("conv1d_same_s2", lambda: L.Conv1D(8, 3, strides=2, padding="same"), SEQ, "Conv1D"),
    case("conv1d_same_s3_k5_dynamic", lambda: L.Conv1D(4, 5, strides=3, padding="same"), DYN, "Conv1D"),
    case("conv1d_valid_s2", lambda: L.Conv1D(8, 3, strides=2), SEQ, "Conv1D"),
    case("conv1d_causal_d2", lambda: L.Conv1D(8, 3, padding="causal", dilation_rate=2), SEQ, "Conv1D"),
    case("conv1d_same_d3", lambda: L.Conv1D(8, 2, padding="same", dilation_rate=3), SEQ, "Conv1D"),
    case("conv1d_groups2", lambda: L.Conv1D(8, 3, groups=2), SEQ, "Conv1D"),
    case("conv1d_no_bias_tanh", lambda: L.Conv1D(8, 3, use_bias=False, activation="tanh"), SEQ, "Conv1D"),
    case("conv1d_softmax", lambda: L.Conv1D(8, 3, activation="softmax"), SEQ, "Conv1D"),
]

POOL1D = [
    case("maxpool1d_valid", lambda: L.MaxPooling1D(2), SEQ, "MaxPooling1D"),
    case("maxpool1d_valid_p3_s2", lambda: L.MaxPooling1D(3, strides=2), SEQ, "MaxPooling1D"),
    case("maxpool1d_same_p3_s2", lambda: L.MaxPooling1D(3, strides=2, padding="same"), (21, 4), "MaxPooling1D"),
    case("maxpool1d_same_p2_s1", lambda: L.MaxPooling1D(2, strides=1, padding="same"), SEQ, "MaxPooling1D"),
    case("maxpool1d_same_p3_s1", lambda: L.MaxPooling1D(3, strides=1, padding="same"), SEQ, "MaxPooling1D"),
    case("maxpool1d_same_dynamic", lambda: L.MaxPooling1D(3, padding="same"), DYN, "MaxPooling1D"),
    case("avgpool1d_valid", lambda: L.AveragePooling1D(2), SEQ, "AveragePooling1D"),
    case("avgpool1d_same_p3_s2", lambda: L.AveragePooling1D(3, strides=2, padding="same"), (21, 4), "AveragePooling1D"),
    case("avgpool1d_same_p4_s1", lambda: L.AveragePooling1D(4, strides=1, padding="same"), SEQ, "AveragePooling1D"),
    case("avgpool1d_same_p3_s1", lambda: L.AveragePooling1D(3, strides=1, padding="same"), SEQ, "AveragePooling1D"),
    case("avgpool1d_same_p5_s1", lambda: L.AveragePooling1D(5, strides=1, padding="same"), SEQ, "AveragePooling1D"),
    case("globalmaxpool1d", lambda: L.GlobalMaxPooling1D(), SEQ, "GlobalMaxPooling1D"),
    case("globalmaxpool1d_keepdims", lambda: L.GlobalMaxPooling1D(keepdims=True), SEQ, "GlobalMaxPooling1D"),
    case("globalavgpool1d", lambda: L.GlobalAveragePooling1D(), DYN, "GlobalAveragePooling1D"),
    case("globalavgpool1d_keepdims", lambda: L.GlobalAveragePooling1D(keepdims=True), SEQ, "GlobalAveragePooling1D"),
]


def _rnn_cases(name: str, cls) -> list[LayerCase]:
    return [
        case(f"{name}_default", lambda: cls(7), SEQ, cls.__name__),
        case(f"{name}_dynamic_length", lambda: cls(7), DYN, cls.__name__),
        case(f"{name}_return_sequences", lambda: cls(7, return_sequences=True), SEQ, cls.__name__),
        case(f"{name}_go_backwards", lambda: cls(7, go_backwards=True), SEQ, cls.__name__),
        case(
            f"{name}_go_backwards_sequences",
            lambda: cls(7, go_backwards=True, return_sequences=True),
            SEQ,
            cls.__name__,
        ),
        case(f"{name}_no_bias", lambda: cls(7, use_bias=False), SEQ, cls.__name__),
        case(f"{name}_relu", lambda: cls(7, activation="relu", return_sequences=True), SEQ, cls.__name__),
        case(f"{name}_softsign", lambda: cls(7, activation="softsign"), DYN, cls.__name__),
    ]


RECURRENT = [
    *_rnn_cases("lstm", L.LSTM),
    case(
        "lstm_hard_sigmoid", lambda: L.LSTM(7, recurrent_activation="hard_sigmoid", return_sequences=True), SEQ, "LSTM"
    ),
    case("lstm_rec_tanh_go_backwards", lambda: L.LSTM(7, recurrent_activation="tanh", go_backwards=True), DYN, "LSTM"),
    case("lstm_loop_no_bias", lambda: L.LSTM(7, activation="elu", use_bias=False), SEQ, "LSTM"),
    *_rnn_cases("gru", L.GRU),
    case("gru_reset_after_false", lambda: L.GRU(7, reset_after=False, return_sequences=True), SEQ, "GRU"),
    case("gru_reset_after_false_no_bias", lambda: L.GRU(7, reset_after=False, use_bias=False), SEQ, "GRU"),
    case("gru_reset_after_false_backwards", lambda: L.GRU(7, reset_after=False, go_backwards=True), DYN, "GRU"),
    case("gru_hard_sigmoid", lambda: L.GRU(7, recurrent_activation="hard_sigmoid"), SEQ, "GRU"),
    case("gru_loop_no_bias", lambda: L.GRU(7, activation="relu", use_bias=False, return_sequences=True), SEQ, "GRU"),
    *_rnn_cases("simplernn", L.SimpleRNN),
    case("simplernn_sigmoid", lambda: L.SimpleRNN(7, activation="sigmoid", return_sequences=True), SEQ, "SimpleRNN"),
    case("simplernn_loop_no_bias", lambda: L.SimpleRNN(7, activation="gelu", use_bias=False), SEQ, "SimpleRNN"),
]

CORE = [
    case("dense_2d", lambda: L.Dense(9), (12,), "Dense"),
    case("dense_3d", lambda: L.Dense(9, activation="relu"), SEQ, "Dense"),
    case("dense_no_bias_softmax", lambda: L.Dense(9, use_bias=False, activation="softmax"), (12,), "Dense"),
    case("dense_4d_input", lambda: L.Dense(3, activation="sigmoid"), (4, 5, 6), "Dense"),
    case("flatten_3d", lambda: L.Flatten(), SEQ, "Flatten"),
    case("flatten_4d", lambda: L.Flatten(), (3, 4, 5), "Flatten"),
    case("dropout", lambda: L.Dropout(0.5), SEQ, "Dropout"),
    case("spatialdropout1d", lambda: L.SpatialDropout1D(0.3), SEQ, "SpatialDropout1D"),
    case("spatialdropout2d", lambda: L.SpatialDropout2D(0.3), (4, 5, 6), "SpatialDropout2D"),
    case("spatialdropout3d", lambda: L.SpatialDropout3D(0.3), (3, 4, 5, 6), "SpatialDropout3D"),
    case("gaussiannoise", lambda: L.GaussianNoise(1.0), SEQ, "GaussianNoise"),
    case("gaussiandropout", lambda: L.GaussianDropout(0.4), SEQ, "GaussianDropout"),
    case("alphadropout", lambda: L.AlphaDropout(0.4), SEQ, "AlphaDropout"),
    case("activityregularization", lambda: L.ActivityRegularization(l1=0.1), SEQ, "ActivityRegularization"),
    case("batchnorm_2d", lambda: L.BatchNormalization(), (12,), "BatchNormalization"),
    case("batchnorm_3d_last_axis", lambda: L.BatchNormalization(epsilon=0.1), SEQ, "BatchNormalization"),
    case("batchnorm_axis1", lambda: L.BatchNormalization(axis=1), SEQ, "BatchNormalization"),
    case("batchnorm_no_center", lambda: L.BatchNormalization(center=False), SEQ, "BatchNormalization"),
    case("batchnorm_no_scale", lambda: L.BatchNormalization(scale=False), SEQ, "BatchNormalization"),
    case("batchnorm_neither", lambda: L.BatchNormalization(center=False, scale=False), (12,), "BatchNormalization"),
]

# Every activation name Keras accepts; "threshold" needs arguments, so Keras cannot use it by name.
ACTIVATION_NAMES = sorted(name for name in ACTIVATIONS if name != "hard_sigmoid_keras2")
ACTIVATION = [
    case(f"activation_{name}", (lambda name=name: L.Activation(name)), SEQ, "Activation") for name in ACTIVATION_NAMES
]

IMG = (9, 10, 3)
IMG_CF = (3, 8, 9)  # channels_first
VOL = (5, 6, 7, 2)

CONV = [
    case("conv2d_valid", lambda: L.Conv2D(6, 3), IMG, "Conv2D"),
    case("conv2d_same_k3x4_s2", lambda: L.Conv2D(6, (3, 4), strides=2, padding="same"), IMG, "Conv2D"),
    case("conv2d_same_d2x1", lambda: L.Conv2D(4, 3, padding="same", dilation_rate=(2, 1)), IMG, "Conv2D"),
    case("conv2d_valid_s2x3", lambda: L.Conv2D(4, 2, strides=(2, 3)), IMG, "Conv2D"),
    case("conv2d_groups3", lambda: L.Conv2D(6, 3, groups=3, padding="same"), IMG, "Conv2D"),
    case("conv2d_no_bias_relu", lambda: L.Conv2D(5, 3, use_bias=False, activation="relu"), IMG, "Conv2D"),
    case("conv2d_softmax", lambda: L.Conv2D(5, 1, activation="softmax"), IMG, "Conv2D"),
    case(
        "conv2d_channels_first",
        lambda: L.Conv2D(4, 3, padding="same", data_format="channels_first"),
        IMG_CF,
        "Conv2D",
    ),
    case("conv3d_valid", lambda: L.Conv3D(4, 3), VOL, "Conv3D"),
    case("conv3d_same_s2", lambda: L.Conv3D(4, (2, 3, 3), strides=2, padding="same", activation="tanh"), VOL, "Conv3D"),
    case("separableconv1d_same_s2", lambda: L.SeparableConv1D(7, 3, strides=2, padding="same"), SEQ, "SeparableConv1D"),
    case(
        "separableconv1d_mult2_d2",
        lambda: L.SeparableConv1D(5, 3, depth_multiplier=2, dilation_rate=2),
        SEQ,
        "SeparableConv1D",
    ),
    case(
        "separableconv1d_dynamic",
        lambda: L.SeparableConv1D(4, 4, padding="same", use_bias=False),
        DYN,
        "SeparableConv1D",
    ),
    case("separableconv2d_valid", lambda: L.SeparableConv2D(6, 3), IMG, "SeparableConv2D"),
    case(
        "separableconv2d_same_mult2_s2",
        lambda: L.SeparableConv2D(6, 3, strides=2, padding="same", depth_multiplier=2),
        IMG,
        "SeparableConv2D",
    ),
    case(
        "separableconv2d_same_s2_d2",
        lambda: L.SeparableConv2D(4, 3, strides=2, dilation_rate=2, padding="same"),
        IMG,
        "SeparableConv2D",
    ),
    case(
        "separableconv2d_no_bias_relu",
        lambda: L.SeparableConv2D(4, (3, 2), use_bias=False, activation="relu"),
        IMG,
        "SeparableConv2D",
    ),
    case(
        "depthwiseconv1d_same_mult3",
        lambda: L.DepthwiseConv1D(3, depth_multiplier=3, padding="same"),
        SEQ,
        "DepthwiseConv1D",
    ),
    case(
        "depthwiseconv1d_valid_s2", lambda: L.DepthwiseConv1D(4, strides=2, activation="tanh"), SEQ, "DepthwiseConv1D"
    ),
    case("depthwiseconv2d_valid", lambda: L.DepthwiseConv2D(3), IMG, "DepthwiseConv2D"),
    case(
        "depthwiseconv2d_same_s2_mult2",
        lambda: L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
        IMG,
        "DepthwiseConv2D",
    ),
    case(
        "depthwiseconv2d_same_s2_d2",
        lambda: L.DepthwiseConv2D(3, strides=2, dilation_rate=2, padding="same"),
        IMG,
        "DepthwiseConv2D",
    ),
    case("depthwiseconv2d_no_bias", lambda: L.DepthwiseConv2D((2, 3), use_bias=False), IMG, "DepthwiseConv2D"),
    case("conv1dtranspose_valid", lambda: L.Conv1DTranspose(5, 3), SEQ, "Conv1DTranspose"),
    case("conv1dtranspose_valid_s3_k2", lambda: L.Conv1DTranspose(5, 2, strides=3), SEQ, "Conv1DTranspose"),
    case("conv1dtranspose_same_s2", lambda: L.Conv1DTranspose(5, 3, strides=2, padding="same"), SEQ, "Conv1DTranspose"),
    case(
        "conv1dtranspose_same_s3_k2", lambda: L.Conv1DTranspose(5, 2, strides=3, padding="same"), SEQ, "Conv1DTranspose"
    ),
    case("conv1dtranspose_same_k4", lambda: L.Conv1DTranspose(5, 4, padding="same"), SEQ, "Conv1DTranspose"),
    case(
        "conv1dtranspose_same_out_pad",
        lambda: L.Conv1DTranspose(5, 4, strides=3, padding="same", output_padding=2),
        SEQ,
        "Conv1DTranspose",
    ),
    case(
        "conv1dtranspose_valid_out_pad",
        lambda: L.Conv1DTranspose(5, 3, strides=2, output_padding=1),
        SEQ,
        "Conv1DTranspose",
    ),
    case(
        "conv1dtranspose_dilated",
        lambda: L.Conv1DTranspose(5, 3, dilation_rate=2, padding="same"),
        SEQ,
        "Conv1DTranspose",
    ),
    case("conv1dtranspose_dynamic", lambda: L.Conv1DTranspose(4, 3, strides=2, padding="same"), DYN, "Conv1DTranspose"),
    case("conv2dtranspose_valid", lambda: L.Conv2DTranspose(4, 3, activation="relu"), IMG, "Conv2DTranspose"),
    case(
        "conv2dtranspose_same_s2",
        lambda: L.Conv2DTranspose(4, (3, 4), strides=2, padding="same"),
        IMG,
        "Conv2DTranspose",
    ),
    case(
        "conv2dtranspose_same_s2_out_pad",
        lambda: L.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=(1, 0)),
        IMG,
        "Conv2DTranspose",
    ),
    case(
        "conv2dtranspose_valid_s2x3_no_bias",
        lambda: L.Conv2DTranspose(4, 2, strides=(2, 3), use_bias=False),
        IMG,
        "Conv2DTranspose",
    ),
    case("conv3dtranspose_same_s2", lambda: L.Conv3DTranspose(3, 3, strides=2, padding="same"), VOL, "Conv3DTranspose"),
]

POOL = [
    case("maxpool2d_valid", lambda: L.MaxPooling2D(2), IMG, "MaxPooling2D"),
    case("maxpool2d_same_p3_s2", lambda: L.MaxPooling2D(3, strides=2, padding="same"), IMG, "MaxPooling2D"),
    case("maxpool2d_valid_p2x3_s1", lambda: L.MaxPooling2D((2, 3), strides=1), IMG, "MaxPooling2D"),
    case("maxpool2d_same_p2", lambda: L.MaxPooling2D(2, padding="same"), IMG, "MaxPooling2D"),
    case("avgpool2d_valid", lambda: L.AveragePooling2D(2), IMG, "AveragePooling2D"),
    case("avgpool2d_same_p3_s2", lambda: L.AveragePooling2D(3, strides=2, padding="same"), IMG, "AveragePooling2D"),
    case(
        "avgpool2d_same_p2x3_s1", lambda: L.AveragePooling2D((2, 3), strides=1, padding="same"), IMG, "AveragePooling2D"
    ),
    case("maxpool3d_valid", lambda: L.MaxPooling3D(2), VOL, "MaxPooling3D"),
    case("maxpool3d_same_p3_s2", lambda: L.MaxPooling3D(3, strides=2, padding="same"), VOL, "MaxPooling3D"),
    case("avgpool3d_valid", lambda: L.AveragePooling3D((1, 2, 2)), VOL, "AveragePooling3D"),
    case("avgpool3d_same", lambda: L.AveragePooling3D(2, padding="same"), VOL, "AveragePooling3D"),
    case("globalmaxpool2d", lambda: L.GlobalMaxPooling2D(), IMG, "GlobalMaxPooling2D"),
    case("globalmaxpool2d_keepdims", lambda: L.GlobalMaxPooling2D(keepdims=True), IMG, "GlobalMaxPooling2D"),
    case("globalavgpool2d", lambda: L.GlobalAveragePooling2D(), IMG, "GlobalAveragePooling2D"),
    case(
        "globalavgpool2d_channels_first",
        lambda: L.GlobalAveragePooling2D(data_format="channels_first"),
        IMG_CF,
        "GlobalAveragePooling2D",
    ),
    case("globalmaxpool3d", lambda: L.GlobalMaxPooling3D(), VOL, "GlobalMaxPooling3D"),
    case("globalavgpool3d_keepdims", lambda: L.GlobalAveragePooling3D(keepdims=True), VOL, "GlobalAveragePooling3D"),
]

RESHAPING = [
    case("zeropadding1d", lambda: L.ZeroPadding1D((2, 3)), SEQ, "ZeroPadding1D"),
    case("zeropadding1d_dynamic", lambda: L.ZeroPadding1D(1), DYN, "ZeroPadding1D"),
    case("zeropadding2d", lambda: L.ZeroPadding2D(((1, 2), (3, 0))), IMG, "ZeroPadding2D"),
    case(
        "zeropadding2d_channels_first",
        lambda: L.ZeroPadding2D((1, 2), data_format="channels_first"),
        IMG_CF,
        "ZeroPadding2D",
    ),
    case("zeropadding3d", lambda: L.ZeroPadding3D(((1, 0), (0, 2), (1, 1))), VOL, "ZeroPadding3D"),
    case("cropping1d", lambda: L.Cropping1D((1, 3)), SEQ, "Cropping1D"),
    case("cropping1d_dynamic", lambda: L.Cropping1D((2, 0)), DYN, "Cropping1D"),
    case("cropping2d", lambda: L.Cropping2D(((1, 2), (0, 3))), IMG, "Cropping2D"),
    case(
        "cropping2d_channels_first",
        lambda: L.Cropping2D(((1, 0), (2, 1)), data_format="channels_first"),
        IMG_CF,
        "Cropping2D",
    ),
    case("cropping3d", lambda: L.Cropping3D(((1, 1), (0, 2), (3, 0))), VOL, "Cropping3D"),
    case("upsampling1d", lambda: L.UpSampling1D(3), SEQ, "UpSampling1D"),
    case("upsampling1d_dynamic", lambda: L.UpSampling1D(2), DYN, "UpSampling1D"),
    case("upsampling2d_nearest", lambda: L.UpSampling2D((2, 3)), IMG, "UpSampling2D"),
    case("upsampling2d_bilinear", lambda: L.UpSampling2D((2, 3), interpolation="bilinear"), IMG, "UpSampling2D"),
    case(
        "upsampling2d_bilinear_channels_first",
        lambda: L.UpSampling2D(3, data_format="channels_first", interpolation="bilinear"),
        IMG_CF,
        "UpSampling2D",
    ),
    case("upsampling3d", lambda: L.UpSampling3D((2, 1, 3)), VOL, "UpSampling3D"),
    case("repeatvector", lambda: L.RepeatVector(4), (7,), "RepeatVector"),
    case("reshape_infer", lambda: L.Reshape((-1, 4)), SEQ, "Reshape"),
    case("reshape_3d", lambda: L.Reshape((3, 5, 8)), SEQ, "Reshape"),
    case("reshape_flatten", lambda: L.Reshape((-1,)), IMG, "Reshape"),
    case("permute_2d", lambda: L.Permute((2, 1)), SEQ, "Permute"),
    case("permute_3d", lambda: L.Permute((3, 1, 2)), IMG, "Permute"),
    case("flatten_5d", lambda: L.Flatten(), VOL, "Flatten"),
    case("flatten_channels_first", lambda: L.Flatten(data_format="channels_first"), IMG_CF, "Flatten"),
]

ADVANCED_ACTIVATIONS = [
    case("relu_default", lambda: L.ReLU(), SEQ, "ReLU"),
    case("relu_max_value", lambda: L.ReLU(max_value=0.4), SEQ, "ReLU"),
    case("relu_max_value_6", lambda: L.ReLU(max_value=6.0), SEQ, "ReLU"),
    case("relu_threshold", lambda: L.ReLU(threshold=0.3), SEQ, "ReLU"),
    case("relu_negative_slope", lambda: L.ReLU(negative_slope=0.2), SEQ, "ReLU"),
    case("relu_all_options", lambda: L.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.25), IMG, "ReLU"),
    case("leakyrelu_default", lambda: L.LeakyReLU(), SEQ, "LeakyReLU"),
    case("leakyrelu_slope", lambda: L.LeakyReLU(negative_slope=0.05), IMG, "LeakyReLU"),
    case("prelu", lambda: L.PReLU(), SEQ, "PReLU"),
    case("prelu_shared_axes", lambda: L.PReLU(shared_axes=[1, 2]), IMG, "PReLU"),
    case("prelu_2d", lambda: L.PReLU(), (12,), "PReLU"),
    case("elu", lambda: L.ELU(), SEQ, "ELU"),
    case("elu_alpha", lambda: L.ELU(alpha=0.5), SEQ, "ELU"),
    case("softmax_default", lambda: L.Softmax(), SEQ, "Softmax"),
    case("softmax_axis1", lambda: L.Softmax(axis=1), SEQ, "Softmax"),
    case("softmax_axes", lambda: L.Softmax(axis=(1, 2)), IMG, "Softmax"),
    case("layernorm_default", lambda: L.LayerNormalization(), SEQ, "LayerNormalization"),
    case("layernorm_axes_1_2", lambda: L.LayerNormalization(axis=(1, 2), epsilon=0.01), IMG, "LayerNormalization"),
    case("layernorm_axis_1", lambda: L.LayerNormalization(axis=1), SEQ, "LayerNormalization"),
    case("layernorm_no_center", lambda: L.LayerNormalization(center=False), SEQ, "LayerNormalization"),
    case("layernorm_no_scale", lambda: L.LayerNormalization(scale=False), (12,), "LayerNormalization"),
    case("layernorm_rms_scaling", lambda: L.LayerNormalization(rms_scaling=True), SEQ, "LayerNormalization"),
    case("layernorm_dynamic", lambda: L.LayerNormalization(epsilon=1e-5), DYN, "LayerNormalization"),
]

MERGE = [
    case("add_two", lambda: L.Add(), [SEQ, SEQ], "Add"),
    case("add_three", lambda: L.Add(), [IMG, IMG, IMG], "Add"),
    case("add_broadcast_ranks", lambda: L.Add(), [(5, 6), (6,)], "Add"),
    case("subtract", lambda: L.Subtract(), [SEQ, SEQ], "Subtract"),
    case("multiply_three", lambda: L.Multiply(), [SEQ, SEQ, SEQ], "Multiply"),
    case("average", lambda: L.Average(), [IMG, IMG], "Average"),
    case("maximum", lambda: L.Maximum(), [SEQ, SEQ, SEQ], "Maximum"),
    case("minimum", lambda: L.Minimum(), [(12,), (12,)], "Minimum"),
    case("concatenate_last", lambda: L.Concatenate(), [SEQ, (20, 3)], "Concatenate"),
    case("concatenate_axis1", lambda: L.Concatenate(axis=1), [SEQ, (4, 6)], "Concatenate"),
    case("concatenate_2d", lambda: L.Concatenate(), [(12,), (5,)], "Concatenate"),
    case("concatenate_dynamic", lambda: L.Concatenate(), [DYN, DYN], "Concatenate"),
]


def _bidirectional_cases(name: str, cls) -> list[LayerCase]:
    """Every merge mode with sequences returned, and the last step both merged and as two outputs."""
    cases = [
        case(
            f"bidirectional_{name}_{mode or 'none'}_sequences",
            (lambda mode=mode: L.Bidirectional(cls(5, return_sequences=True), merge_mode=mode)),
            SEQ,
            "Bidirectional",
        )
        for mode in ("concat", "sum", "mul", "ave", None)
    ]
    return cases + [
        case(f"bidirectional_{name}_concat_last", lambda: L.Bidirectional(cls(5)), SEQ, "Bidirectional"),
        case(f"bidirectional_{name}_none_last", lambda: L.Bidirectional(cls(5), merge_mode=None), SEQ, "Bidirectional"),
        case(
            f"bidirectional_{name}_ave_dynamic", lambda: L.Bidirectional(cls(5), merge_mode="ave"), DYN, "Bidirectional"
        ),
    ]


WRAPPERS = [
    *_bidirectional_cases("lstm", L.LSTM),
    *_bidirectional_cases("gru", L.GRU),
    *_bidirectional_cases("simplernn", L.SimpleRNN),
    case(
        "bidirectional_gru_reset_after_false",
        lambda: L.Bidirectional(L.GRU(4, reset_after=False, return_sequences=True)),
        SEQ,
        "Bidirectional",
    ),
    case(
        "bidirectional_lstm_hard_sigmoid",
        lambda: L.Bidirectional(L.LSTM(4, recurrent_activation="hard_sigmoid"), merge_mode="sum"),
        SEQ,
        "Bidirectional",
    ),
    case(
        "bidirectional_custom_backward_layer",
        lambda: L.Bidirectional(
            L.LSTM(4, return_sequences=True),
            backward_layer=L.LSTM(4, return_sequences=True, go_backwards=True, activation="relu", use_bias=False),
        ),
        SEQ,
        "Bidirectional",
    ),
    case("timedistributed_dense", lambda: L.TimeDistributed(L.Dense(4, activation="relu")), SEQ, "TimeDistributed"),
    case(
        "timedistributed_conv2d",
        lambda: L.TimeDistributed(L.Conv2D(4, 3, padding="same")),
        (3, 8, 9, 2),
        "TimeDistributed",
    ),
    case("timedistributed_maxpool2d", lambda: L.TimeDistributed(L.MaxPooling2D(2)), (3, 8, 9, 2), "TimeDistributed"),
    case("timedistributed_flatten", lambda: L.TimeDistributed(L.Flatten()), (3, 4, 5, 2), "TimeDistributed"),
    case("timedistributed_dropout", lambda: L.TimeDistributed(L.Dropout(0.5)), SEQ, "TimeDistributed"),
    case(
        "timedistributed_batchnorm", lambda: L.TimeDistributed(L.BatchNormalization()), (3, 4, 5, 2), "TimeDistributed"
    ),
    case("timedistributed_lstm", lambda: L.TimeDistributed(L.LSTM(3)), (4, 6, 2), "TimeDistributed"),
    case("timedistributed_dynamic_conv1d", lambda: L.TimeDistributed(L.Conv1D(3, 2)), (None, 6, 2), "TimeDistributed"),
]

CONVLSTM_SEQ = (4, 7, 8, 2)
CONVLSTM = [
    case("convlstm2d_default", lambda: L.ConvLSTM2D(3, 3), CONVLSTM_SEQ, "ConvLSTM2D"),
    case(
        "convlstm2d_same_sequences",
        lambda: L.ConvLSTM2D(3, 3, padding="same", return_sequences=True),
        CONVLSTM_SEQ,
        "ConvLSTM2D",
    ),
    case(
        "convlstm2d_go_backwards",
        lambda: L.ConvLSTM2D(3, (2, 3), go_backwards=True, return_sequences=True),
        CONVLSTM_SEQ,
        "ConvLSTM2D",
    ),
    case("convlstm2d_strides2_same", lambda: L.ConvLSTM2D(3, 3, strides=2, padding="same"), CONVLSTM_SEQ, "ConvLSTM2D"),
    case(
        "convlstm2d_dilation2", lambda: L.ConvLSTM2D(3, 2, dilation_rate=2, padding="same"), CONVLSTM_SEQ, "ConvLSTM2D"
    ),
    case(
        "convlstm2d_activations_no_bias",
        lambda: L.ConvLSTM2D(3, 3, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False),
        CONVLSTM_SEQ,
        "ConvLSTM2D",
    ),
    case("convlstm2d_dynamic_time", lambda: L.ConvLSTM2D(2, 3, padding="same"), (None, 5, 6, 2), "ConvLSTM2D"),
    case("convlstm1d", lambda: L.ConvLSTM1D(3, 3, padding="same", return_sequences=True), (4, 9, 2), "ConvLSTM1D"),
    case("convlstm3d", lambda: L.ConvLSTM3D(2, 2), (3, 4, 5, 5, 2), "ConvLSTM3D"),
    case(
        "bidirectional_convlstm2d",
        lambda: L.Bidirectional(L.ConvLSTM2D(2, 3, padding="same", return_sequences=True)),
        CONVLSTM_SEQ,
        "Bidirectional",
    ),
]

# Embedding inputs hold ids below the vocabulary size (validate.make_inputs), whole numbers also
# for float inputs, which Keras casts. Masks only matter to the layers that consume them: see
# tests/test_functional_rnn.py for Embedding(mask_zero) / Masking in front of recurrent layers.
EMBEDDING = [
    case("embedding_int_ids", lambda: L.Embedding(50, 8), (12,), "Embedding", input_dtype="int32"),
    case("embedding_int64_dynamic", lambda: L.Embedding(30, 4), (None,), "Embedding", input_dtype="int64"),
    case("embedding_float_ids", lambda: L.Embedding(50, 8), (12,), "Embedding"),
    case("embedding_2d_ids", lambda: L.Embedding(20, 3), (3, 4), "Embedding", input_dtype="int32"),
    case("embedding_mask_zero", lambda: L.Embedding(50, 8, mask_zero=True), (12,), "Embedding"),
    case("embedding_lora", lambda: L.Embedding(40, 6, lora_rank=2, lora_alpha=3), (9,), "Embedding"),
    case("masking_zero", lambda: L.Masking(), SEQ, "Masking"),
    case("masking_value", lambda: L.Masking(mask_value=1.5), DYN, "Masking"),
]

# data_format="channels_first" where TensorFlow runs it on CPU. (Conv3D is left out: TF computes
# channels-first 3-D convolutions on CPU through XLA, about 2 % off the exact result.)
CHANNELS_FIRST = [
    case(
        "conv1d_channels_first", lambda: L.Conv1D(4, 3, padding="same", data_format="channels_first"), (3, 10), "Conv1D"
    ),
    case(
        "separableconv2d_channels_first",
        lambda: L.SeparableConv2D(4, 3, data_format="channels_first"),
        IMG_CF,
        "SeparableConv2D",
    ),
    case(
        "depthwiseconv2d_channels_first",
        lambda: L.DepthwiseConv2D(3, depth_multiplier=2, data_format="channels_first"),
        IMG_CF,
        "DepthwiseConv2D",
    ),
    case(
        "conv2dtranspose_channels_first",
        lambda: L.Conv2DTranspose(4, 3, strides=2, padding="same", data_format="channels_first"),
        IMG_CF,
        "Conv2DTranspose",
    ),
    case("maxpool1d_channels_first", lambda: L.MaxPooling1D(2, data_format="channels_first"), (3, 10), "MaxPooling1D"),
    case(
        "maxpool2d_channels_first",
        lambda: L.MaxPooling2D(2, padding="same", data_format="channels_first"),
        IMG_CF,
        "MaxPooling2D",
    ),
    case(
        "avgpool2d_channels_first",
        lambda: L.AveragePooling2D(3, strides=2, padding="same", data_format="channels_first"),
        IMG_CF,
        "AveragePooling2D",
    ),
    case(
        "maxpool3d_channels_first",
        lambda: L.MaxPooling3D(2, data_format="channels_first"),
        (2, 4, 5, 6),
        "MaxPooling3D",
    ),
    case(
        "globalmaxpool3d_channels_first",
        lambda: L.GlobalMaxPooling3D(data_format="channels_first", keepdims=True),
        (2, 4, 5, 6),
        "GlobalMaxPooling3D",
    ),
    case(
        "zeropadding1d_channels_first",
        lambda: L.ZeroPadding1D(2, data_format="channels_first"),
        (3, 10),
        "ZeroPadding1D",
    ),
    case(
        "cropping3d_channels_first", lambda: L.Cropping3D(1, data_format="channels_first"), (2, 4, 5, 6), "Cropping3D"
    ),
    case(
        "upsampling3d_channels_first",
        lambda: L.UpSampling3D(2, data_format="channels_first"),
        (2, 3, 4, 5),
        "UpSampling3D",
    ),
    case(
        "convlstm2d_channels_first",
        lambda: L.ConvLSTM2D(3, 3, padding="same", data_format="channels_first"),
        (3, 2, 6, 7),
        "ConvLSTM2D",
    ),
]


CASES: list[LayerCase] = [
    *CONV1D,
    *POOL1D,
    *RECURRENT,
    *CORE,
    *ACTIVATION,
    *CONV,
    *POOL,
    *RESHAPING,
    *ADVANCED_ACTIVATIONS,
    *MERGE,
    *WRAPPERS,
    *CONVLSTM,
    *CHANNELS_FIRST,
    *EMBEDDING,
]
