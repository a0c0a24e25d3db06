"""--plugin: a custom Keras layer converts through the user's own file (examples/plugin_scaled_tanh.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import layers as L

from packager.plugins import load_plugin
from tests.conftest import REPO, run_pack
from tests.helpers import randomize_weights

PLUGIN = REPO / "examples" / "plugin_scaled_tanh.py"


@pytest.fixture(scope="module")
def custom_model_file(tmp_path_factory):
    """A .keras file holding the plugin's ScaledTanh layer between two Dense layers."""
    load_plugin(PLUGIN)  # registers ScaledTanh with Keras in this process, to build and save the model
    scaled_tanh = keras.saving.get_registered_object("examples>ScaledTanh")
    model = keras.Sequential(
        [keras.Input((6, 5)), L.Dense(4), scaled_tanh(alpha=1.5, name="scaled"), L.LSTM(3)], name="custom"
    )
    randomize_weights(model, seed=7)
    path = tmp_path_factory.mktemp("plugin") / "custom.keras"
    model.save(path)
    return path


def test_export_with_plugin_passes_parity(custom_model_file, tmp_path):
    out = tmp_path / "artifact"
    result = run_pack("export", custom_model_file, "--plugin", PLUGIN, "-o", out, "--no-bench", "--quiet")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    parity = manifest["parity"]
    assert parity["passed"] and parity["max_abs_err"] < 1e-5, f"max abs err {parity['max_abs_err']:.3g}"
    assert [p["file"] for p in manifest["source"]["plugins"]] == [PLUGIN.name]
    assert any(row["class_name"] == "ScaledTanh" for row in manifest["layers"])


def test_artifact_of_a_plugin_layer_loads_without_the_plugin(custom_model_file, tmp_path):
    """TorchScript keeps the plugin module's code: a server needs neither packager nor the plugin."""
    out = tmp_path / "artifact"
    assert run_pack("export", custom_model_file, "--plugin", PLUGIN, "-o", out, "--no-bench", "-q").returncode == 0
    reference = np.load(out / "reference.npz")
    script = (
        "import sys, numpy as np, torch\n"
        "m = torch.jit.load(sys.argv[1])\n"
        "r = np.load(sys.argv[2])\n"
        "y = m(torch.from_numpy(r['input_0'])).detach().numpy()\n"
        "print(float(np.abs(y - r['output_0']).max()))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(out / "model.pt"), str(out / "reference.npz")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert float(run.stdout) < 1e-5, f"reloaded artifact differs from Keras by {run.stdout.strip()}"
    assert reference["output_0"].shape[-1] == 3


def test_custom_layer_without_plugin_is_refused_by_name(custom_model_file, tmp_path):
    result = run_pack("export", custom_model_file, "-o", tmp_path / "out", "--no-bench")
    assert result.returncode == 2, result.stderr
    assert "scaled (ScaledTanh" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_plugin_file_is_an_input_error(custom_model_file, tmp_path):
    result = run_pack("export", custom_model_file, "--plugin", tmp_path / "nope.py", "-o", tmp_path / "out")
    assert result.returncode == 2
    assert "--plugin" in result.stderr and "no such file" in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("pack: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr


def test_plugin_that_fails_to_import_is_an_input_error(custom_model_file, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('my plugin is broken')\n")
    result = run_pack("export", custom_model_file, "--plugin", broken, "-o", tmp_path / "out")
    assert result.returncode == 2
    assert "broken.py" in result.stderr and "my plugin is broken" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_plugin_cannot_take_over_a_builtin_converter(custom_model_file, tmp_path):
    hijack = tmp_path / "hijack.py"
    hijack.write_text(
        "from packager.converters.registry import converter\n"
        "@converter('Dense')\n"
        "def my_dense(spec):\n"
        "    raise AssertionError('never used')\n"
    )
    result = run_pack("export", custom_model_file, "--plugin", hijack, "-o", tmp_path / "out")
    assert result.returncode == 2
    assert "Dense" in result.stderr and "already registered" in result.stderr, result.stderr
