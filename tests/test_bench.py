"""`pack bench` and the extra formats: the rows, the chart, the folder update; no timing assertions."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from packager.formats import load_format
from packager.pipeline import ExportOptions, export_model
from tests.conftest import run_pack


@pytest.fixture(scope="module")
def seed_artifact(seed_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "seed"
    export_model(seed_files["keras"], ExportOptions(output_dir=out, bench=False))
    return out


def _rows(entry: dict) -> set[tuple[str, str, int]]:
    return {(r["runtime"], r["threads"], r["batch"]) for r in entry["rows"]}


def test_pack_bench_times_every_runtime_and_updates_the_folder(seed_artifact):
    result = run_pack("bench", seed_artifact, "--threads", "1", "--batch-sizes", "1,3", "--iters", "20", "--json")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)
    rows = _rows(entry)
    for batch in (1, 3):
        for runtime in ("torchscript", "eager torch", "keras (tf.function)"):
            assert (runtime, "1", batch) in rows, (runtime, batch, sorted(rows))
        assert ("onnxruntime (tf2onnx)", "1", batch) in rows or any("ONNX" in n for n in entry["notes"])
    for row in entry["rows"]:
        assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"], row
        assert row["throughput_per_s"] > 0 and row["iters"] >= 20
    manifest = json.loads((seed_artifact / "manifest.json").read_text())
    assert manifest["benchmark"] == entry
    assert (seed_artifact / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| keras (tf.function) | cpu | 1 | 3 |" in (seed_artifact / "report.md").read_text()


def test_pack_bench_without_the_source_model_still_times_the_artifact(seed_artifact, tmp_path):
    copy = tmp_path / "moved"
    shutil.copytree(seed_artifact, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["source"]["path"] = str(tmp_path / "gone.keras")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = run_pack("bench", copy, "--threads", "1", "--batch-sizes", "2", "--iters", "10", "--json")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)
    assert {r["runtime"] for r in entry["rows"]} >= {"torchscript"}
    assert not any(r["runtime"].startswith("keras") for r in entry["rows"])
    assert any("source model not found" in note for note in entry["notes"])


def test_pack_bench_rejects_a_folder_that_is_not_an_artifact(tmp_path):
    result = run_pack("bench", tmp_path)
    assert result.returncode == 2 and "not an artifact folder" in result.stderr
    result = run_pack("bench", tmp_path, "--batch-sizes", "1,x")
    assert result.returncode == 2


@pytest.mark.slow
def test_export_and_aoti_formats_are_written_checked_and_shape_safe(seed_files, tmp_path):
    out = tmp_path / "formats"
    result = run_pack(
        "export", seed_files["keras"], "-o", out, "--no-bench", "-q", "--format", "export", "--format", "aoti"
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    entries = {f["name"]: f for f in manifest["formats"]}
    assert set(entries) == {"export", "aoti"}
    stages = {r["stage"] for r in manifest["parity"]["tried"] if r["passed"]}
    assert {"export (reloaded)", "aoti (reloaded)"} <= stages
    for entry in entries.values():
        assert entry["dynamic_dims"] == [[0]], entry  # batch dynamic; (100, 3) static in the seed model
        module = load_format(entry, out)
        for batch in (1, 33):  # AOTInductor's own checks would refuse 33 (its bound is 15 here)
            assert tuple(module(torch.randn(batch, 100, 3)).shape) == (batch, 5)
        with pytest.raises(Exception, match="100|shape"):
            module(torch.randn(2, 50, 3))
