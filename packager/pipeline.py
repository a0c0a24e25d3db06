"""`pack export` as a library function: load, convert, validate, script, save, benchmark, report."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from packager import __version__
from packager.assemble import ConvertedModel, convert
from packager.atomic import check_output_dir, staged_directory
from packager.codegen import SOURCE_NAME, export_source, load_generated
from packager.errors import InputError, ParityError, about_file, one_line
from packager.export import (
    MANIFEST_NAME,
    MODEL_NAME,
    load_torchscript,
    save_reference,
    save_torchscript,
    to_torchscript,
)
from packager.graph import ModelGraph
from packager.reader import sniff_format
from packager.runtime import numpy_runner, to_tensors
from packager.validate import DEFAULT_ATOL, DEFAULT_RTOL, Parity, check_stage, keras_reference

REPORT_NAME = "report.md"


@dataclass
class ExportOptions:
    output_dir: Path | None = None
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL
    bench: bool = True
    device: str = "cpu"
    allow_mismatch: bool = False
    formats: tuple[str, ...] = ()  # extra formats beside model.pt: "export", "aoti"
    plugins: tuple[Path, ...] = ()  # --plugin files: custom Keras layers and their converters


@dataclass
class ExportResult:
    directory: Path
    manifest: dict
    report: str


def default_output_dir(model_path: Path) -> Path:
    return Path("artifacts") / Path(model_path).stem


def check_device(device: str) -> None:
    if device not in ("cpu", "cuda"):
        raise InputError(f"--device must be cpu or cuda, not {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available to torch on this machine")


def tensor_entries(specs) -> list[dict]:
    return [{"name": s.name, "shape": list(s.shape), "dtype": s.dtype} for s in specs]


def describe_module(module: torch.nn.Module | None) -> str:
    """ "Conv1d + ReLU" for a Sequential, the class name otherwise."""
    if module is None:
        return "— (identity at inference)"
    if isinstance(module, torch.nn.Sequential):
        return " + ".join(type(child).__name__ for child in module)
    return type(module).__name__


def layer_rows(graph: ModelGraph, converted: ConvertedModel) -> list[dict]:
    rows = []
    for name, spec in graph.layers.items():
        attr = converted.attributes.get(name)
        module = converted.module.get_submodule(attr) if attr else None
        rows.append(
            {
                "name": name,
                "class_name": spec.class_name,
                "output_shape": str(spec.output_shapes[0] if len(spec.output_shapes) == 1 else spec.output_shapes),
                "keras_params": spec.param_count(),
                "torch_module": describe_module(module),
                "torch_params": sum(p.numel() for p in module.parameters()) if module is not None else 0,
                "layout": converted.layouts.get(name),
            }
        )
    return rows


def parity_message(path: Path, parity: Parity, diagnosis: str | None = None) -> str:
    """The parity error: the worst case's errors, the first diverging layer (see diagnose.py), what to do."""
    worst = max(parity.failures(), key=lambda r: r.max_abs_err)
    where = f"stage {worst.stage}, batch {worst.batch}" + (f", length {worst.seq_len}" if worst.seq_len else "")
    detail = f" ({worst.note})" if worst.note else ""
    return (
        f"{path}: parity check failed: max abs err {worst.max_abs_err:.3g}, max rel err {worst.max_rel_err:.3g} "
        f"at {where}{detail}; tolerance atol {parity.atol:g}, rtol {parity.rtol:g}"
        + (f"; {diagnosis}" if diagnosis else "")
        + " (--allow-mismatch writes the artifact anyway)"
    )


def export_model(model_path: Path, options: ExportOptions, log: Callable[[str], None] = lambda _: None) -> ExportResult:
    """Run every stage; raise a PackagerError (nothing written) on bad input or failed parity."""
    model_path = Path(model_path)
    target = Path(options.output_dir) if options.output_dir else default_output_dir(model_path)
    sniff_format(model_path)  # a missing or non-model file fails at once, before TensorFlow loads
    check_output_dir(target, model_path)
    check_device(options.device)
    from packager import keras_loader  # TensorFlow is imported here, not at CLI start-up

    plugins = []
    if options.plugins:
        from packager.plugins import load_plugins

        log("loading plugins " + ", ".join(map(str, options.plugins)))
        plugins = load_plugins(options.plugins)
    log(f"loading {model_path}")
    with about_file(model_path):  # every error names the model file
        loaded = keras_loader.load_model(model_path)
    graph = loaded.graph
    log(f"converting {len(graph.layers)} layers")
    with about_file(model_path):
        converted = convert(graph)

    log("validating against Keras")
    reference = keras_reference(graph, lambda xs: keras_loader.keras_predict(loaded.keras_model, xs))
    parity = Parity(options.atol, options.rtol)
    check_stage("eager", numpy_runner(converted.module), reference, parity)
    scripted = to_torchscript(converted.module, to_tensors(reference.inputs[-1]))
    check_stage(f"torchscript ({scripted.method})", numpy_runner(scripted.module), reference, parity)

    with staged_directory(target) as stage:
        model_file = stage / MODEL_NAME
        save_torchscript(scripted.module, model_file, {})
        reloaded, _ = load_torchscript(model_file)
        check_stage("reloaded", numpy_runner(reloaded), reference, parity)
        if options.device == "cuda":
            check_stage("reloaded (cuda)", numpy_runner(reloaded.to("cuda"), "cuda"), reference, parity)
            reloaded.to("cpu")
        log(f"writing {SOURCE_NAME} and its weights")
        pytorch_source = export_source(converted, graph, stage, to_tensors(reference.inputs[-1]), model_path.name)
        if pytorch_source["file"]:
            check_stage(SOURCE_NAME, numpy_runner(load_generated(stage)), reference, parity)
        else:
            log(f"no {SOURCE_NAME}: {pytorch_source['error']}")
        extra_formats, format_modules = write_extra_formats(
            options.formats, converted, graph, reference, stage, parity, log
        )
        if not parity.passed:
            from packager.diagnose import diagnose_parity

            diagnosis = diagnose_parity(graph, converted, reference, parity, loaded_layer_outputs(loaded, keras_loader))
            if not options.allow_mismatch:
                raise ParityError(parity_message(model_path, parity, diagnosis))
            log(f"parity failed, writing the artifact anyway (--allow-mismatch): {diagnosis}")

        benchmark = None
        if options.bench:
            log("benchmarking")
            benchmark = run_benchmark(reloaded, graph, converted.module, loaded.keras_model, format_modules, stage, log)

        sample = len(reference.cases) - 1  # the larger batch, so batching bugs show in C++ too
        manifest = {
            "format_version": 1,
            "packager_version": __version__,
            "torch_version": torch.__version__,
            "keras_version_used": keras_loader.keras_version(),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "source": {
                "file": model_path.name,
                "path": str(model_path.resolve()),
                "sha256": loaded.raw.sha256,
                "format": loaded.raw.format,
                "keras_version": loaded.raw.keras_version,
                "normalizations": loaded.normalizations,
                "plugins": plugins,
            },
            "model_name": graph.name,
            "inputs": tensor_entries(graph.inputs),
            "outputs": tensor_entries(graph.outputs),
            "export": {"format": "torchscript", "file": MODEL_NAME, "method": scripted.method, "note": scripted.note},
            "formats": extra_formats,
            "pytorch_source": pytorch_source,
            "parity": parity.to_dict(),
            "reference": save_reference(stage, reference.inputs[sample], reference.outputs[sample]),
            "benchmark": benchmark,
            "layers": layer_rows(graph, converted),
        }
        save_torchscript(scripted.module, model_file, manifest)
        _, embedded = load_torchscript(model_file)
        if embedded != json.loads(json.dumps(manifest)):
            raise RuntimeError("embedded manifest did not round-trip")
        (stage / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        from packager.report import render

        report = render(manifest)
        (stage / REPORT_NAME).write_text(report)
    log(f"wrote {target}")
    return ExportResult(directory=target, manifest=manifest, report=report)


def write_extra_formats(
    names, converted: ConvertedModel, graph: ModelGraph, reference, stage: Path, parity: Parity, log
) -> tuple[list[dict], dict]:
    """Write each requested format, reload it and check it on the cases its shapes allow."""
    from packager.formats import load_format, write_format

    entries, modules = [], {}
    example = to_tensors(reference.inputs[-1])  # the larger batch: batch 1 would be specialized
    input_names = [spec.name for spec in graph.inputs]
    for name in names:
        log(f"writing the {name} format")
        try:
            produced = write_format(name, converted.module, graph, example, stage)
        except Exception as exc:
            raise InputError(f"--format {name}: torch could not produce it for this model: {one_line(exc)}") from exc
        module = load_format(asdict(produced), stage)
        cases = reference.matching(produced.fixed_dims, input_names)
        check_stage(f"{name} (reloaded)", numpy_runner(module), cases, parity)
        entries.append(asdict(produced))
        modules[name] = module
    return entries, modules


def loaded_layer_outputs(loaded, keras_loader):
    """inputs -> every Keras layer's outputs, for the layer-by-layer parity diagnosis."""
    return lambda inputs: keras_loader.keras_layer_outputs(loaded.keras_model, inputs)


def run_benchmark(
    scripted, graph: ModelGraph, eager, keras_model, formats: dict, directory: Path, log: Callable[[str], None]
) -> dict:
    """The benchmark stage of `pack export`: every runtime available here, then the chart."""
    from packager.bench_stage import CHART_NAME, benchmark, write_chart

    result = benchmark(scripted, graph, eager=eager, keras_model=keras_model, formats=formats, log=log).to_dict()
    write_chart(result["rows"], directory / CHART_NAME, f"{graph.name}: latency per call")
    result["chart"] = CHART_NAME
    return result
