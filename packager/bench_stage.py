"""The benchmark stage shared by `pack export` and `pack bench`: which runtimes, how, and the chart."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import torch

from packager.bench import DEFAULT_BATCH_SIZES, BenchResult, Row, Runtime, run_interleaved, torch_runtime
from packager.graph import ModelGraph

CHART_NAME = "latency.png"


def keras_runtime(keras_model, threads_label: str) -> Runtime:
    from packager.keras_loader import keras_timed_call

    return Runtime("keras (tf.function)", keras_timed_call(keras_model), "cpu", threads_label)


def benchmark(
    scripted: torch.nn.Module,
    graph: ModelGraph,
    *,
    eager: torch.nn.Module | None = None,
    keras_model=None,
    keras_threads: int | None = None,
    formats: dict[str, torch.nn.Module] | None = None,
    thread_counts: tuple[int | None, ...] = (1, None),
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES,
    iters: int = 200,
    device: str = "cpu",
    compare_onnx: bool = True,
    log: Callable[[str], None] = lambda _: None,
) -> BenchResult:
    """Interleaved rows for every runtime available in this process, per thread count.

    `keras_threads`: the thread count TensorFlow was pinned to (None: its default), so Keras runs in
    the matching session and its row says what it ran with.
    """
    notes: list[str] = []
    onnx_model = _onnx_model(keras_model, graph, notes, log) if keras_model is not None and compare_onnx else None
    rows: list[Row] = []
    default_threads = torch.get_num_threads()
    try:
        for threads in thread_counts:
            runtimes = [torch_runtime("torchscript", scripted, threads, default_threads=default_threads)]
            if eager is not None:
                runtimes.append(torch_runtime("eager torch", eager, threads, default_threads=default_threads))
            runtimes += [
                torch_runtime(name, module, threads, default_threads=default_threads)
                for name, module in (formats or {}).items()
            ]
            if onnx_model is not None:
                from packager.onnx_compare import onnx_runtime

                runtimes.append(onnx_runtime(onnx_model, threads or default_threads))
            if keras_model is not None and threads == keras_threads:
                label = str(threads) if threads else f"default ({os.cpu_count()})"
                runtimes.append(keras_runtime(keras_model, label))
            log(f"timing {', '.join(r.name for r in runtimes)} with {threads or 'default'} thread(s)")
            rows += run_interleaved(runtimes, graph, batch_sizes, iters)
        if device == "cuda" or torch.cuda.is_available():
            torch.backends.cuda.matmul.allow_tf32 = False  # parity first: no TF32 shortcuts
            torch.backends.cudnn.allow_tf32 = False
            rows += run_interleaved(
                [torch_runtime("torchscript", scripted.to("cuda"), None, "cuda")], graph, batch_sizes, iters
            )
            scripted.to("cpu")
    finally:
        torch.set_num_threads(default_threads)
    notes.append(
        "Per-call latency on pre-made inputs after warm-up; runtimes interleaved in rounds; "
        "torch threads pinned per row."
    )
    if keras_model is not None and keras_threads is None:
        notes.append("Keras runs with TensorFlow's default threads (it cannot be re-pinned once started).")
    return BenchResult(rows, notes)


def _onnx_model(keras_model, graph: ModelGraph, notes: list[str], log) -> bytes | None:
    from packager.onnx_compare import MISSING_NOTE, onnx_available, onnx_bytes

    if not onnx_available():
        notes.append(MISSING_NOTE)
        return None
    try:
        log("converting the Keras model with tf2onnx for the ONNX Runtime comparison")
        return onnx_bytes(keras_model, graph)
    except Exception as exc:  # tf2onnx fails on many graphs; the comparison is optional
        notes.append(f"ONNX Runtime not compared: tf2onnx failed ({str(exc).strip().splitlines()[0][:160]})")
        return None


def pack_infer_rows(directory: Path, threads: int | None, iters: int) -> list[Row]:
    """Rows from the C++ demo when it is already built (at the reference sample's batch size)."""
    from packager.cpp import default_build_dir

    binary = default_build_dir() / "pack_infer"
    if not binary.exists():
        return []
    command = [str(binary), str(directory), "--iters", str(iters)]
    if threads:
        command += ["--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    found = {k: float(v) for k, v in re.findall(r"(p50_us|p90_us|p99_us)=([0-9.eE+-]+)", done.stdout)}
    if done.returncode != 0 or "p50_us" not in found:
        return []
    manifest = json.loads((directory / "manifest.json").read_text())
    batch = int(manifest["reference"]["inputs"][0]["shape"][0])
    p50, p90 = found["p50_us"] / 1e3, found["p90_us"] / 1e3
    label = str(threads) if threads else "default"
    return [
        Row(
            "pack_infer (C++)",
            "cpu",
            label,
            batch,
            p50,
            p90,
            found.get("p99_us", p90 * 1e3) / 1e3,
            batch / (p50 / 1e3),
            iters,
        )
    ]


def write_chart(rows: list[dict], path: Path, title: str) -> None:
    """Grouped bars: p50 latency per runtime and thread count, one group per batch size (p90 as whisker)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batches = sorted({r["batch"] for r in rows})
    series = sorted({(r["runtime"], r["device"], r["threads"]) for r in rows})
    fig, axes = plt.subplots(1, len(batches), figsize=(4 + 3 * len(batches), 4.5), squeeze=False)
    for ax, batch in zip(axes[0], batches):
        present = [
            (s, r)
            for s in series
            for r in rows
            if (r["runtime"], r["device"], r["threads"]) == s and r["batch"] == batch
        ]
        labels = [f"{s[0]}\n{s[1]}, {s[2]} thr" for s, _ in present]
        p50 = [r["p50_ms"] for _, r in present]
        above = [max(r["p90_ms"] - r["p50_ms"], 0.0) for _, r in present]
        whiskers = [[0.0] * len(present), above]  # from p50 up to p90 only
        ax.barh(range(len(present)), p50, xerr=whiskers, color="#4C72B0", ecolor="#333333")
        ax.set_yticks(range(len(present)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("latency per call, ms (bar p50, whisker p90)")
        ax.set_title(f"batch {batch}")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def benchmark_artifact(
    directory: Path,
    *,
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES,
    threads: int | None = None,
    device: str = "cpu",
    iters: int = 200,
    keras_path: Path | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> dict:
    """`pack bench`: time the artifact beside every other runtime available, update its folder.

    Keras, the eager torch module and ONNX Runtime need the source model: `keras_path`, else the path
    the manifest recorded at export (used only if its sha256 still matches).
    """
    from packager.errors import InputError
    from packager.export import MANIFEST_NAME, MODEL_NAME, load_torchscript
    from packager.formats import load_format

    directory = Path(directory)
    if not (directory / MODEL_NAME).is_file() or not (directory / MANIFEST_NAME).is_file():
        raise InputError(f"{directory}: not an artifact folder (needs {MODEL_NAME} and {MANIFEST_NAME})")
    manifest = json.loads((directory / MANIFEST_NAME).read_text())
    scripted, _ = load_torchscript(directory / MODEL_NAME)
    formats = {f["name"]: load_format(f, directory) for f in manifest.get("formats") or []}

    graph, keras_model, eager, notes = _graph_from_manifest(manifest), None, None, []
    source = _source_path(manifest, keras_path, notes)
    if source is not None:
        from packager import keras_loader
        from packager.assemble import convert

        if threads:
            keras_loader.pin_tensorflow_threads(threads)
        log(f"loading {source} for the Keras and eager-torch rows")
        loaded = keras_loader.load_model(source)
        graph, keras_model, eager = loaded.graph, loaded.keras_model, convert(loaded.graph).module
    result = benchmark(
        scripted,
        graph,
        eager=eager,
        keras_model=keras_model,
        keras_threads=threads,
        formats=formats,
        thread_counts=(threads,) if threads else (1, None),
        batch_sizes=batch_sizes,
        iters=iters,
        device=device,
        log=log,
    )
    result.rows += pack_infer_rows(directory, threads, iters)
    benchmark_entry = result.to_dict()
    benchmark_entry["notes"] = notes + benchmark_entry["notes"]
    write_chart(benchmark_entry["rows"], directory / CHART_NAME, f"{manifest.get('model_name', '')}: latency per call")
    benchmark_entry["chart"] = CHART_NAME
    manifest["benchmark"] = benchmark_entry
    from packager.report import render

    _write_atomically(directory / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    _write_atomically(directory / "report.md", render(manifest))
    return benchmark_entry


def _source_path(manifest: dict, keras_path: Path | None, notes: list[str]) -> Path | None:
    import hashlib

    source = manifest.get("source", {})
    path = Path(keras_path) if keras_path else (Path(source["path"]) if source.get("path") else None)
    if path is None or not path.is_file():
        notes.append("Keras, eager torch and ONNX Runtime not compared: source model not found (pass --keras MODEL)")
        return None
    if keras_path is None and hashlib.sha256(path.read_bytes()).hexdigest() != source.get("sha256"):
        notes.append(f"Keras not compared: {path} changed since the export (pass --keras MODEL to use it anyway)")
        return None
    return path


def _graph_from_manifest(manifest: dict) -> ModelGraph:
    """Enough of a graph to make benchmark inputs: the declared inputs (no layers)."""
    from packager.graph import TensorSpec

    inputs = [TensorSpec(i["name"], tuple(i["shape"]), i["dtype"]) for i in manifest["inputs"]]
    return ModelGraph(manifest.get("model_name", "model"), {}, [], inputs, [])
