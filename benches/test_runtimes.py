"""The seed CNN-LSTM on each runtime, one thread, batch 1 and 32 (compare with --benchmark-group-by)."""

from __future__ import annotations

import pytest
import torch

from packager.bench import bench_inputs
from packager.runtime import to_tensors

BATCHES = (1, 32)


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _torch_call(module, graph, batch):
    tensors = to_tensors(bench_inputs(graph, batch))

    def call():
        with torch.inference_mode():
            return module(*tensors)

    return call


@pytest.mark.parametrize("batch", BATCHES)
def test_torchscript(benchmark, seed, batch):
    benchmark.group = f"seed batch {batch}"
    benchmark(_torch_call(seed["scripted"], seed["loaded"].graph, batch))


@pytest.mark.parametrize("batch", BATCHES)
def test_eager_torch(benchmark, seed, batch):
    benchmark.group = f"seed batch {batch}"
    benchmark(_torch_call(seed["eager"], seed["loaded"].graph, batch))


@pytest.mark.parametrize("batch", BATCHES)
def test_keras_tf_function(benchmark, seed, batch):
    from packager.keras_loader import keras_timed_call

    benchmark.group = f"seed batch {batch}"
    benchmark(keras_timed_call(seed["loaded"].keras_model)(bench_inputs(seed["loaded"].graph, batch)))


@pytest.mark.parametrize("batch", BATCHES)
def test_onnxruntime(benchmark, seed, batch):
    from packager.onnx_compare import onnx_available, onnx_bytes, onnx_runtime

    if not onnx_available():
        pytest.skip("pip install 'packager[compare]' for the ONNX Runtime comparison")
    benchmark.group = f"seed batch {batch}"
    runtime = onnx_runtime(onnx_bytes(seed["loaded"].keras_model, seed["loaded"].graph), 1)
    benchmark(runtime.make_call(bench_inputs(seed["loaded"].graph, batch)))
