"""The declarative table of layer cases: one row per layer variant, driving one parity test.

`build` makes the Keras layer; the test wraps it as Input(input_shape) -> layer with random
weights. `covers` names the Keras classes (registry keys) the case exercises. A `None` in
`input_shape` is a dynamic sequence length, checked at two lengths.
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

CASES: list[LayerCase] = [*CONV1D, *POOL1D, *RECURRENT, *CORE, *ACTIVATION]
