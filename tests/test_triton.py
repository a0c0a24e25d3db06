"""Triton model repositories: config.pbtxt parsed with Triton's own ModelConfig schema and checked
against the artifact's manifest and model.pt, field by field.

No Triton server runs here; what the PyTorch backend relies on is checked directly: tensor names
`<name>__<position>` whose positions match model.pt's forward arguments and tuple outputs, and
dims that model.pt's real outputs have.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import torch
from google.protobuf import text_format
from keras import layers as L

from packager.errors import InputError
from packager.pipeline import ExportOptions, export_model
from packager.triton import (
    CONFIG_NAME,
    TritonOptions,
    tensor_name,
    triton_model,
    write_model_repository,
)
from tests.conftest import run_pack
from tests.helpers import randomize_weights

model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")

TYPES = {"float32": "TYPE_FP32", "int32": "TYPE_INT32", "int64": "TYPE_INT64", "float64": "TYPE_FP64"}


def parse_config(path: Path):
    """config.pbtxt as Triton reads it: text format, strictly against inference.ModelConfig."""
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def named_index(name: str) -> int:
    """The position Triton's PyTorch backend reads from a name (it splits at the first `__`)."""
    head, sep, index = name.partition("__")
    assert sep and head and index.isdigit(), f"{name!r} does not follow <name>__<index>"
    return int(index)


def expected_dims(shape: list, batching: bool) -> list[int]:
    dims = [-1 if d is None else d for d in shape]
    return dims[1:] if batching else dims


def check_against_manifest(config, manifest: dict, name: str, max_batch_size: int, kind: str, count: int) -> None:
    set_fields = sorted(field.name for field, _ in config.ListFields())
    expected_fields = ["backend", "input", "instance_group", "name", "output", "parameters"]
    if max_batch_size > 0:  # proto3 lists no field that holds its default (0)
        expected_fields += ["dynamic_batching", "max_batch_size"]
    assert set_fields == sorted(expected_fields), set_fields
    assert config.name == name
    assert config.backend == "pytorch"
    assert config.platform == ""  # the backend's older spelling; Triton derives it
    assert config.max_batch_size == max_batch_size
    batching = max_batch_size > 0
    for declared, entries in ((config.input, manifest["inputs"]), (config.output, manifest["outputs"])):
        assert len(declared) == len(entries)
        for position, (tensor, entry) in enumerate(zip(declared, entries)):
            assert named_index(tensor.name) == position, tensor.name
            assert tensor.name.startswith(tensor_name(entry["name"], position, "X").split("__")[0])
            assert model_config_pb2.DataType.Name(tensor.data_type) == TYPES[entry["dtype"]], tensor
            assert list(tensor.dims) == expected_dims(entry["shape"], batching), (tensor.name, entry["shape"])
            assert not tensor.HasField("reshape")
    if batching:
        assert config.dynamic_batching.max_queue_delay_microseconds == 0
        assert list(config.dynamic_batching.preferred_batch_size) == []
    assert len(config.instance_group) == 1
    group = config.instance_group[0]
    assert (group.count, model_config_pb2.ModelInstanceGroup.Kind.Name(group.kind)) == (count, kind)
    assert dict(config.parameters)["INFERENCE_MODE"].string_value == "true"


def check_model_pt_contract(folder: Path, config, max_batch_size: int) -> None:
    """Feed model.pt by input position, as the backend does, and compare outputs with the declaration."""
    module = torch.jit.load(str(folder / "1" / "model.pt"))
    arguments = module.forward.schema.arguments[1:]  # without self
    assert len(arguments) == len(config.input), [a.name for a in arguments]
    batch = 3
    inputs = []
    for tensor in sorted(config.input, key=lambda t: named_index(t.name)):
        dims = [batch, *tensor.dims] if max_batch_size > 0 else list(tensor.dims)
        inputs.append(torch.randn(*[9 if d == -1 else d for d in dims]))
    with torch.inference_mode():
        result = module(*inputs)
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    assert len(outputs) == len(config.output)
    for tensor, value in zip(sorted(config.output, key=lambda t: named_index(t.name)), outputs):
        declared = [batch, *tensor.dims] if max_batch_size > 0 else list(tensor.dims)
        assert len(value.shape) == len(declared), (tensor.name, tuple(value.shape), declared)
        for got, want in zip(value.shape, declared):
            assert want == -1 or got == want, (tensor.name, tuple(value.shape), declared)


# --- the seed model, through the CLI ------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_repository(seed_files, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("triton")
    (root / "repo" / "other").mkdir(parents=True)
    (root / "repo" / "other" / CONFIG_NAME).write_text('name: "other"\n')
    done = run_pack(
        "export", seed_files["keras"], "-o", root / "artifact", "--no-bench", "-q", "--triton", root / "repo"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Triton model repository entry" in done.stderr, done.stderr
    return root / "artifact", root / "repo"


def test_export_writes_a_repository_triton_accepts(seed_repository):
    artifact, repo = seed_repository
    folder = repo / "seed_cnn_lstm"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == ["1", "1/model.pt", CONFIG_NAME]
    assert (folder / "1" / "model.pt").read_bytes() == (artifact / "model.pt").read_bytes()
    manifest = json.loads((artifact / "manifest.json").read_text())
    config = parse_config(folder / CONFIG_NAME)
    check_against_manifest(config, manifest, "seed_cnn_lstm", 32, "KIND_AUTO", 1)
    assert [t.name for t in config.input] == ["signal__0"]
    assert [t.name for t in config.output] == ["classes__0"]
    check_model_pt_contract(folder, config, 32)
    assert (repo / "other" / CONFIG_NAME).read_text() == 'name: "other"\n', "another model was touched"


def test_triton_command_rewrites_the_entry_with_options(seed_repository):
    artifact, repo = seed_repository
    done = run_pack(
        "triton", artifact, repo, "--name", "cnn", "--max-batch-size", "0", "--instances", "2", "--kind", "cpu"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((artifact / "manifest.json").read_text())
    config = parse_config(repo / "cnn" / CONFIG_NAME)
    check_against_manifest(config, manifest, "cnn", 0, "KIND_CPU", 2)
    assert list(config.input[0].dims) == [-1, 100, 3]  # no batching: the batch axis is declared, dynamic
    check_model_pt_contract(repo / "cnn", config, 0)


def test_triton_command_refuses_a_folder_that_is_no_artifact(tmp_path):
    (tmp_path / "not_artifact").mkdir()
    done = run_pack("triton", tmp_path / "not_artifact", tmp_path / "repo")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pack: error:") and "manifest.json" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "repo").exists()


# --- a Functional model with two inputs (one of any length) and two outputs ---------------------


@pytest.fixture(scope="module")
def functional_artifact(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("triton_functional")
    frames = keras.Input((None, 4), name="frames")
    context = keras.Input((7,), name="context.v2")  # a name Triton tensors cannot carry as is
    per_step = L.Dense(3, name="per_step")(L.LSTM(5, return_sequences=True, name="encoder")(frames))
    summary = L.Dense(2, activation="softmax", name="summary")(L.Dense(6, activation="tanh", name="mix")(context))
    model = keras.Model([frames, context], [per_step, summary], name="two_streams")
    randomize_weights(model, seed=3)
    model.save(root / "two_streams.keras")
    result = export_model(root / "two_streams.keras", ExportOptions(output_dir=root / "artifact", bench=False))
    return root / "artifact", result.manifest


def test_functional_model_repository(functional_artifact, tmp_path):
    artifact, manifest = functional_artifact
    folder = write_model_repository(artifact, tmp_path / "repo", TritonOptions(max_batch_size=8))
    assert folder == tmp_path / "repo" / "two_streams"
    config = parse_config(folder / CONFIG_NAME)
    check_against_manifest(config, manifest, "two_streams", 8, "KIND_AUTO", 1)
    assert [t.name for t in config.input] == ["frames__0", "context_v2__1"]
    assert [t.name for t in config.output] == ["per_step__0", "summary__1"]
    assert [list(t.dims) for t in config.input] == [[-1, 4], [7]]  # the sequence length stays dynamic
    assert [list(t.dims) for t in config.output] == [[-1, 3], [2]]
    check_model_pt_contract(folder, config, 8)


def test_functional_outputs_follow_declared_positions(functional_artifact, tmp_path):
    """Triton returns OUTPUT position i as the declared name: position i must be that Keras output."""
    artifact, manifest = functional_artifact
    folder = write_model_repository(artifact, tmp_path / "repo")
    config = parse_config(folder / CONFIG_NAME)
    with np.load(artifact / "reference.npz") as data:
        inputs = [torch.from_numpy(data[f"input_{i}"]) for i in range(len(config.input))]
        keras_outputs = [data[f"output_{i}"] for i in range(len(config.output))]
    with torch.inference_mode():
        outputs = torch.jit.load(str(folder / "1" / "model.pt"))(*inputs)
    for tensor in config.output:
        position = named_index(tensor.name)
        err = float(np.abs(outputs[position].numpy() - keras_outputs[position]).max())
        assert err < 1e-4, f"{tensor.name}: max abs err {err:.3g} against Keras output {position}"


# --- names and shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keras_name", "expected"),
    [("signal", "signal__3"), ("dense_1/Softmax:0", "dense_1_Softmax_0__3"), ("a__b", "a_b__3"), ("__", "IN__3")],
)
def test_tensor_names_keep_one_double_underscore(keras_name, expected):
    assert tensor_name(keras_name, 3, "IN") == expected


def test_a_batch_only_tensor_is_declared_as_one_element_reshaped():
    manifest = {
        "inputs": [{"name": "x", "shape": [None, 5], "dtype": "float32"}],
        "outputs": [{"name": "y", "shape": [None], "dtype": "float32"}],
        "source": {"file": "m.h5"},
    }
    model = triton_model(manifest, TritonOptions())
    assert (model.outputs[0].dims, model.outputs[0].reshape) == ([1], [])
    from packager.triton import config_text

    config = text_format.Parse(config_text(model), model_config_pb2.ModelConfig())
    assert list(config.output[0].dims) == [1] and config.output[0].HasField("reshape")
    assert list(config.output[0].reshape.shape) == []


def test_unknown_dtype_is_an_input_error():
    manifest = {"inputs": [{"name": "x", "shape": [None, 2], "dtype": "string"}], "outputs": []}
    with pytest.raises(InputError, match="string"):
        triton_model(manifest, TritonOptions())
