"""A Triton Inference Server model repository for an artifact: REPO/<name>/config.pbtxt and REPO/<name>/1/model.pt.

Triton's PyTorch (libtorch) backend runs the artifact's TorchScript model.pt unchanged. config.pbtxt
follows Triton's ModelConfig schema (model_config.proto):

- `backend: "pytorch"`, the spelling Triton's docs use now (`platform: "pytorch_libtorch"` is the
  older one, which the server fills in itself).
- Tensors are named `<Keras name>__<position>`. TorchScript keeps no names for a tuple's items, so
  the backend reads the position after `__` (its NAMED_INDEX convention, accepted for inputs and
  outputs alike); it finds the first `__`, so the name part never contains one.
- Data types from the manifest: float32 -> TYPE_FP32, int32 -> TYPE_INT32, and so on.
- Dims from the manifest: with max_batch_size > 0 Triton prepends the batch axis itself, so dims
  leave it out; -1 marks every other dynamic dimension (a variable sequence length). A tensor that
  is only (batch,) is declared as dims [1] reshaped to [], since Triton requires non-empty dims.
- `dynamic_batching` when batching is on: Triton joins concurrent requests into one forward call
  up to max_batch_size; the queue delay starts at 0 (batch only what is already waiting), the
  starting point Triton's batcher guide recommends before measuring.
- `instance_group`: `count` instances of kind AUTO (GPU when the server has one, CPU otherwise).
- `INFERENCE_MODE: "true"`: the model is inference-only, so autograd bookkeeping is skipped.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from packager.atomic import staged_directory
from packager.errors import InputError

CONFIG_NAME = "config.pbtxt"
VERSION = "1"
MODEL_FILE = "model.pt"  # the PyTorch backend's default_model_filename
DEFAULT_MAX_BATCH_SIZE = 32

# Manifest dtype -> Triton DataType (model_config.proto).
TRITON_TYPES = {
    "bool": "TYPE_BOOL",
    "uint8": "TYPE_UINT8",
    "int8": "TYPE_INT8",
    "int16": "TYPE_INT16",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "float16": "TYPE_FP16",
    "float32": "TYPE_FP32",
    "float64": "TYPE_FP64",
    "bfloat16": "TYPE_BF16",
}
INSTANCE_KINDS = {"auto": "KIND_AUTO", "gpu": "KIND_GPU", "cpu": "KIND_CPU"}


@dataclass
class TritonOptions:
    name: str | None = None  # default: the source model file's stem
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE  # 0 turns batching off
    instance_count: int = 1
    instance_kind: str = "auto"  # auto | gpu | cpu
    max_queue_delay_us: int = 0


@dataclass
class TritonTensor:
    name: str
    data_type: str
    dims: list[int]
    reshape: list[int] | None = None  # the model's own shape, when it differs from dims


@dataclass
class TritonModel:
    """What config.pbtxt declares, before it is written as text."""

    name: str
    max_batch_size: int
    inputs: list[TritonTensor]
    outputs: list[TritonTensor]
    instance_count: int
    instance_kind: str
    max_queue_delay_us: int
    comment: str


def tensor_name(keras_name: str, index: int, fallback: str) -> str:
    """`<name>__<index>` with a name of [A-Za-z0-9_] and no `__` in it (the backend splits at the first)."""
    base = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", keras_name)).strip("_") or fallback
    return f"{base}__{index}"


def model_name(text: str) -> str:
    """A Triton model (and folder) name: letters, digits, `_`, `-`, `.`; not starting with a dot."""
    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", text).lstrip(".")
    if not name:
        raise InputError(f"Triton model name {text!r} has no usable characters (use letters, digits, _ - .)")
    return name


def triton_tensor(entry: dict, index: int, fallback: str, batching: bool) -> TritonTensor:
    """A manifest input/output entry as Triton declares it."""
    dtype = entry.get("dtype")
    if dtype not in TRITON_TYPES:
        raise InputError(f"tensor {entry.get('name')!r} has dtype {dtype!r}, which Triton's PyTorch backend lacks")
    shape = [-1 if d is None else int(d) for d in entry["shape"]]
    dims = shape[1:] if batching else shape
    if batching and not dims:
        return TritonTensor(tensor_name(entry["name"], index, fallback), TRITON_TYPES[dtype], [1], reshape=[])
    return TritonTensor(tensor_name(entry["name"], index, fallback), TRITON_TYPES[dtype], dims)


def triton_model(manifest: dict, options: TritonOptions) -> TritonModel:
    """The model configuration for an artifact's manifest."""
    if options.max_batch_size < 0:
        raise InputError(f"--max-batch-size must be 0 (no batching) or more, not {options.max_batch_size}")
    if options.instance_count < 1:
        raise InputError(f"--instances must be at least 1, not {options.instance_count}")
    if options.instance_kind not in INSTANCE_KINDS:
        raise InputError(f"--kind must be one of {', '.join(INSTANCE_KINDS)}, not {options.instance_kind!r}")
    source = manifest.get("source", {}).get("file") or manifest.get("model_name") or "model"
    batching = options.max_batch_size > 0
    return TritonModel(
        name=model_name(options.name or Path(source).stem),
        max_batch_size=options.max_batch_size,
        inputs=[triton_tensor(e, i, "INPUT", batching) for i, e in enumerate(manifest["inputs"])],
        outputs=[triton_tensor(e, i, "OUTPUT", batching) for i, e in enumerate(manifest["outputs"])],
        instance_count=options.instance_count,
        instance_kind=INSTANCE_KINDS[options.instance_kind],
        max_queue_delay_us=options.max_queue_delay_us,
        comment=f"{manifest.get('model_name', '?')} from {source}, packager {manifest.get('packager_version', '?')}",
    )


def _tensor_block(tensors: list[TritonTensor]) -> list[str]:
    lines = []
    for i, t in enumerate(tensors):
        lines += ["  {", f'    name: "{t.name}"', f"    data_type: {t.data_type}", f"    dims: {_list(t.dims)}"]
        if t.reshape is not None:
            lines.append(f"    reshape: {{ shape: {_list(t.reshape)} }}")
        lines.append("  }" + ("," if i < len(tensors) - 1 else ""))
    return lines


def _list(values: list[int]) -> str:
    return "[ " + ", ".join(str(v) for v in values) + " ]" if values else "[ ]"


def config_text(model: TritonModel) -> str:
    """config.pbtxt in protobuf text format."""
    safe = re.sub(r"[^\w.,()\- ]", "_", model.comment)  # Keras names must not end the comment line
    lines = [
        f"# Triton model configuration for {safe}.",
        "# Tensors: <Keras name>__<position>, in Keras layout (batch first, channels last); dims omit the batch",
        "# axis when max_batch_size > 0. -1 is a dimension of any size.",
        f'name: "{model.name}"',
        'backend: "pytorch"',
        f"max_batch_size: {model.max_batch_size}",
        "input [",
        *_tensor_block(model.inputs),
        "]",
        "output [",
        *_tensor_block(model.outputs),
        "]",
    ]
    if model.max_batch_size > 0:
        lines += ["dynamic_batching {", f"  max_queue_delay_microseconds: {model.max_queue_delay_us}", "}"]
    lines += [
        "instance_group [",
        "  {",
        f"    count: {model.instance_count}",
        f"    kind: {model.instance_kind}",
        "  }",
        "]",
        "parameters: {",
        '  key: "INFERENCE_MODE"',
        '  value: { string_value: "true" }',
        "}",
    ]
    return "\n".join(lines) + "\n"


def read_manifest(artifact_dir: Path) -> dict:
    artifact_dir = Path(artifact_dir)
    manifest_path = artifact_dir / "manifest.json"
    if not artifact_dir.is_dir():
        raise InputError(f"{artifact_dir}: not a folder (expected an artifact folder written by `pack export`)")
    if not manifest_path.is_file() or not (artifact_dir / MODEL_FILE).is_file():
        raise InputError(f"{artifact_dir}: no manifest.json and model.pt here; is it an artifact from `pack export`?")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{manifest_path}: cannot read it as JSON ({exc})") from exc
    if not isinstance(manifest, dict) or not manifest.get("inputs") or not manifest.get("outputs"):
        raise InputError(f"{manifest_path}: lists no inputs and outputs; is it an artifact from `pack export`?")
    return manifest


def check_repository(repository: Path, model_folder: Path | None = None) -> None:
    """Fail before any work when REPO (or REPO/<name>, which gets replaced) cannot take the model."""
    repository = Path(repository)
    if repository.exists() and not repository.is_dir():
        raise InputError(f"Triton repository {repository} exists and is not a folder")
    if model_folder is None or not model_folder.exists():
        return
    if not model_folder.is_dir():
        raise InputError(f"{model_folder} exists and is not a folder; choose another --name")
    if any(model_folder.iterdir()) and not (model_folder / CONFIG_NAME).is_file():
        raise InputError(
            f"{model_folder} holds files but no {CONFIG_NAME}, so it is no Triton model; refusing to replace it; "
            "choose another --name"
        )


def write_model_repository(artifact_dir: Path, repository: Path, options: TritonOptions | None = None) -> Path:
    """Write REPO/<name>/config.pbtxt and REPO/<name>/1/model.pt; return REPO/<name>.

    REPO/<name> is replaced as a whole (in one rename, after it is complete) if it is a Triton model
    folder; other models in REPO are left alone.
    """
    manifest = read_manifest(artifact_dir)
    model = triton_model(manifest, options or TritonOptions())
    target = Path(repository) / model.name
    check_repository(repository, target)
    with staged_directory(target) as stage:
        (stage / CONFIG_NAME).write_text(config_text(model))
        (stage / VERSION).mkdir()
        shutil.copyfile(Path(artifact_dir) / MODEL_FILE, stage / VERSION / MODEL_FILE)
    return target
