"""Hostile input through the real CLI: one readable line, exit 2, nothing written, no code from the file run.

Every case runs `pack export` in a child process, as a pipeline would. Bad files are made here from a
small valid model (Conv1D -> LSTM -> Dense, random weights) by truncating, replacing or editing it.
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import types
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from keras import layers as L

from packager.safety import find_code
from tests.conftest import REPO, run_pack
from tests.helpers import randomize_weights

# ---------------------------------------------------------------------------------------------
# Building the files


def small_model() -> keras.Model:
    model = keras.Sequential(
        [keras.Input((20, 3)), L.Conv1D(4, 3, name="conv"), L.LSTM(5, name="lstm"), L.Dense(2, name="dense")],
        name="small",
    )
    randomize_weights(model, seed=5)
    return model


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, Path]:
    """The same small model as .keras, .h5 and weights-only .h5."""
    folder = tmp_path_factory.mktemp("good")
    model = small_model()
    model.save(folder / "small.keras")
    model.save(folder / "small.h5")
    model.save_weights(folder / "small.weights.h5")
    return {"keras": folder / "small.keras", "h5": folder / "small.h5", "weights": folder / "small.weights.h5"}


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def edited_config(good_keras: Path, edit: Callable[[dict], None]) -> bytes:
    config = json.loads(zip_members(good_keras)["config.json"])
    edit(config)
    return json.dumps(config).encode()


def set_layer(index: int, **fields) -> Callable[[dict], None]:
    def edit(config: dict) -> None:
        config["config"]["layers"][index].update(fields)

    return edit


def wrong_shape_h5_bytes(data: bytes, dataset: str, shape: tuple[int, ...]) -> bytes:
    """The HDF5 image `data` with `dataset` replaced by zeros of another shape."""
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as f:
        parent, name = dataset.rsplit("/", 1)
        del f[parent][name]
        f[parent][name] = np.zeros(shape, "float32")
    return buffer.getvalue()


def marker_lambda_b64(marker: Path) -> str:
    """Keras's func_dump of `lambda x: (touch marker, x)[1]`: base64 of the marshalled code object."""
    source = f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]"
    code = next(c for c in compile(source, "<planted>", "eval").co_consts if isinstance(c, types.CodeType))
    return base64.encodebytes(marshal.dumps(code)).decode()


def planted_keras(folder: Path, marker: Path) -> Path:
    """A Keras 3 .keras whose Lambda layer's code would touch `marker` if it were ever run."""
    model = keras.Sequential([keras.Input((4,)), L.Lambda(lambda x: x, name="planted"), L.Dense(2)], name="planted")
    clean = folder / "clean_lambda.keras"
    model.save(clean)

    def plant(config: dict) -> None:
        layer = next(entry for entry in config["config"]["layers"] if entry["class_name"] == "Lambda")
        layer["config"]["function"]["config"]["code"] = marker_lambda_b64(marker)

    members = zip_members(clean) | {"config.json": edited_config(clean, plant)}
    clean.unlink()
    return write_zip(folder / "planted.keras", members)


def planted_h5(folder: Path, marker: Path) -> Path:
    """A Keras 2 style HDF5 model whose Lambda holds marshalled bytecode that would touch `marker`."""
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "planted",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32"}},
                {
                    "class_name": "Lambda",
                    "config": {
                        "name": "planted",
                        "function": [marker_lambda_b64(marker), None, None],
                        "function_type": "lambda",
                        "module": "__main__",
                        "output_shape": None,
                        "output_shape_type": "raw",
                        "arguments": {},
                    },
                },
                {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "linear"}},
            ],
        },
    }
    path = folder / "planted.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.4.0"
        f.attrs["backend"] = "tensorflow"
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [b"planted", b"dense"]
        weights.create_group("planted").attrs["weight_names"] = []
        dense = weights.create_group("dense")
        dense.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        dense["dense/kernel:0"] = np.ones((4, 2), "float32")
        dense["dense/bias:0"] = np.zeros(2, "float32")
    return path


# ---------------------------------------------------------------------------------------------
# Checking the CLI's answer


def export(model: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_pack("export", model, "-o", out, "--no-bench", "-q", *extra)


def assert_one_error_line(result: subprocess.CompletedProcess, *needles: str, code: int = 2) -> str:
    """Exit `code`; stderr holds progress lines and exactly one `pack: error:` line, last; no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, f"exit {result.returncode}, expected {code}; stderr: {result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in lines if line.startswith("pack: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], f"expected one final error line, got: {lines}"
    stray = [line for line in lines if not line.startswith("pack: ")]
    assert not stray, f"stderr lines that are neither progress nor the error: {stray}"
    for needle in needles:
        assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"
    return errors[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative path -> bytes), to prove a folder was left exactly as it was."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def fake_artifact(folder: Path) -> Path:
    """An earlier artifact folder (packager recognises one by its manifest.json)."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text('{"earlier": true}\n')
    (folder / "model.pt").write_bytes(np.random.default_rng(1).bytes(4096))
    (folder / "notes").mkdir()
    (folder / "notes" / "kept.txt").write_text("an earlier artifact\n")
    return folder


# ---------------------------------------------------------------------------------------------
# The bad model files


@dataclass(frozen=True)
class BadFile:
    id: str
    make: Callable[[dict[str, Path], Path], Path]  # (good files, folder) -> the bad file
    needles: tuple[str, ...]  # what the error line must say


def _truncated(kind: str) -> Callable[[dict[str, Path], Path], Path]:
    def make(good: dict[str, Path], folder: Path) -> Path:
        data = good[kind].read_bytes()
        path = folder / f"truncated.{kind}"
        path.write_bytes(data[: len(data) // 2])
        return path

    return make


def _zip_with(edit: Callable[[dict[str, bytes], Path], dict[str, bytes]]) -> Callable[[dict[str, Path], Path], Path]:
    def make(good: dict[str, Path], folder: Path) -> Path:
        return write_zip(folder / "edited.keras", edit(zip_members(good["keras"]), good["keras"]))

    return make


def _bytes(data: bytes, name: str) -> Callable[[dict[str, Path], Path], Path]:
    def make(_good: dict[str, Path], folder: Path) -> Path:
        (folder / name).write_bytes(data)
        return folder / name

    return make


def _directory(_good: dict[str, Path], folder: Path) -> Path:
    (folder / "model.keras").mkdir()
    return folder / "model.keras"


def _fifo(_good: dict[str, Path], folder: Path) -> Path:
    os.mkfifo(folder / "model.keras")
    return folder / "model.keras"


def _weights_only(good: dict[str, Path], folder: Path) -> Path:
    return Path(shutil.copy(good["weights"], folder / "weights_only.h5"))


def _dense_kernel_6x2(weights_h5: bytes) -> bytes:
    return wrong_shape_h5_bytes(weights_h5, "layers/dense/vars/0", (6, 2))


def _h5_wrong_shape(good: dict[str, Path], folder: Path) -> Path:
    path = folder / "wrong_shape.h5"
    path.write_bytes(wrong_shape_h5_bytes(good["h5"].read_bytes(), "model_weights/dense/small/dense/kernel", (6, 2)))
    return path


BAD_FILES = [
    BadFile("missing_path", lambda _g, folder: folder / "nowhere.keras", ("nowhere.keras", "no such file")),
    BadFile("directory", _directory, ("model.keras", "is a directory")),
    BadFile("empty_file", _bytes(b"", "empty.h5"), ("empty.h5", "file is empty")),
    BadFile("named_pipe", _fifo, ("model.keras", "not a regular file")),  # reading it would block forever
    BadFile(
        "random_bytes",
        _bytes(np.random.default_rng(0).bytes(4096), "random.keras"),
        ("random.keras", "not a Keras model"),
    ),
    BadFile("text_file", _bytes(b"layers: conv, lstm\n", "notes.h5"), ("notes.h5", "not a Keras model")),
    BadFile("truncated_h5", _truncated("h5"), ("truncated.h5", "truncated or damaged")),
    BadFile("truncated_keras", _truncated("keras"), ("truncated.keras", "truncated or damaged")),
    BadFile("weights_only_h5", _weights_only, ("weights_only.h5", "no model config", "model.save()")),
    BadFile(
        "zip_without_config",
        _zip_with(lambda m, _: {k: v for k, v in m.items() if k != "config.json"}),
        ("edited.keras", "no config.json"),
    ),
    BadFile(
        "zip_invalid_json",
        _zip_with(lambda m, _: m | {"config.json": b'{"class_name": "Sequential", "config": {'}),
        ("edited.keras", "config.json is not valid JSON"),
    ),
    BadFile(
        "zip_without_weights",
        _zip_with(lambda m, _: {k: v for k, v in m.items() if k != "model.weights.h5"}),
        ("edited.keras", "no model.weights.h5"),
    ),
    BadFile(
        "zip_member_escapes",
        _zip_with(lambda m, _: m | {"../../escaped.txt": b"owned"}),
        ("edited.keras", "'../../escaped.txt' escapes the archive folder"),
    ),
    BadFile(
        "unknown_layer_class",
        _zip_with(lambda m, good: m | {"config.json": edited_config(good, set_layer(1, class_name="FancyConv"))}),
        ("edited.keras", "1 unsupported layer", "conv (FancyConv: no converter)"),
    ),
    BadFile(
        "custom_layer_class",
        _zip_with(
            lambda m, good: (
                m
                | {
                    "config.json": edited_config(
                        good, set_layer(1, class_name="MyConv", module="mylab.layers", registered_name="mylab>MyConv")
                    )
                }
            )
        ),
        ("edited.keras", "conv (MyConv: custom layer, not part of Keras)"),
    ),
    BadFile(
        "keras_weights_wrong_shape",
        _zip_with(lambda m, _: m | {"model.weights.h5": _dense_kernel_6x2(m["model.weights.h5"])}),
        ("edited.keras", "weights do not match", "(5, 2)", "(6, 2)"),
    ),
    BadFile("h5_weights_wrong_shape", _h5_wrong_shape, ("wrong_shape.h5", "dense (Dense)", "(5, 2)", "(6, 2)")),
]


@pytest.mark.parametrize("case", BAD_FILES, ids=[c.id for c in BAD_FILES])
def test_bad_model_file_is_refused_in_one_line(case: BadFile, good, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    model = case.make(good, source)
    out = tmp_path / "out"
    assert_one_error_line(export(model, out), *case.needles)
    assert not out.exists(), "a refused export must not create its output folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"], "nothing may be left beside the output"
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()


# ---------------------------------------------------------------------------------------------
# Code in the file is refused by name and never runs


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_planted_lambda_is_refused_and_never_runs(fmt, tmp_path):
    marker = tmp_path / "CODE_RAN"
    model = planted_keras(tmp_path, marker) if fmt == "keras" else planted_h5(tmp_path, marker)
    line = assert_one_error_line(
        export(model, tmp_path / "out"), model.name, "planted (Lambda layer)", "never runs code"
    )
    assert "refusing Python code" in line
    inspected = run_pack("inspect", model, "--json")
    assert inspected.returncode == 0, inspected.stderr
    rows = {row["name"]: row for row in json.loads(inspected.stdout)["layers"]}
    assert rows["planted"]["supported"] is False and "Python code" in rows["planted"]["reason"]
    assert not marker.exists(), "code from the model file ran"
    assert not (tmp_path / "out").exists()


def _layer(class_name: str, name: str, **config) -> dict:
    return {"class_name": class_name, "config": {"name": name, **config}}


def _sequential(*layers: dict) -> dict:
    return {"class_name": "Sequential", "config": {"name": "m", "layers": list(layers)}}


LAMBDA_CODE = {
    "class_name": "__lambda__",
    "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAA8wYAAACXAHwAUwAp", "defaults": None},
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (_sequential(_layer("Dense", "d"), _layer("Lambda", "f")), [("f", "Lambda layer")]),
        (
            _sequential(_layer("TimeDistributed", "td", layer=_layer("Lambda", "inner"))),
            [("td/inner", "Lambda layer")],
        ),
        (  # twice wrapped: iter_layers lists td/inner, the scan of that entry finds the Lambda inside it
            _sequential(
                _layer("Bidirectional", "bi", layer=_layer("TimeDistributed", "td", layer=_layer("Lambda", "x")))
            ),
            [("bi/td", "TimeDistributed layer: Lambda layer")],
        ),
        (
            _sequential({"class_name": "Sequential", "config": {"name": "inner", "layers": [_layer("Lambda", "f")]}}),
            [("inner/f", "Lambda layer")],
        ),
        (
            _sequential(_layer("Dense", "d", activation=LAMBDA_CODE)),
            [("d", "Dense activation: serialized Python lambda")],
        ),
        (
            _sequential(_layer("Dense", "d", activation={"value": [LAMBDA_CODE["config"]["code"], None, None]})),
            [("d", "Dense activation.value: marshalled Python bytecode")],
        ),
        (
            _sequential(_layer("Dense", "d", activation={"function_type": "lambda", "function": ["x", None, None]})),
            [("d", "Dense activation: marshalled Python function")],
        ),
        (
            _sequential({**_layer("Dense", "d"), "inbound_nodes": [{"args": [], "kwargs": {"fn": LAMBDA_CODE}}]}),
            [("d", "Dense inbound_nodes.kwargs.fn: serialized Python lambda")],
        ),
        (_layer("Lambda", "alone"), [("alone", "Lambda layer")]),
        (_sequential(_layer("Dense", "d", name_hint="QmF0Y2hOb3JtYWxpemF0aW9uTGF5ZXIx")), []),  # base64, not code
        (_sequential(_layer("Dense", "d", dtype={"class_name": [1]})), []),  # damaged, but no code
    ],
    ids=[
        "top_level",
        "time_distributed",
        "twice_wrapped",
        "nested_model",
        "keras3_lambda_activation",
        "lambda_activation_value",
        "keras2_marshalled_function",
        "call_argument",
        "lone_layer",
        "base64_text",
        "odd_json",
    ],
)
def test_code_is_found_wherever_it_hides(config, expected):
    assert find_code(config) == expected


def test_planted_lambda_would_run_if_keras_were_unsafe(tmp_path):
    """The control: the planted code is live, so the test above could fail. Keras with
    safe_mode=False (what packager never uses) runs it while loading."""
    markers = {fmt: tmp_path / f"RAN_{fmt}" for fmt in ("keras", "h5")}
    files = {"keras": planted_keras(tmp_path, markers["keras"]), "h5": planted_h5(tmp_path, markers["h5"])}
    script = textwrap.dedent(
        f"""
        import keras
        for path in {[str(p) for p in files.values()]!r}:
            model = keras.saving.load_model(path, safe_mode=False, compile=False)
            model(keras.ops.ones((1, 4)))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, cwd=REPO, timeout=300)
    assert all(marker.exists() for marker in markers.values()), {f: m.exists() for f, m in markers.items()}


# ---------------------------------------------------------------------------------------------
# Output paths


def test_output_path_that_is_a_file(good, tmp_path):
    target = tmp_path / "artifact"
    target.write_text("not a folder\n")
    assert_one_error_line(export(good["keras"], target), str(target), "exists and is not a directory")
    assert target.read_text() == "not a folder\n"


def test_output_path_below_a_file(good, tmp_path):
    (tmp_path / "plain").write_text("x")
    target = tmp_path / "plain" / "artifact"
    assert_one_error_line(export(good["keras"], target), str(target), "is a file, not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


def test_output_path_on_a_filesystem_that_refuses_folders(good):
    """/proc refuses new folders even to root (the tests run as root, so permissions prove nothing)."""
    target = Path("/proc/packager-test-artifact")
    assert_one_error_line(export(good["keras"], target), str(target), "cannot be written", "/proc")
    assert not target.exists()


def test_output_path_that_is_the_current_folder(good, tmp_path):
    workdir = tmp_path / "empty"
    workdir.mkdir()
    result = run_pack("export", good["keras"], "-o", ".", "--no-bench", "-q", cwd=workdir)
    assert_one_error_line(result, "output path . is the current folder or holds it")
    assert list(workdir.iterdir()) == []


def test_output_folder_holding_the_model_is_never_replaced(good, tmp_path):
    """An earlier artifact folder that also holds the model: replacing it would delete the model."""
    target = fake_artifact(tmp_path / "artifact")
    model = Path(shutil.copy(good["keras"], target / "model.keras"))
    before = snapshot(target)
    assert_one_error_line(export(model, target), "holds the model file")
    assert snapshot(target) == before


def test_output_folder_that_is_not_an_artifact_is_never_replaced(good, tmp_path):
    target = tmp_path / "home"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work\n")
    before = snapshot(target)
    assert_one_error_line(export(good["keras"], target), str(target), "not a packager artifact", "choose another -o")
    assert snapshot(target) == before


# ---------------------------------------------------------------------------------------------
# Atomic output: a failed or interrupted export leaves an existing DIR byte-identical, nothing beside it


def test_parity_failure_keeps_existing_artifact(good, tmp_path):
    target = fake_artifact(tmp_path / "artifact")
    before = snapshot(target)
    result = export(good["keras"], target, "--atol", "0", "--rtol", "0")
    line = assert_one_error_line(result, "parity check failed", "first diverging layer", code=3)
    assert any(f"first diverging layer: {name} (" in line for name in ("conv", "lstm", "dense")), line
    assert snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact"]

    # --allow-mismatch: the same diagnosis is logged, and the new artifact replaces the old one whole.
    result = export(good["keras"], target, "--atol", "0", "--rtol", "0", "--allow-mismatch")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "first diverging layer:" in result.stderr
    assert json.loads((target / "manifest.json").read_text())["parity"]["passed"] is False
    assert not (target / "notes").exists(), "the earlier artifact's files must not survive a replacement"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact"], "no backup folder may be left"


def test_bad_file_keeps_existing_artifact(tmp_path):
    target = fake_artifact(tmp_path / "out" / "artifact")
    before = snapshot(target)
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"PK\x03\x04" + bytes(100))
    assert_one_error_line(export(bad, target), "truncated or damaged")
    assert snapshot(target) == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["artifact"]


def _staging_folders(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if ".partial-" in p.name or ".previous-" in p.name]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_export_leaves_nothing_behind(signum, good, tmp_path):
    """The signal arrives while the artifact is being staged (the benchmark keeps it there for seconds)."""
    parent = tmp_path / "out"
    target = fake_artifact(parent / "artifact")
    before = snapshot(target)
    child = subprocess.Popen(
        [sys.executable, "-m", "packager", "export", str(good["keras"]), "-o", str(target), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not _staging_folders(parent) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    staged = _staging_folders(parent)
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=120)
    assert staged, f"the export never staged its output (exit {child.returncode}): {stderr[-2000:]}"
    result = subprocess.CompletedProcess(child.args, child.returncode, "", stderr)
    assert_one_error_line(result, f"interrupted by {signal.Signals(signum).name}", code=128 + signum)
    assert snapshot(target) == before
    assert sorted(p.name for p in parent.iterdir()) == ["artifact"], "a staging folder was left behind"


def test_interrupted_first_export_creates_nothing(good, tmp_path):
    """No earlier artifact, and parent folders the export created itself are removed again."""
    target = tmp_path / "new" / "deeper" / "artifact"
    child = subprocess.Popen(
        [sys.executable, "-m", "packager", "export", str(good["keras"]), "-o", str(target), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not (target.parent.exists() and _staging_folders(target.parent)) and child.poll() is None:
        assert time.monotonic() < deadline, "the export never staged its output"
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert list(tmp_path.iterdir()) == [], f"left behind: {sorted(str(p) for p in tmp_path.rglob('*'))}"


# ---------------------------------------------------------------------------------------------
# Bad options are one line too


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["export", "model.keras", "--atol", "abc"], "Invalid value for '--atol'"),
        (["export", "model.keras", "--device", "tpu"], "'tpu' is not one of 'cpu', 'cuda'"),
        (["export"], "Missing argument"),
        (["exprt", "model.keras"], "No such command 'exprt'"),
    ],
    ids=["not_a_number", "bad_choice", "missing_argument", "unknown_command"],
)
def test_bad_option_is_one_line(args, needle, tmp_path):
    result = run_pack(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("pack: error: "), result.stderr
    assert needle in result.stderr and "--help')" in result.stderr, result.stderr
