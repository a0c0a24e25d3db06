"""pytest-benchmark suite (not tests: nothing here asserts on time). Run: make bench."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def seed(tmp_path_factory):
    """The seed CNN-LSTM: its Keras file, loaded model, converted module and TorchScript artifact."""
    import torch

    from packager.assemble import convert
    from packager.demo import write_seed_files
    from packager.keras_loader import load_model

    keras_path, _, _ = write_seed_files(tmp_path_factory.mktemp("seed"), epochs=1)
    loaded = load_model(keras_path)
    converted = convert(loaded.graph)
    return {
        "path": keras_path,
        "loaded": loaded,
        "eager": converted.module,
        "scripted": torch.jit.script(converted.module),
    }
