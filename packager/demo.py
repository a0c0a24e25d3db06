"""The built-in example: the seed CNN-LSTM, trained a few epochs on synthetic data (no downloads).

Conv1D(32, 3, relu) -> MaxPooling1D(2) -> LSTM(64) -> Dense(5, softmax) on input (100, 3): a
time-series classifier whose class is the dominant frequency of a noisy 3-channel signal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SEED_INPUT_SHAPE = (100, 3)
SEED_CLASSES = 5


def build_seed_model():
    import keras

    return keras.Sequential(
        [
            keras.Input(SEED_INPUT_SHAPE, name="signal"),
            keras.layers.Conv1D(32, 3, activation="relu", name="conv1d"),
            keras.layers.MaxPooling1D(2, name="pool"),
            keras.layers.LSTM(64, name="lstm"),
            keras.layers.Dense(SEED_CLASSES, activation="softmax", name="classes"),
        ],
        name="seed_cnn_lstm",
    )


def synthetic_signals(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy sines whose class is their frequency band; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, SEED_CLASSES, size=n)
    t = np.linspace(0, 1, SEED_INPUT_SHAPE[0], dtype=np.float32)
    freq = (labels + 1) * 2.0 + rng.uniform(-0.3, 0.3, size=n)
    phase = rng.uniform(0, 2 * np.pi, size=(n, SEED_INPUT_SHAPE[1]))
    x = np.sin(2 * np.pi * freq[:, None, None] * t[None, :, None] + phase[:, None, :])
    x += 0.3 * rng.standard_normal(x.shape)
    return x.astype(np.float32), labels.astype(np.int32)


def train_seed_model(epochs: int = 3, samples: int = 1024, seed: int = 0):
    """Build and briefly train the seed model; returns (model, validation accuracy)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_seed_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = synthetic_signals(samples, seed)
    x_val, y_val = synthetic_signals(256, seed + 1)
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    _, accuracy = model.evaluate(x_val, y_val, verbose=0)
    return model, float(accuracy)


def write_seed_files(directory: Path, epochs: int = 3) -> tuple[Path, Path, float]:
    """Train once and save as both .keras and legacy .h5; returns (keras_path, h5_path, accuracy)."""
    from packager.quiet import quiet_native_stderr

    directory.mkdir(parents=True, exist_ok=True)
    with quiet_native_stderr():
        import keras  # noqa: F401  (TensorFlow's start-up chatter silenced)
    model, accuracy = train_seed_model(epochs)
    keras_path, h5_path = directory / "seed_cnn_lstm.keras", directory / "seed_cnn_lstm.h5"
    model.save(keras_path)
    import logging

    logging.getLogger("absl").setLevel(logging.ERROR)  # the "HDF5 is legacy" notice
    model.save(h5_path)
    return keras_path, h5_path, accuracy
