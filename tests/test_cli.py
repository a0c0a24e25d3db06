"""`pack export` end to end on the seed CNN-LSTM, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.conftest import run_pack

SEED_ATOL = 1e-5


def _load_in_fresh_process(model_pt: Path, inputs: np.ndarray, tmp_path: Path) -> tuple[np.ndarray, list[str]]:
    """torch.jit.load in a process that imports neither packager nor TensorFlow."""
    np.save(tmp_path / "x.npy", inputs)
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np, torch
        extra = {{"manifest.json": ""}}
        model = torch.jit.load({str(model_pt)!r}, _extra_files=extra)
        x = torch.from_numpy(np.load({str(tmp_path / "x.npy")!r}))
        with torch.no_grad():
            y = model(x)
        np.save({str(tmp_path / "y.npy")!r}, y.numpy())
        json.dump(sorted(m for m in sys.modules if m.split(".")[0] in ("packager", "tensorflow", "keras")),
                  open({str(tmp_path / "mods.json")!r}, "w"))
        assert json.loads(extra["manifest.json"])["export"]["file"] == "model.pt"
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    return np.load(tmp_path / "y.npy"), json.loads((tmp_path / "mods.json").read_text())


@pytest.mark.parametrize("fmt", ["h5", "keras"])
def test_seed_model_round_trip(fmt, seed_files, tmp_path):
    out = tmp_path / "artifact"
    result = run_pack("export", seed_files[fmt], "-o", out, "--no-bench", "--quiet")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parity"]["passed"]
    assert manifest["parity"]["max_abs_err"] <= SEED_ATOL, manifest["parity"]
    assert manifest["source"]["format"] == {"h5": "hdf5", "keras": "keras-zip"}[fmt]
    assert manifest["inputs"] == [{"name": "signal", "shape": [None, 100, 3], "dtype": "float32"}]
    assert manifest["outputs"][0]["shape"] == [None, 5]
    assert manifest["export"]["method"] == "script"
    assert {"model.pt", "manifest.json", "report.md", "reference.pt", "reference.npz"} <= {
        p.name for p in out.iterdir()
    }

    keras_model = keras.saving.load_model(seed_files[fmt], compile=False)
    for batch in (3, 7):  # not the batch sizes used during export
        x = np.random.default_rng(batch).standard_normal((batch, 100, 3)).astype("float32")
        got, modules = _load_in_fresh_process(out / "model.pt", x, tmp_path)
        expected = np.asarray(keras_model(x, training=False))
        err = float(np.abs(got - expected).max())
        assert err <= SEED_ATOL, f"batch {batch}: max abs err {err:.3g}"
        assert modules == [], f"the artifact needed {modules}"


def test_report_and_benchmark(seed_files, tmp_path):
    out = tmp_path / "bench"
    result = run_pack("export", seed_files["keras"], "-o", out)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    rows = manifest["benchmark"]["rows"]
    seen = {(r["runtime"], r["threads"].split()[0], r["batch"]) for r in rows if r["device"] == "cpu"}
    for batch in (1, 32):
        assert ("torchscript", "1", batch) in seen
        assert ("torchscript", "default", batch) in seen
        assert any(runtime.startswith("keras") and b == batch for runtime, _, b in seen)
    assert all(r["p50_ms"] > 0 and r["p90_ms"] >= r["p50_ms"] for r in rows)
    report = (out / "report.md").read_text()
    for needle in (
        "| conv1d | Conv1D |",
        "| lstm | LSTM |",
        "## Parity against Keras",
        "## Latency",
        "keras (tf.function)",
    ):
        assert needle in report
    assert result.stdout.strip().startswith("# seed_cnn_lstm.keras")


def test_default_output_dir_is_artifacts_stem(seed_files, tmp_path):
    result = run_pack("export", seed_files["h5"], "--no-bench", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "artifacts" / "seed_cnn_lstm" / "model.pt").is_file()


def test_unsupported_layers_are_all_listed(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((10, 4)),
            keras.layers.UnitNormalization(name="unit_norm_a"),
            keras.layers.LSTM(3, return_sequences=True),
            keras.layers.GroupNormalization(groups=1, name="group_norm_b"),
        ]
    )
    path = tmp_path / "unsupported.keras"
    model.save(path)
    result = run_pack("export", path, "-o", tmp_path / "out")
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert "unit_norm_a (UnitNormalization" in line and "group_norm_b (GroupNormalization" in line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_parity_failure_exits_3_and_writes_nothing(seed_files, tmp_path):
    out = tmp_path / "strict"
    result = run_pack("export", seed_files["h5"], "-o", out, "--atol", "0", "--rtol", "0", "--no-bench")
    assert result.returncode == 3, result.stderr
    assert "parity check failed" in result.stderr and "max abs err" in result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [], "no partial folder may be left behind"

    result = run_pack(
        "export", seed_files["h5"], "-o", out, "--atol", "0", "--rtol", "0", "--no-bench", "--allow-mismatch"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "manifest.json").read_text())["parity"]["passed"] is False


def test_bad_inputs_exit_2_with_one_line(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not a model")
    for args in (["export", tmp_path / "missing.h5"], ["export", text], ["export", tmp_path, "--no-bench"]):
        result = run_pack(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("pack: error:")


def test_bad_option_exits_2(seed_files):
    result = run_pack("export", seed_files["h5"], "--device", "tpu")
    assert result.returncode == 2


def test_help_does_not_import_tensorflow_or_torch():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from packager.cli import app\n"
        'for args in (["--help"], ["export", "--help"]):\n'
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "heavy = [m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "pack"
    assert script.exists(), "pack console script missing: install the project (pip install -e .)"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "export" in result.stdout
