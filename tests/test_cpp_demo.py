"""cpp_demo/pack_infer: the artifact runs in C++ (LibTorch alone) and reproduces Keras's reference output.

cpp_demo is built once per test session into a fresh folder (as from a fresh clone) and run with a clean
environment (no LD_LIBRARY_PATH), so its RUNPATH must find LibTorch by itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from packager.cpp import BUILD_DIR_ENV, build_demo, build_fingerprint, torch_cmake_prefix
from packager.export import MODEL_NAME, load_reference, load_torchscript, save_reference
from packager.pipeline import ExportOptions, export_model
from packager.validate import compare

pytestmark = pytest.mark.slow

ITERS = "20"
CLEAN_ENV_KEYS = ("PATH", "HOME", "TMPDIR", "LANG")


def clean_env(**extra: str) -> dict[str, str]:
    """The variables a shell user has, without LD_LIBRARY_PATH / LD_PRELOAD or anything torch-specific."""
    return {k: os.environ[k] for k in CLEAN_ENV_KEYS if k in os.environ} | extra


@pytest.fixture(scope="session")
def cpp_build(tmp_path_factory) -> Path:
    """A cold build of cpp_demo; the folder is what `pack cpp` finds through PACKAGER_CPP_BUILD_DIR."""
    if shutil.which("cmake") is None or shutil.which("c++") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must build cpp_demo, but cmake or c++ is not on PATH")
        pytest.skip("cmake or a C++ compiler is not on PATH")
    build_dir = tmp_path_factory.mktemp("cpp-build")
    build_demo(build_dir)
    return build_dir


@pytest.fixture(scope="session")
def pack_infer(cpp_build) -> Path:
    return cpp_build / "pack_infer"


def export_quietly(model_path: Path, output_dir: Path) -> Path:
    export_model(model_path, ExportOptions(output_dir=output_dir, bench=False))
    return output_dir


@pytest.fixture(scope="module")
def seed_artifact(seed_files, tmp_path_factory) -> Path:
    return export_quietly(seed_files["keras"], tmp_path_factory.mktemp("cpp") / "seed")


def two_input_three_output_model():
    """Inputs (sequence of dynamic length, vector); outputs in an order unlike the inputs' order.

    sequence -> Conv1D(same) -> LSTM -> {Dense softmax "seq_class", Dense "seq_score"};
    vector -> Dense relu -> Dense "vec_out". Keras outputs: [vec_out, seq_class, seq_score].
    """
    import keras
    from keras import layers as L

    sequence = keras.Input((None, 4), name="sequence")
    vector = keras.Input((6,), name="vector")
    h = L.Conv1D(8, 3, padding="same", activation="relu", name="conv")(sequence)
    h = L.LSTM(10, name="lstm")(h)
    seq_class = L.Dense(3, activation="softmax", name="seq_class")(h)
    seq_score = L.Dense(1, name="seq_score")(h)
    v = L.Dense(12, activation="relu", name="vec_hidden")(vector)
    vec_out = L.Dense(2, name="vec_out")(v)
    return keras.Model([sequence, vector], [vec_out, seq_class, seq_score], name="two_in_three_out")


@pytest.fixture(scope="module")
def multi_artifact(tmp_path_factory) -> Path:
    from tests.helpers import randomize_weights

    model = two_input_three_output_model()
    randomize_weights(model, seed=4)
    folder = tmp_path_factory.mktemp("cpp-multi")
    model.save(folder / "two_in_three_out.keras")
    return export_quietly(folder / "two_in_three_out.keras", folder / "artifact")


def run_pack_infer(executable: Path, artifact: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(executable), str(artifact), "--iters", ITERS, "--threads", "1", *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )


def reported(stdout: str, key: str) -> float:
    match = re.search(rf"\b{key}=(\S+)", stdout)
    assert match, f"no {key}= in pack_infer's output:\n{stdout}"
    return float(match.group(1))


def python_max_abs_err(artifact: Path) -> float:
    """What Python's torch.jit.load computes on the same reference sample, with one thread as in C++."""
    import torch

    module, manifest = load_torchscript(artifact / MODEL_NAME)
    inputs, expected = load_reference(artifact)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            result = module(*(torch.from_numpy(x) for x in inputs))
    finally:
        torch.set_num_threads(threads)
    got = [t.numpy() for t in (result if isinstance(result, tuple) else (result,))]
    max_abs, _, passed, note = compare(expected, got, manifest["parity"]["atol"], manifest["parity"]["rtol"])
    assert passed, f"Python itself misses the reference: max abs err {max_abs:.3g} {note or ''}"
    return max_abs


def assert_matches_keras_and_python(result: subprocess.CompletedProcess, artifact: Path) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    cpp_err = reported(result.stdout, "max_abs_err")
    py_err = python_max_abs_err(artifact)
    assert cpp_err <= 1e-5, f"C++ max abs err vs Keras {cpp_err:.3g} > 1e-5"
    assert cpp_err == pytest.approx(py_err, rel=1e-6, abs=1e-12), f"C++ {cpp_err!r} vs Python {py_err!r}"
    p50, p90 = reported(result.stdout, "p50_us"), reported(result.stdout, "p90_us")
    assert 0 < p50 <= p90, f"p50_us={p50} p90_us={p90}"


def test_seed_artifact_runs_in_cpp(pack_infer, seed_artifact):
    result = run_pack_infer(pack_infer, seed_artifact)
    assert "input  0: signal [?, 100, 3] float32" in result.stdout, result.stdout
    assert "output 0: classes [?, 5] float32" in result.stdout, result.stdout
    assert "threads=1" in result.stdout, result.stdout
    assert_matches_keras_and_python(result, seed_artifact)


def test_multi_input_multi_output_artifact_runs_in_cpp(pack_infer, multi_artifact):
    result = run_pack_infer(pack_infer, multi_artifact)
    declared = re.findall(r"^(input|output) +(\d): (\S+) (\[.*?\]) (\S+)$", result.stdout, flags=re.M)
    assert declared == [
        ("input", "0", "sequence", "[?, ?, 4]", "float32"),
        ("input", "1", "vector", "[?, 6]", "float32"),
        ("output", "0", "vec_out", "[?, 2]", "float32"),
        ("output", "1", "seq_class", "[?, 3]", "float32"),
        ("output", "2", "seq_score", "[?, 1]", "float32"),
    ], result.stdout
    assert_matches_keras_and_python(result, multi_artifact)


def truncated_copy(artifact: Path, destination: Path) -> Path:
    shutil.copytree(artifact, destination)
    model = destination / MODEL_NAME
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])  # an interrupted copy
    return destination


def test_corrupted_model_exits_2_with_one_line(pack_infer, seed_artifact, tmp_path):
    broken = truncated_copy(seed_artifact, tmp_path / "broken")
    result = run_pack_infer(pack_infer, broken)
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pack_infer: error: cannot load "), result.stderr


def test_wrong_reference_exits_1(pack_infer, seed_artifact, tmp_path):
    """A reference that the model does not reproduce: the tolerance check must say so."""
    shifted = tmp_path / "shifted"
    shutil.copytree(seed_artifact, shifted)
    inputs, outputs = load_reference(seed_artifact)
    save_reference(shifted, inputs, [y + np.float32(0.5) for y in outputs])
    result = run_pack_infer(pack_infer, shifted)
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert reported(result.stdout, "max_abs_err") == pytest.approx(0.5, abs=1e-5)
    assert "OUTSIDE tolerance" in result.stdout


def test_manifest_reader_takes_what_json_dumps_writes(pack_infer, seed_artifact, tmp_path):
    """Escapes, non-ASCII names and NaN/Infinity (json.dumps writes them) reach C++ intact."""
    import torch

    edited = tmp_path / "edited"
    shutil.copytree(seed_artifact, edited)
    module, manifest = load_torchscript(edited / MODEL_NAME)
    manifest["model_name"] = 'se\u00f1al "q"\\t\u4e2d'
    manifest["parity"]["max_rel_err"] = float("nan")
    manifest["extra"] = [float("inf"), -float("inf"), None, True, False, {"nested": [1e-7, -2]}]
    torch.jit.save(module, str(edited / MODEL_NAME), _extra_files={"manifest.json": json.dumps(manifest)})
    result = run_pack_infer(pack_infer, edited)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert 'model se\u00f1al "q"\\t\u4e2d, exported' in result.stdout, result.stdout


def test_bad_options_exit_2(pack_infer, seed_artifact):
    for args in (["--iters", "0"], ["--device", "tpu"], ["--bogus"]):
        result = run_pack_infer(pack_infer, seed_artifact, *args)
        assert result.returncode == 2, f"{args}: exit {result.returncode}\n{result.stderr}"
        assert result.stderr.startswith("pack_infer: error: "), result.stderr


def run_pack_cpp(build_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "packager", "cpp", *map(str, args)],
        capture_output=True,
        text=True,
        env=clean_env(**{BUILD_DIR_ENV: str(build_dir)}),
        timeout=600,
    )


def test_pack_cpp_uses_the_cached_build_and_passes_exit_codes(cpp_build, seed_artifact, tmp_path):
    ok = run_pack_cpp(cpp_build, seed_artifact, "--iters", "5", "--threads", "1")
    assert ok.returncode == 0, f"exit {ok.returncode}\n{ok.stdout}\n{ok.stderr}"
    assert reported(ok.stdout, "max_abs_err") <= 1e-5
    assert "building" not in ok.stderr, f"rebuilt although the build is current: {ok.stderr}"

    broken = run_pack_cpp(cpp_build, truncated_copy(seed_artifact, tmp_path / "broken"))
    assert broken.returncode == 2, f"exit {broken.returncode}\n{broken.stderr}"
    assert "pack_infer: error: cannot load" in broken.stderr

    missing = run_pack_cpp(cpp_build, tmp_path / "nowhere")
    assert missing.returncode == 2, f"exit {missing.returncode}\n{missing.stderr}"
    assert missing.stderr.strip().splitlines() == [
        f"pack: error: {tmp_path / 'nowhere'}: no model.pt there; pass the folder that pack export wrote"
    ]


def test_fingerprint_follows_the_sources(tmp_path):
    """A cached build is reused only while cpp_demo's sources are unchanged."""
    from packager.cpp import CPP_DEMO_DIR

    sources = tmp_path / "cpp_demo"
    shutil.copytree(CPP_DEMO_DIR, sources, ignore=shutil.ignore_patterns("build"))
    prefix = torch_cmake_prefix()
    before = build_fingerprint(sources, prefix)
    assert build_fingerprint(sources, prefix) == before
    (sources / "main.cpp").write_text((sources / "main.cpp").read_text() + "\n// changed\n")
    assert build_fingerprint(sources, prefix) != before
