"""Random Sequential models built from the in-scope layers convert with parity."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers as L

from tests.helpers import describe_failures, parity_of, randomize_weights


def _conv_or_pool(rng, length: int):
    """A random length-changing layer and the length it leaves (None when it would not fit)."""
    kind = rng.choice(["conv", "maxpool", "avgpool"])
    padding = str(rng.choice(["valid", "same"] + (["causal"] if kind == "conv" else [])))
    if kind == "conv":
        k, d = int(rng.integers(1, 5)), int(rng.integers(1, 3))
        s = 1 if d > 1 else int(rng.integers(1, 3))
        layer = L.Conv1D(
            int(rng.integers(2, 9)),
            k,
            strides=s,
            dilation_rate=d,
            padding=padding,
            activation=str(rng.choice(["relu", "tanh", "linear", "elu"])),
        )
        eff = (k - 1) * d + 1
    else:
        k = int(rng.integers(2, 4))
        s = int(rng.integers(1, k + 1))
        layer = (L.MaxPooling1D if kind == "maxpool" else L.AveragePooling1D)(k, strides=s, padding=padding)
        eff = k
    out = -(-length // s) if padding in ("same", "causal") else (length - eff) // s + 1
    return (layer, out) if out >= 2 else (None, length)


def random_model(seed: int) -> keras.Model:
    rng = np.random.default_rng(seed)
    length, channels = int(rng.integers(12, 40)), int(rng.integers(1, 6))
    stack = [keras.Input((length, channels))]
    for _ in range(int(rng.integers(1, 4))):
        layer, length = _conv_or_pool(rng, length)
        if layer is not None:
            stack.append(layer)
        if rng.random() < 0.3:
            stack.append(L.BatchNormalization(epsilon=float(rng.choice([1e-3, 0.01]))))
        if rng.random() < 0.3:
            stack.append(L.Activation(str(rng.choice(["relu", "selu", "sigmoid", "softmax", "gelu"]))))
        if rng.random() < 0.3:
            stack.append(L.Dropout(0.2))
    head = rng.choice(["lstm", "gru", "simplernn", "flatten", "globalmax", "globalavg"])
    units = int(rng.integers(3, 12))
    if head in ("lstm", "gru", "simplernn"):
        cls = {"lstm": L.LSTM, "gru": L.GRU, "simplernn": L.SimpleRNN}[head]
        kwargs = {"go_backwards": bool(rng.random() < 0.3)}
        if head == "gru":
            kwargs["reset_after"] = bool(rng.random() < 0.7)
        if rng.random() < 0.4:
            stack.append(cls(units, return_sequences=True, **kwargs))
            stack.append(L.Dense(int(rng.integers(2, 6)), activation="relu"))
            stack.append(L.GlobalAveragePooling1D())
        else:
            stack.append(cls(units, **kwargs))
    else:
        stack.append(
            {"flatten": L.Flatten, "globalmax": L.GlobalMaxPooling1D, "globalavg": L.GlobalAveragePooling1D}[head]()
        )
    stack.append(L.Dense(int(rng.integers(2, 6)), activation=str(rng.choice(["softmax", "linear", "sigmoid"]))))
    model = keras.Sequential(stack, name=f"random_{seed}")
    randomize_weights(model, seed=seed)
    return model


@pytest.mark.parametrize("seed", range(16))
def test_random_sequential_model(seed):
    model = random_model(seed)
    parity = parity_of(model)
    layers = " -> ".join(type(layer).__name__ for layer in model.layers)
    assert parity.passed, f"seed {seed} ({layers}): {describe_failures(parity)}"
