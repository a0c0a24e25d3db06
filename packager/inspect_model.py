"""`pack inspect`: what a model file holds and what packager would make of it, running none of its code.

For every layer: class, output shape, parameter counts (Keras and torch), whether it converts and why
not. Steps, each safe:
1. read the file and normalize its config (`reader`, `legacy`: plain JSON and arrays);
2. list the layers from the config, marking Python code (`safety.find_code`), custom classes and
   classes without a converter;
3. only when the file holds no code and no custom class: let Keras build the model from the config
   (safe mode; every class is a Keras built-in, so only Keras's own code runs) for output shapes and
   Keras parameter counts, and convert each supported layer alone for its torch module and count.
When step 3 is impossible (Lambda, custom or unknown class) the listing comes from the config alone,
with shapes unknown, instead of failing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from torch import nn

from packager.converters.registry import STRUCTURAL, UnsupportedOption, convert_layer, get_converter
from packager.errors import BadModelFile, about_file, one_line
from packager.keras_config import is_custom_entry, iter_layers
from packager.legacy import normalize, semantics_for
from packager.reader import RawModel, read_model_file
from packager.safety import find_code


@dataclass
class LayerInfo:
    name: str
    class_name: str
    supported: bool
    reason: str | None = None  # why not, when not supported
    output_shape: list | None = None  # None: unknown (Keras could not build the model)
    keras_params: int | None = None
    torch_params: int | None = None
    torch_module: str | None = None


@dataclass
class Inspection:
    file: str
    format: str
    keras_version: str | None
    model_name: str | None
    normalizations: list[str]
    layers: list[LayerInfo]
    inputs: list[dict] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    weights_fit: bool | None = None  # the file's weights load into the model (None: not tried)
    notes: list[str] = field(default_factory=list)

    @property
    def convertible(self) -> bool:
        return all(layer.supported for layer in self.layers) and self.weights_fit is not False

    def to_dict(self) -> dict:
        return {**asdict(self), "convertible": self.convertible}


def _static_reasons(config: dict) -> dict[str, str]:
    """Layer name -> why it cannot convert, from the config alone: code, custom class, no converter."""
    reasons: dict[str, str] = {}
    for name, what in find_code(config):
        reasons.setdefault(name, f"Python code ({what}); never run")
    for name, class_name, entry in iter_layers(config):
        if name in reasons or class_name in STRUCTURAL:
            continue
        if is_custom_entry(entry):
            reasons[name] = "custom layer, not part of Keras"
        elif get_converter(class_name) is None:
            reasons[name] = "no converter"
    return reasons


def _raw_hdf5_params(raw: RawModel, name: str) -> int | None:
    stored = raw.layer_weights.get(name.rsplit("/", 1)[-1]) if raw.format == "hdf5" else None
    return None if stored is None else int(sum(array.size for _, array in stored))


def _from_config(raw: RawModel, config: dict, reasons: dict[str, str]) -> list[LayerInfo]:
    return [
        LayerInfo(
            name=name,
            class_name=class_name,
            supported=name not in reasons,
            reason=reasons.get(name),
            keras_params=_raw_hdf5_params(raw, name),
        )
        for name, class_name, _ in iter_layers(config)
        if class_name not in STRUCTURAL
    ]


def _torch_side(spec) -> tuple[bool, str | None, int | None, str | None]:
    """(supported, reason, torch params, torch module) from converting this one layer."""
    from packager.pipeline import describe_module

    try:
        converted = convert_layer(spec)
    except UnsupportedOption as exc:
        return False, str(exc), None, None
    except Exception as exc:  # a report lists a converter's failure on one layer instead of stopping
        return False, f"converter failed: {type(exc).__name__}: {one_line(exc, 200)}", None, None
    module = converted.module
    params = sum(p.numel() for p in module.parameters())
    return True, None, int(params), describe_module(None if isinstance(module, nn.Identity) else module)


def _from_keras(graph, reasons: dict[str, str]) -> list[LayerInfo]:
    rows = []
    for name, spec in graph.layers.items():
        shape = spec.output_shapes[0] if len(spec.output_shapes) == 1 else spec.output_shapes
        row = LayerInfo(name, spec.class_name, True, output_shape=list(shape), keras_params=spec.param_count())
        if name in reasons or get_converter(spec.class_name) is None:
            row.supported, row.reason = False, reasons.get(name, "no converter")
        else:
            row.supported, row.reason, row.torch_params, row.torch_module = _torch_side(spec)
        rows.append(row)
    return rows


def _tensors(specs) -> list[dict]:
    return [{"name": s.name, "shape": list(s.shape), "dtype": s.dtype} for s in specs]


def inspect_model(path: Path) -> Inspection:
    """Describe the model in `path`; raises BadModelFile only when the file cannot be read at all."""
    path = Path(path)
    with about_file(path):
        raw = read_model_file(path)
        normalized = normalize(raw)
    config = normalized.config
    reasons = _static_reasons(config)
    report = Inspection(
        file=str(path),
        format=raw.format,
        keras_version=raw.keras_version,
        model_name=str(config.get("config", {}).get("name")) if isinstance(config.get("config"), dict) else None,
        normalizations=normalized.applied,
        layers=[],
    )
    blocked = sorted({why for why in reasons.values() if why != "no converter"})
    if blocked:
        report.notes.append("not built with Keras (the file holds code or custom classes): shapes unknown")
        report.layers = _from_config(raw, config, reasons)
        return report

    from packager import keras_loader  # TensorFlow: only now that nothing but Keras's own classes is built

    try:
        model = keras_loader.build_keras_model(config, raw)
    except BadModelFile as exc:
        report.notes.append(str(exc).removeprefix(f"{path}: "))
        report.layers = _from_config(raw, config, reasons)
        return report
    try:
        keras_loader.load_weights(model, raw, normalized.weights)
        report.weights_fit = True
    except BadModelFile as exc:
        report.weights_fit = False
        report.notes.append(str(exc).removeprefix(f"{path}: ") + " (counts below are from the config)")
    graph = keras_loader.describe(model, semantics_for(raw))
    report.model_name = graph.name
    report.inputs, report.outputs = _tensors(graph.inputs), _tensors(graph.outputs)
    report.layers = _from_keras(graph, reasons)
    return report


def _cell(value) -> str:
    if value is None:
        return "?"
    if isinstance(value, list):
        return "(" + ", ".join("None" if d is None else str(d) for d in value) + ")"
    return str(value)


def render_text(report: Inspection) -> str:
    """A plain table for people; `--json` gives `Inspection.to_dict()` for machines."""
    lines = [
        f"{report.file}: {report.format}, written by Keras {report.keras_version or 'unknown'}"
        + (f", model {report.model_name!r}" if report.model_name else ""),
        "legacy normalizations: " + (", ".join(report.normalizations) or "none"),
    ]
    lines += [f"input  {t['name']}: {_cell(t['shape'])} {t['dtype']}" for t in report.inputs]
    lines += [f"output {t['name']}: {_cell(t['shape'])} {t['dtype']}" for t in report.outputs]
    header = ("layer", "class", "output shape", "keras params", "torch params", "converts")
    rows = [
        (
            layer.name,
            layer.class_name,
            _cell(layer.output_shape),
            _cell(layer.keras_params),
            _cell(layer.torch_params),
            (f"yes: {layer.torch_module}" if layer.torch_module else "yes")
            if layer.supported
            else f"no: {layer.reason}",
        )
        for layer in report.layers
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    supported = sum(layer.supported for layer in report.layers)
    verdict = "converts" if report.convertible else "does not convert"
    if report.weights_fit is False:
        verdict += " (its weights do not fit its config)"
    lines.append(f"{supported} of {len(report.layers)} layers supported: the model {verdict}")
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)
