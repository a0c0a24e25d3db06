"""model.py + weights.safetensors: readable source that runs on torch alone and matches Keras and model.pt.

The seed and a multi-input Functional model go through `export_model`, and their model.py is
imported in a fresh process that has only torch and safetensors loaded; every layer case in
tests/layer_cases.py is generated in-process and compared with the converted module it came from
(whose parity with Keras is test_layer_parity's job).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import pytest
import torch
from keras import layers as L

from packager.assemble import convert
from packager.codegen import (
    SOURCE_NAME,
    WEIGHTS_NAME,
    CodegenError,
    generate,
    load_generated,
    write_source,
)
from packager.keras_loader import describe
from packager.pipeline import ExportOptions, export_model
from tests.conftest import REALWORLD, REPO, run_pack
from tests.helpers import randomize_weights
from tests.layer_cases import CASES, LayerCase
from tests.test_layer_parity import _model as layer_case_model  # the same Keras model the parity test checks

# Runs in a child process: import model.py by path, load the weights, compare with the reference
# sample (Keras's outputs) and with model.pt; report what else the import pulled in.
CHILD = r"""
import importlib.util, json, sys
from pathlib import Path
import numpy as np
import torch

folder = Path(sys.argv[1])
spec = importlib.util.spec_from_file_location("generated_model", folder / "model.py")
generated = importlib.util.module_from_spec(spec)
sys.modules["generated_model"] = generated
spec.loader.exec_module(generated)
model = generated.load()
with np.load(folder / "reference.npz") as data:
    inputs = [torch.from_numpy(data[f"input_{i}"]) for i in range(sum(k.startswith("input_") for k in data.files))]
    keras_out = [data[f"output_{i}"] for i in range(sum(k.startswith("output_") for k in data.files))]
as_list = lambda r: [t.numpy() for t in (r if isinstance(r, (tuple, list)) else [r])]
with torch.inference_mode():
    ours = as_list(model(*inputs))
    scripted = as_list(torch.jit.load(str(folder / "model.pt"))(*inputs))
    rescripted = as_list(torch.jit.script(model)(*inputs))
print(json.dumps({
    "outputs": len(ours),
    "shapes_match": [a.shape == b.shape for a, b in zip(ours, keras_out)],
    "vs_keras": max(float(np.abs(a - b).max()) for a, b in zip(ours, keras_out)),
    "keras_scale": max(float(np.abs(b).max()) for b in keras_out),
    "vs_model_pt": max(float(np.abs(a - b).max()) for a, b in zip(ours, scripted)),
    "vs_rescripted": max(float(np.abs(a - b).max()) for a, b in zip(ours, rescripted)),
    "foreign_modules": sorted(m for m in sys.modules if m.split(".")[0] in ("packager", "keras", "tensorflow")),
}))
"""


def run_generated(folder: Path) -> dict:
    """Import model.py in a fresh interpreter and return what it measured."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"importing {folder / SOURCE_NAME} failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def ruff(*args: str) -> subprocess.CompletedProcess:
    config = Path(__file__).resolve().parents[1] / "pyproject.toml"
    command = [sys.executable, "-m", "ruff", *args, "--no-cache", "--config", str(config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def assert_ruff_clean(path: Path) -> None:
    lint = ruff("check", str(path))
    assert lint.returncode == 0, f"ruff check on generated {path.name}:\n{lint.stdout[-3000:]}"
    style = ruff("format", "--check", "--diff", str(path))
    assert style.returncode == 0, f"ruff format would change generated {path.name}:\n{style.stdout[-3000:]}"


def top_level_imports(source: str) -> set[str]:
    """Packages model.py imports at module level (load() may import safetensors inside)."""
    found = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add((node.module or "").split(".")[0])
    return found


def check_matches(folder: Path, manifest: dict) -> dict:
    result = run_generated(folder)
    tol = manifest["parity"]["atol"] + manifest["parity"]["rtol"] * result["keras_scale"]
    assert result["outputs"] == len(manifest["outputs"]), result
    assert all(result["shapes_match"]), result
    assert result["vs_keras"] <= tol, f"model.py vs Keras: max abs err {result['vs_keras']:.3g} > {tol:.3g}"
    assert result["vs_model_pt"] <= 1e-6, f"model.py vs model.pt: max abs err {result['vs_model_pt']:.3g}"
    assert result["vs_rescripted"] <= 1e-6, f"model.py vs its own torch.jit.script: {result['vs_rescripted']:.3g}"
    assert result["foreign_modules"] == [], f"model.py pulled in {result['foreign_modules']}"
    return result


# --- the seed model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_artifact(seed_files, tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("codegen") / "seed"
    result = export_model(seed_files["keras"], ExportOptions(output_dir=folder, bench=False))
    return folder, result.manifest


def test_seed_source_matches_keras_and_torchscript_in_a_fresh_process(seed_artifact):
    folder, manifest = seed_artifact
    check_matches(folder, manifest)


def test_seed_source_reads_like_a_hand_written_port(seed_artifact):
    folder, _ = seed_artifact
    source = (folder / SOURCE_NAME).read_text()
    for line in (
        "self.conv1d = nn.Conv1d(3, 32, kernel_size=3)",
        "self.pool = nn.MaxPool1d(2)",
        "self.lstm = nn.LSTM(32, 64, batch_first=True)",
        "self.classes = nn.Linear(64, 5)",
        "def forward(self, signal: torch.Tensor) -> torch.Tensor:",
        "x = signal.transpose(1, 2)",
        "x = torch.relu(self.conv1d(x))",
        "x, _ = self.lstm(x)",
        "x = x[:, -1]",
        "x = torch.softmax(self.classes(x), dim=-1)",
    ):
        assert line in source, f"{line!r} not in the generated model.py:\n{source}"
    classes = [n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    assert classes == ["SeedCnnLstm"], f"expected only torch built-ins, found classes {classes}"
    assert top_level_imports(source) == {"__future__", "os", "torch"}
    assert_ruff_clean(folder / SOURCE_NAME)


def test_seed_weights_are_safetensors_keyed_by_state_dict(seed_artifact):
    from safetensors import safe_open

    folder, manifest = seed_artifact
    assert manifest["pytorch_source"] == {
        "file": SOURCE_NAME,
        "weights": WEIGHTS_NAME,
        "class_name": "SeedCnnLstm",
        "loader": "load",
        "tensors": 8,
    }
    model = load_generated(folder)
    with safe_open(str(folder / WEIGHTS_NAME), framework="pt") as f:
        keys = set(f.keys())
        assert f.metadata()["format"] == "pt"
        for key, value in model.state_dict().items():
            assert torch.equal(f.get_tensor(key), value), key
    assert keys == set(model.state_dict()), sorted(keys ^ set(model.state_dict()))
    assert not (folder / WEIGHTS_NAME).read_bytes().startswith(b"PK"), "weights must not be a torch (zip/pickle) file"


def test_export_validates_model_py_like_model_pt(seed_artifact):
    _, manifest = seed_artifact
    stages = {case["stage"] for case in manifest["parity"]["tried"]}
    assert SOURCE_NAME in stages, stages
    assert all(case["passed"] for case in manifest["parity"]["tried"] if case["stage"] == SOURCE_NAME)


# --- a Functional model: two inputs, three outputs, a tensor used by two branches ----------------


def functional_model() -> keras.Model:
    sequence = keras.Input((24, 5), name="sequence")
    meta = keras.Input((10,), name="meta")
    features = L.Conv1D(8, 3, padding="same", activation="relu", name="features")(sequence)
    pooled = L.MaxPooling1D(2, name="pooled")(features)
    states = L.LSTM(6, return_sequences=True, name="states")(pooled)
    label = L.Dense(3, activation="softmax", name="label")(L.GRU(4, go_backwards=True, name="summary")(states))
    flag = L.Dense(1, activation="sigmoid", name="flag")(L.GlobalMaxPooling1D(name="peak")(features))
    hidden = L.BatchNormalization(name="norm")(L.Dense(8, activation="relu", name="hidden")(meta))
    score = L.Dense(2, name="score")(hidden)
    model = keras.Model([sequence, meta], [label, score, flag], name="two_heads")
    randomize_weights(model, seed=7)
    return model


@pytest.fixture(scope="module")
def functional_artifact(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("functional")
    path = root / "two_heads.keras"
    functional_model().save(path)
    result = export_model(path, ExportOptions(output_dir=root / "artifact", bench=False))
    return root / "artifact", result.manifest


def test_functional_source_matches_keras_and_torchscript_in_a_fresh_process(functional_artifact):
    folder, manifest = functional_artifact
    result = check_matches(folder, manifest)
    assert result["outputs"] == 3


def test_functional_source_names_values_after_layers(functional_artifact):
    folder, _ = functional_artifact
    source = (folder / SOURCE_NAME).read_text()
    assert "def forward(self, sequence: torch.Tensor, meta: torch.Tensor)" in source, source
    assert "-> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:" in source, source
    for attribute in ("features", "pooled", "states", "summary", "label", "peak", "hidden", "norm", "score", "flag"):
        assert f"self.{attribute} = " in source, f"no attribute {attribute} in:\n{source}"
    assert "return label, score, flag" in source, source
    assert top_level_imports(source) <= {"__future__", "os", "torch", "typing", "collections", "math"}
    assert_ruff_clean(folder / SOURCE_NAME)


# --- every layer case ---------------------------------------------------------------------------


def generated_for(model: keras.Model, folder: Path) -> tuple[torch.nn.Module, list[torch.Tensor], bool]:
    """Convert like export does (script first: scripting adds attributes to modules), then generate.

    Returns the converted module, example inputs, and whether the converted module scripts (export
    falls back to tracing when it does not; then model.py need not script either).
    """
    graph = describe(model)
    converted = convert(graph)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.jit.script(converted.module)
        scriptable = True
    except Exception:
        scriptable = False
    inputs = [example_input(spec.shape, spec.dtype) for spec in graph.inputs]
    source = generate(converted.module, inputs, model_name=graph.name, inputs=graph.inputs, outputs=graph.outputs)
    write_source(source, folder)
    return converted.module, inputs, scriptable


def example_input(shape, dtype: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    dims = [3, *(11 if d is None else d for d in shape[1:])]
    if dtype.startswith("float"):
        return torch.randn(*dims, generator=generator)
    return torch.randint(0, 3, dims, generator=generator)


def as_list(result) -> list[torch.Tensor]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


@pytest.mark.parametrize("layer_case", CASES, ids=[c.id for c in CASES])
def test_layer_case_source(layer_case: LayerCase, tmp_path):
    converted, inputs, scriptable = generated_for(layer_case_model(layer_case), tmp_path)
    generated = load_generated(tmp_path)
    with torch.inference_mode():
        expected = as_list(converted(*inputs))
        ours = as_list(generated(*inputs))
        rescripted = as_list(torch.jit.script(generated)(*inputs)) if scriptable else ours
    assert len(ours) == len(expected)
    for i, (a, b, c) in enumerate(zip(ours, expected, rescripted)):
        assert a.shape == b.shape, f"{layer_case.id} output {i}: shape {tuple(a.shape)} vs {tuple(b.shape)}"
        err = float((a - b).abs().max()) if a.numel() else 0.0
        assert err <= 1e-6, f"{layer_case.id} output {i}: model.py vs converted module, max abs err {err:.3g}"
        assert torch.equal(a, c), f"{layer_case.id} output {i}: model.py changes when scripted"
    lint = ruff("check", str(tmp_path / SOURCE_NAME))
    assert lint.returncode == 0, f"{layer_case.id}: ruff check on model.py:\n{lint.stdout[-2000:]}"


# --- real-world files ---------------------------------------------------------------------------

REALWORLD_FILES = sorted(p.name for p in REALWORLD.glob("*") if p.suffix in (".h5", ".hdf5", ".keras"))


@pytest.mark.slow
@pytest.mark.realworld
@pytest.mark.parametrize("name", REALWORLD_FILES)
def test_realworld_source(name, realworld_dir, tmp_path):
    """Every real-world model packager converts gets a model.py that computes what the conversion does."""
    from packager import keras_loader
    from packager.errors import PackagerError

    try:
        loaded = keras_loader.load_model(realworld_dir / name)
        model_graph, converted = loaded.graph, convert(loaded.graph)
    except PackagerError as exc:
        pytest.skip(f"refused by packager (test_realworld checks why): {str(exc)[:120]}")
    inputs = [example_input(spec.shape, spec.dtype) for spec in model_graph.inputs]
    write_source(generate(converted.module, inputs, model_name=model_graph.name), tmp_path)
    with torch.inference_mode():
        expected = as_list(converted.module(*inputs))
        ours = as_list(load_generated(tmp_path)(*inputs))
    for i, (a, b) in enumerate(zip(ours, expected, strict=True)):
        err = float((a - b).abs().max()) if a.numel() else 0.0
        assert a.shape == b.shape and err <= 1e-5, f"{name} output {i}: {tuple(a.shape)} vs {tuple(b.shape)}, {err:.3g}"
    lint = ruff("check", str(tmp_path / SOURCE_NAME))
    assert lint.returncode == 0, f"{name}: ruff check on model.py:\n{lint.stdout[-2000:]}"


# --- --plugin modules ----------------------------------------------------------------------------

PLUGIN = REPO / "examples" / "plugin_scaled_tanh.py"

# A plugin whose torch module keeps its constructor argument under another name.
OPAQUE_PLUGIN = """
import keras
import torch
from torch import nn

from packager.converters.registry import converter


@keras.saving.register_keras_serializable(package="tests")
class Twice(keras.layers.Layer):
    def call(self, x):
        return 2.0 * x


class TwiceModule(nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.k = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.k * x


@converter("Twice")
def twice(spec):
    return TwiceModule(2.0)
"""

# Builds and saves, in a child process (a plugin registers its classes process-wide), a model
# Dense -> <plugin layer> -> LSTM.
SAVE_PLUGIN_MODEL = r"""
import sys
import keras
from packager.plugins import load_plugin
from tests.helpers import randomize_weights

plugin, layer_name, path = sys.argv[1:4]
load_plugin(__import__("pathlib").Path(plugin))
layer = keras.saving.get_registered_object(layer_name)
kwargs = {"alpha": 1.5} if layer_name.endswith("ScaledTanh") else {}
layers = [keras.Input((6, 5)), keras.layers.Dense(4, name="dense"), layer(name="custom", **kwargs)]
model = keras.Sequential([*layers, keras.layers.LSTM(3, name="lstm")], name="with_plugin")
randomize_weights(model, seed=5)
model.save(path)
"""


def export_with_plugin(plugin: Path, layer_name: str, folder: Path) -> tuple[Path, dict]:
    model_path = folder / "with_plugin.keras"
    command = [sys.executable, "-c", SAVE_PLUGIN_MODEL, str(plugin), layer_name, str(model_path)]
    saved = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert saved.returncode == 0, saved.stderr[-2000:]
    done = run_pack("export", model_path, "--plugin", plugin, "-o", folder / "artifact", "--no-bench", "-q")
    assert done.returncode == 0, done.stderr[-2000:]
    return folder / "artifact", json.loads((folder / "artifact" / "manifest.json").read_text())


def test_plugin_module_is_copied_into_model_py(tmp_path):
    """The user's own torch module (from --plugin) is inlined: model.py still needs neither packager nor the plugin."""
    artifact, manifest = export_with_plugin(PLUGIN, "examples>ScaledTanh", tmp_path)
    source = (artifact / SOURCE_NAME).read_text()
    assert "class ScaledTanhModule(nn.Module):" in source, source
    assert "self.custom = ScaledTanhModule(scale=torch.zeros(4), shift=torch.zeros(4), alpha=1.5)" in source, source
    check_matches(artifact, manifest)
    assert_ruff_clean(artifact / SOURCE_NAME)


def test_a_module_model_py_cannot_rebuild_leaves_the_artifact_whole(tmp_path):
    plugin = tmp_path / "opaque_plugin.py"
    plugin.write_text(OPAQUE_PLUGIN)
    artifact, manifest = export_with_plugin(plugin, "tests>Twice", tmp_path)
    error = manifest["pytorch_source"]["error"]
    assert manifest["pytorch_source"]["file"] is None and "TwiceModule" in error and "'factor'" in error, error
    assert manifest["parity"]["passed"] and (artifact / "model.pt").is_file()
    assert not (artifact / SOURCE_NAME).exists() and not (artifact / WEIGHTS_NAME).exists()


# --- names and limits ---------------------------------------------------------------------------


def test_hostile_keras_names_stay_out_of_the_code(tmp_path):
    """Keras accepts any string as a name; model.py must not turn one into code."""
    inputs = keras.Input((4,), name='in put"""x')
    hidden = L.Dense(3, name='a"""\nimport os  # b')(inputs)
    model = keras.Model(inputs, L.Dense(2, name="class")(hidden), name='evil"""\nprint(1)')
    randomize_weights(model)
    converted, example, _ = generated_for(model, tmp_path)
    source = (tmp_path / SOURCE_NAME).read_text()
    assert "import os  # b" not in source and "print(1)" not in source, source
    assert "def forward(self, in_put___x: torch.Tensor)" in source, source
    assert "self.class_ = nn.Linear(3, 2)" in source or "self.layer_class = nn.Linear(3, 2)" in source, source
    with torch.inference_mode():
        assert torch.equal(load_generated(tmp_path)(*example), converted(*example))
    assert_ruff_clean(tmp_path / SOURCE_NAME)


def test_long_keras_names_keep_lines_short(tmp_path):
    """Names of 60+ characters: every generated line still fits ruff's limit and ruff format agrees."""
    long = "a_rather_long_layer_name_that_someone_wrote_for_clarity_block"
    sequence = keras.Input((16, 3), name=f"{long}_input_sequence")
    side = keras.Input((4,), name=f"{long}_input_side")
    features = L.Conv1D(4, 3, strides=2, padding="same", activation="relu", name=f"{long}_conv")(sequence)
    summary = L.LSTM(5, go_backwards=True, name=f"{long}_lstm")(features)
    outputs = [L.Dense(2, activation="softmax", name=f"{long}_{i}_head")(x) for i, x in enumerate([summary, side])]
    model = keras.Model([sequence, side], outputs, name=f"{long}_model_with_a_long_name_too")
    randomize_weights(model)
    converted, example, _ = generated_for(model, tmp_path)
    with torch.inference_mode():
        for a, b in zip(load_generated(tmp_path)(*example), converted(*example), strict=True):
            assert torch.equal(a, b)
    assert_ruff_clean(tmp_path / SOURCE_NAME)


def test_a_module_the_generator_cannot_write_is_named():
    class Opaque(torch.nn.Module):  # neither a torch built-in nor a packager module
        def forward(self, x):
            return x * 2

    root = torch.nn.Module()
    root.add_module("opaque", Opaque())
    graph = torch.fx.Graph()
    graph.output(graph.call_module("opaque", (graph.placeholder("x"),)))
    module = torch.fx.GraphModule(root, graph)
    with pytest.raises(CodegenError, match="Opaque"):
        generate(module, [torch.ones(2, 3)])


def test_generated_example_in_docstring_runs(seed_artifact, tmp_path):
    """The usage lines at the top of model.py work as written."""
    folder, _ = seed_artifact
    script = "import sys; sys.path.insert(0, sys.argv[1])\nfrom model import load\nimport torch\nmodel = load()\n"
    docstring = ast.get_docstring(ast.parse((folder / SOURCE_NAME).read_text()))
    example = next(line.strip() for line in docstring.splitlines() if line.strip().startswith("outputs = model("))
    script += example + "\nprint(tuple(outputs.shape))\n"
    done = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(8, 5)", done.stdout
