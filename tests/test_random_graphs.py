"""Seeded random 2-D CNNs and random Functional graphs built from the supported layers convert with parity."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers as L

from tests.helpers import describe_failures, parity_of, randomize_weights


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _activation(rng, rank: int = 4) -> keras.layers.Layer:
    """A random activation layer; PReLU shares its slopes over the spatial axes of images."""
    return _pick(
        rng,
        [
            lambda: L.ReLU(),
            lambda: L.ReLU(max_value=float(rng.uniform(0.5, 6.0))),
            lambda: L.ReLU(negative_slope=0.1, threshold=float(rng.uniform(0.0, 0.5))),
            lambda: L.LeakyReLU(),
            lambda: L.PReLU(shared_axes=[1, 2] if rank == 4 else None),
            lambda: L.ELU(alpha=float(rng.uniform(0.5, 1.5))),
            lambda: L.Activation(_pick(rng, ["relu", "tanh", "swish", "sigmoid", "elu"])),
        ],
    )()


def _conv(rng, channels: int, size: int) -> tuple[keras.layers.Layer, int, int]:
    """A random 2-D convolution, the channels and spatial size it leaves."""
    kind = _pick(rng, ["conv", "separable", "depthwise"])
    k = int(rng.integers(1, 4))
    padding = _pick(rng, ["valid", "same"])
    stride = int(rng.integers(1, 3)) if size >= 8 else 1
    dilation = 2 if stride == 1 and rng.random() < 0.3 else 1
    common = dict(padding=padding, strides=stride, dilation_rate=dilation, use_bias=bool(rng.random() < 0.8))
    filters = int(rng.integers(2, 9))
    if kind == "conv":
        layer, channels = L.Conv2D(filters, k, **common), filters
    elif kind == "separable":
        layer, channels = L.SeparableConv2D(filters, k, depth_multiplier=int(rng.integers(1, 3)), **common), filters
    else:
        multiplier = int(rng.integers(1, 3))
        layer, channels = L.DepthwiseConv2D(k, depth_multiplier=multiplier, **common), channels * multiplier
    eff = (k - 1) * dilation + 1
    size = -(-size // stride) if padding == "same" else (size - eff) // stride + 1
    return layer, channels, size


def random_cnn(seed: int) -> keras.Model:
    """Conv blocks (some residual), normalization, activations, pooling, padding/cropping/up-sampling, a head."""
    rng = np.random.default_rng(seed)
    size, channels = int(rng.integers(10, 20)), int(rng.integers(1, 4))
    inputs = keras.Input((size, size, channels))
    x = inputs
    for _ in range(int(rng.integers(2, 5))):
        layer, new_channels, new_size = _conv(rng, channels, size)
        if new_size < 3:
            continue
        y = layer(x)
        if rng.random() < 0.5:
            y = L.BatchNormalization(epsilon=float(_pick(rng, [1e-3, 1e-2])))(y)
        y = _activation(rng)(y)
        if new_size == size and new_channels == channels and rng.random() < 0.7:
            y = _pick(rng, [L.Add, L.Average, L.Maximum])()([x, y])  # residual merge
        elif new_size == size and rng.random() < 0.5:
            y = L.Concatenate()([x, y])
            new_channels += channels
        x, size, channels = y, new_size, new_channels
        roll = rng.random()
        if roll < 0.3 and size >= 4:
            pool = _pick(rng, [L.MaxPooling2D, L.AveragePooling2D])
            padding = _pick(rng, ["valid", "same"])
            x = pool(2, padding=padding)(x)
            size = -(-size // 2) if padding == "same" else size // 2
        elif roll < 0.4:
            x = L.ZeroPadding2D(((1, 0), (0, 2)))(x)
            size += 1  # height; width grows by 2, which the head does not need to know
        elif roll < 0.5 and size >= 5:
            x = L.Cropping2D(((1, 1), (0, 1)))(x)
            size -= 2
        elif roll < 0.6 and size <= 8:
            x = L.UpSampling2D(2, interpolation=_pick(rng, ["nearest", "bilinear"]))(x)
            size *= 2
        if rng.random() < 0.2:
            x = L.LayerNormalization()(x)
    head = _pick(rng, ["globalavg", "globalmax", "flatten"])
    x = {"globalavg": L.GlobalAveragePooling2D, "globalmax": L.GlobalMaxPooling2D, "flatten": L.Flatten}[head]()(x)
    outputs = L.Dense(int(rng.integers(2, 6)), activation=_pick(rng, ["softmax", "linear"]))(x)
    model = keras.Model(inputs, outputs, name=f"random_cnn_{seed}")
    randomize_weights(model, seed=seed)
    return model


def _same_shape_groups(tensors) -> list[list]:
    groups: dict[tuple, list] = {}
    for t in tensors:
        groups.setdefault(tuple(t.shape[1:]), []).append(t)
    return [g for g in groups.values() if len(g) >= 2]


def random_functional(seed: int) -> keras.Model:
    """Several inputs (sequences, vectors, images), branches through recurrent, conv and dense layers,
    merges of whatever shares a shape, and several outputs in a random order."""
    rng = np.random.default_rng(seed)
    units = [4, 6]  # few widths, so branches meet often
    inputs, pool = [], []
    for i in range(int(rng.integers(1, 4))):
        kind = _pick(rng, ["seq", "seq", "vec", "img"])
        if kind == "seq":
            t = keras.Input((_pick(rng, [None, 9]), int(rng.integers(2, 5))), name=f"in{i}")
            x = L.Conv1D(_pick(rng, units), 3, padding="same")(t)
        elif kind == "vec":
            t = keras.Input((int(rng.integers(3, 8)),), name=f"in{i}")
            x = L.Dense(_pick(rng, units))(t)
        else:
            t = keras.Input((8, 8, 2), name=f"in{i}")
            x = L.GlobalAveragePooling2D()(L.Conv2D(_pick(rng, units), 3, padding="same")(t))
        inputs.append(t)
        pool.append(x)
    for _ in range(int(rng.integers(3, 8))):
        x = _pick(rng, pool)
        if len(x.shape) == 3:
            op = _pick(rng, ["rnn", "bidi", "conv", "dense", "norm", "pool"])
            u = _pick(rng, units)
            if op == "rnn":
                cls = _pick(rng, [L.LSTM, L.GRU, L.SimpleRNN])
                y = cls(u, return_sequences=bool(rng.random() < 0.5), go_backwards=bool(rng.random() < 0.2))(x)
            elif op == "bidi":
                cls = _pick(rng, [L.LSTM, L.GRU])
                mode = _pick(rng, ["sum", "ave", "mul", "concat"])
                width = u // 2 if mode == "concat" else u  # concat doubles it back to u
                y = L.Bidirectional(cls(width, return_sequences=True), merge_mode=mode)(x)
            elif op == "conv":
                y = L.Conv1D(u, int(rng.integers(1, 4)), padding=_pick(rng, ["same", "causal"]), activation="relu")(x)
            elif op == "dense":
                y = L.TimeDistributed(L.Dense(u, activation="tanh"))(x)
            elif op == "norm":
                y = L.LayerNormalization()(x)
            else:
                y = _pick(rng, [L.GlobalAveragePooling1D, L.GlobalMaxPooling1D])()(x)
        else:
            op = _pick(rng, ["dense", "repeat", "softmax", "act"])
            if op == "dense":
                y = L.Dense(_pick(rng, units), activation=_pick(rng, ["relu", "linear", "sigmoid"]))(x)
            elif op == "repeat":
                y = L.LSTM(_pick(rng, units), return_sequences=True)(L.RepeatVector(int(rng.integers(2, 5)))(x))
            elif op == "softmax":
                y = L.Softmax()(x)
            else:
                y = _activation(rng, rank=2)(x)
        pool.append(y)
        groups = _same_shape_groups(pool)
        if groups and rng.random() < 0.6:
            group = _pick(rng, groups)
            chosen = [group[i] for i in sorted(rng.choice(len(group), size=min(len(group), 3), replace=False))]
            merge = _pick(rng, [L.Add, L.Multiply, L.Average, L.Maximum, L.Minimum, L.Concatenate])
            if len(chosen) == 2 and rng.random() < 0.2:
                merge = L.Subtract
            pool.append(merge()(chosen))
    # Keras requires every input to reach an output: merge each branch into the outputs.
    heads = [L.Dense(3, name=f"head{i}")(x) for i, x in enumerate(_reduced(pool))]
    order = list(rng.permutation(len(heads)))
    model = keras.Model(inputs, [heads[i] for i in order], name=f"random_graph_{seed}")
    randomize_weights(model, seed=seed)
    return model


def _reduced(pool) -> list:
    """The tensors nothing else consumed (the graph's leaves), each made 2-D for a Dense head."""
    consumed = set()
    for t in pool:
        node = t._keras_history.operation._inbound_nodes[t._keras_history.node_index]
        consumed.update(id(x) for x in node.input_tensors)
    leaves = [t for t in pool if id(t) not in consumed]
    return [L.GlobalAveragePooling1D()(t) if len(t.shape) == 3 else t for t in leaves]


@pytest.mark.parametrize("seed", range(16))
def test_random_cnn(seed):
    model = random_cnn(seed)
    parity = parity_of(model)
    layers = " -> ".join(type(layer).__name__ for layer in model.layers)
    assert parity.passed, f"seed {seed} ({layers}): {describe_failures(parity)}"


@pytest.mark.parametrize("seed", range(16))
def test_random_functional_graph(seed):
    model = random_functional(seed)
    parity = parity_of(model)
    layers = ", ".join(type(layer).__name__ for layer in model.layers)
    assert parity.passed, f"seed {seed} ({len(model.outputs)} outputs; {layers}): {describe_failures(parity)}"
