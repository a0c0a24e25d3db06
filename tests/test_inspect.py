"""`pack inspect`: every layer with class, output shape, Keras/torch parameter counts and support."""

from __future__ import annotations

import json
import zipfile

import keras
import pytest
from keras import layers as L

from packager.inspect_model import inspect_model
from tests.conftest import REALWORLD, run_pack
from tests.helpers import randomize_weights

UNITS, FEATURES, FILTERS = 5, 3, 4


def cnn_lstm() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((20, FEATURES), name="signal"),
            L.Conv1D(FILTERS, 3, name="conv"),
            L.Dropout(0.1, name="drop"),
            L.LSTM(UNITS, name="lstm"),
            L.Dense(2, name="dense"),
        ],
        name="small",
    )
    randomize_weights(model, seed=2)
    return model


@pytest.fixture(scope="module")
def small_keras(tmp_path_factory):
    path = tmp_path_factory.mktemp("inspect") / "small.keras"
    model = cnn_lstm()
    model.save(path)
    return path, model


def test_inspect_json_through_the_cli(small_keras):
    path, model = small_keras
    result = run_pack("inspect", path, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["format"] == "keras-zip" and report["convertible"] is True and report["weights_fit"] is True
    assert report["inputs"] == [{"name": "signal", "shape": [None, 20, FEATURES], "dtype": "float32"}]
    rows = {row["name"]: row for row in report["layers"]}
    assert list(rows) == ["conv", "drop", "lstm", "dense"]
    for layer in model.layers:
        row = rows[layer.name]
        assert row["class_name"] == type(layer).__name__ and row["supported"] is True, row
        assert row["keras_params"] == layer.count_params(), (row, layer.count_params())
        assert row["output_shape"] == list(layer.output.shape), (row, layer.output.shape)
    # torch: Conv1d and Linear hold what Keras holds; nn.LSTM keeps a second (zero) bias of 4*units.
    assert rows["conv"]["torch_params"] == rows["conv"]["keras_params"] == 3 * FEATURES * FILTERS + FILTERS
    assert rows["lstm"]["torch_params"] == rows["lstm"]["keras_params"] + 4 * UNITS
    assert rows["dense"]["torch_params"] == UNITS * 2 + 2
    assert rows["drop"]["torch_params"] == 0 and "identity" in rows["drop"]["torch_module"]


def test_inspect_text_through_the_cli(small_keras):
    path, _ = small_keras
    result = run_pack("inspect", path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}: keras-zip, written by Keras {keras.__version__}")
    header = next(line for line in lines if line.startswith("layer"))
    assert header.split() == ["layer", "class", "output", "shape", "keras", "params", "torch", "params", "converts"]
    lstm = next(line for line in lines if line.startswith("lstm "))
    assert lstm.split()[:4] == ["lstm", "LSTM", "(None,", "5)"] and "yes" in lstm, lstm
    assert "4 of 4 layers supported: the model converts" in result.stdout


def test_unsupported_builtin_layer_still_gets_shapes_and_counts(tmp_path):
    model = keras.Sequential(
        [keras.Input((10, 4)), L.Dense(6, name="proj"), L.UnitNormalization(name="unit"), L.LSTM(3, name="lstm")]
    )
    path = tmp_path / "partly.keras"
    model.save(path)
    report = inspect_model(path)
    rows = {row.name: row for row in report.layers}
    assert not report.convertible
    assert rows["unit"].supported is False and rows["unit"].reason == "no converter"
    assert rows["unit"].output_shape == [None, 10, 6] and rows["unit"].torch_params is None
    assert rows["proj"].supported and rows["proj"].torch_params == 4 * 6 + 6
    assert rows["lstm"].supported and rows["lstm"].output_shape == [None, 3]


def test_custom_class_is_listed_from_the_config_without_building(small_keras, tmp_path):
    path, _ = small_keras
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    config = json.loads(members["config.json"])
    conv = next(entry for entry in config["config"]["layers"] if entry["config"]["name"] == "conv")
    conv.update(class_name="MyConv", module="mylab.layers", registered_name="mylab>MyConv")
    edited = tmp_path / "custom.keras"
    with zipfile.ZipFile(edited, "w") as zf:
        for name, data in (members | {"config.json": json.dumps(config).encode()}).items():
            zf.writestr(name, data)
    report = inspect_model(edited)
    rows = {row.name: row for row in report.layers}
    assert list(rows) == ["conv", "drop", "lstm", "dense"]
    assert rows["conv"].supported is False and rows["conv"].reason == "custom layer, not part of Keras"
    assert all(row.output_shape is None for row in rows.values()), "nothing may be built from a custom class"
    assert rows["lstm"].supported and not report.convertible
    assert report.notes and "not built with Keras" in report.notes[0]


def test_unreadable_file_is_one_error_line(tmp_path):
    text = tmp_path / "model.h5"
    text.write_text("not a model\n")
    result = run_pack("inspect", text)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"pack: error: {text}: not a Keras model (neither HDF5 nor a .keras zip)"
    ]


def _realworld_entries() -> list[dict]:
    manifest = REALWORLD / "manifest.json"
    return json.loads(manifest.read_text()) if manifest.is_file() else []


@pytest.mark.realworld
@pytest.mark.parametrize("entry", _realworld_entries() or [None], ids=lambda e: e["file"][:60] if e else "none")
def test_inspect_every_realworld_file(entry, realworld_dir):
    """Inspect never fails on a readable file: code and custom classes are listed, not run or refused."""
    if entry is None:
        pytest.skip("no real-world manifest")
    report = inspect_model(realworld_dir / entry["file"])
    assert report.layers, entry["file"]
    refused = {row.class_name: row.reason for row in report.layers if not row.supported}
    if "Lambda" in entry["layers"]:
        assert "Python code" in refused.get("Lambda", ""), refused
    if "TCN" in entry["layers"]:
        assert refused.get("TCN") == "custom layer, not part of Keras", refused
    if report.weights_fit:  # built by Keras with the file's weights: the counts are the file's own
        total = sum(row.keras_params for row in report.layers)
        assert total == entry["params"], f"{entry['file']}: {total} Keras params, the file has {entry['params']}"
