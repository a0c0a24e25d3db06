"""Read a Keras model file into plain Python data, without TensorFlow and without running its code.

Two containers exist in the wild, whatever the file is called:
- HDF5 (`\\x89HDF\\r\\n\\x1a\\n`): Keras 1/2 and tf.keras `model.save("x.h5")` (and tf.keras 2.9+ for
  paths ending in `.keras`). Attributes `model_config` (JSON), `keras_version`, `backend`; weights
  under `model_weights/<layer>/` listed by the `layer_names` and `weight_names` attributes.
- zip (`PK\\x03\\x04`): Keras 3 `.keras` with `config.json`, `metadata.json`, `model.weights.h5`.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from packager.errors import BadModelFile, one_line
from packager.keras_config import MODEL_CLASSES, WRAPPED_KEYS

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"


@dataclass
class RawModel:
    """What the file says, before any normalization. `config` is `{"class_name", "config"}`."""

    path: Path
    sha256: str
    format: str  # "hdf5" or "keras-zip"
    keras_version: str | None
    backend: str | None
    config: dict
    # HDF5: weights by layer name, in the file's `weight_names` order (names kept for legacy fixes).
    layer_weights: dict[str, list[tuple[str, np.ndarray]]] = field(default_factory=dict)
    # zip: the bytes of `model.weights.h5` (Keras 3 layout, loaded by Keras itself).
    weights_h5: bytes | None = None
    # HDF5: layer name -> why its stored weights cannot be used (left out of `layer_weights`).
    weight_problems: dict[str, str] = field(default_factory=dict)


def sniff_format(path: Path) -> str:
    """Return "hdf5" or "keras-zip" from the file's first bytes; raise BadModelFile otherwise."""
    if not path.exists():
        raise BadModelFile(f"{path}: no such file")
    if path.is_dir():
        raise BadModelFile(f"{path}: is a directory, expected a .keras or .h5 model file")
    if not path.is_file():  # a FIFO would block the first read forever; a device never ends
        raise BadModelFile(f"{path}: not a regular file (a pipe, socket or device), expected a model file")
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise BadModelFile(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not head:
        raise BadModelFile(f"{path}: file is empty")
    if head == HDF5_SIGNATURE:
        return "hdf5"
    if head[:4] == ZIP_SIGNATURE:
        return "keras-zip"
    raise BadModelFile(f"{path}: not a Keras model (neither HDF5 nor a .keras zip)")


def read_model_file(path: Path) -> RawModel:
    """Read config, versions and weights from `path`. Never imports TF, never evaluates anything."""
    path = Path(path)
    fmt = sniff_format(path)
    digest = _sha256(path)
    if fmt == "hdf5":
        return _read_hdf5(path, digest)
    return _read_zip(path, digest)


def _sha256(path: Path) -> str:
    """The file's sha256, read in chunks: a file of many GB is hashed without holding it in memory."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise BadModelFile(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return digest.hexdigest()


def _decode(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _parse_json(text: str, path: Path, what: str) -> dict:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadModelFile(f"{path}: {what} is not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise BadModelFile(f"{path}: {what} is nested too deeply to be a Keras model config") from exc
    if not isinstance(data, dict) or "class_name" not in data:
        raise BadModelFile(f"{path}: {what} does not describe a Keras model")
    problem = _structure_problem(data, "the model")
    if problem:
        raise BadModelFile(f"{path}: {what} is malformed: {problem}")
    return data


WRAPPERS = frozenset({"Bidirectional", "TimeDistributed"})


def _kind(value) -> str:
    return "null" if value is None else type(value).__name__


def _structure_problem(entry, where: str) -> str | None:
    """What breaks the skeleton every later stage relies on, or None.

    The skeleton: every layer entry is an object with a string `class_name` and an object `config`
    (a model's holds a list of such entries), a string name if any, and a wrapper's wrapped layer
    is such an entry too. Values inside a layer's config are Keras's to judge when it builds.
    """
    if not isinstance(entry, dict):
        return f"{where} is {_kind(entry)}, not an object"
    class_name, config = entry.get("class_name"), entry.get("config")
    if not isinstance(class_name, str) or not class_name:
        return f"{where} has no class_name"
    name = config.get("name") if isinstance(config, dict) else None
    if name is not None and not isinstance(name, str):
        return f"{where} ({class_name}) has a name that is {_kind(name)}, not a string"
    label = f"layer {name!r}" if name else where
    if class_name in MODEL_CLASSES:
        layers = config if isinstance(config, list) else config.get("layers") if isinstance(config, dict) else None
        if not isinstance(layers, list):
            return f"{label} ({class_name}) has no list of layers"
        for index, layer in enumerate(layers):
            problem = _structure_problem(layer, f"layer #{index} of {label}")
            if problem:
                return problem
        return None
    if not isinstance(config, dict):
        return f"{label} ({class_name}) has no config object"
    if entry.get("inbound_nodes") is not None and not isinstance(entry["inbound_nodes"], list):
        return f"{label} ({class_name}) has inbound_nodes that are not a list"
    for key in WRAPPED_KEYS:
        if config.get(key) is not None or (key == "layer" and class_name in WRAPPERS):
            problem = _structure_problem(config.get(key), f"the layer wrapped by {label}")
            if problem:
                return problem
    return None


def _read_hdf5(path: Path, digest: str) -> RawModel:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                raise BadModelFile(
                    f"{path}: HDF5 file holds weights but no model config "
                    "(saved with save_weights?); save the whole model with model.save()"
                )
            config = _parse_json(_decode(f.attrs["model_config"]), path, "model_config")
            version = f.attrs.get("keras_version")
            backend = f.attrs.get("backend")
            group = f.get("model_weights", f)
            _check_array_sizes(f, path.stat().st_size, path, "HDF5 file")
            weights, problems = _read_legacy_weights(group)
    except BadModelFile:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, AttributeError, ArithmeticError) as exc:
        raise BadModelFile(f"{path}: cannot read HDF5 file, it is truncated or damaged ({one_line(exc)})") from exc
    return RawModel(
        path=path,
        sha256=digest,
        format="hdf5",
        keras_version=_decode(version) if version is not None else None,
        backend=_decode(backend) if backend is not None else None,
        config=config,
        layer_weights=weights,
        weight_problems=problems,
    )


def _read_legacy_weights(group) -> tuple[dict[str, list[tuple[str, np.ndarray]]], dict[str, str]]:
    """Layer name -> [(weight name, array)] in the order the file lists them; and unusable groups."""
    weights: dict[str, list[tuple[str, np.ndarray]]] = {}
    problems: dict[str, str] = {}
    for layer_name in (_decode(n) for n in group.attrs.get("layer_names", [])):
        if layer_name not in group:
            continue  # Keras 3.1 wrote no group for weightless layers
        layer_group = group[layer_name]
        names = [_decode(n) for n in layer_group.attrs.get("weight_names", [])]
        if len(set(names)) != len(names):
            # Keras 3.1's HDF5 writer named a Bidirectional's two halves alike, failed on the
            # second half and stopped: one name cannot hold two arrays, so the weights are lost.
            problems[layer_name] = f"{len(names)} weights listed under {len(set(names))} distinct names"
            continue
        absent = [name for name in names if name not in layer_group]
        if absent:
            problems[layer_name] = f"weight(s) {', '.join(absent)} listed but not stored"
            continue
        weights[layer_name] = [(name, np.asarray(layer_group[name][()])) for name in names]
    return weights, problems


def _safe_member_names(zf: zipfile.ZipFile, path: Path) -> set[str]:
    names = set()
    for name in zf.namelist():
        pure = PurePosixPath(name)
        if pure.is_absolute() or ".." in pure.parts or "\\" in name:
            raise BadModelFile(f"{path}: zip member {name!r} escapes the archive folder; refusing it")
        names.add(name)
    return names


# A weights file holds its arrays; one that declares far more than its size is damaged or hostile.
_ARRAY_SLACK_FACTOR = 64
_ARRAY_SLACK_BYTES = 256 << 20
# Keras stores .keras members uncompressed; a member inflating past this is a zip bomb, not a model.
_MAX_INFLATION = 200


def _check_array_sizes(h5file, stored_bytes: int, path: Path, what: str) -> None:
    """Refuse a file whose datasets declare more bytes than it could hold, before any is read.

    Reading such a dataset would allocate its declared size (terabytes, from one flipped byte in a
    shape) instead of failing cleanly.
    """
    import h5py

    limit = stored_bytes * _ARRAY_SLACK_FACTOR + _ARRAY_SLACK_BYTES
    declared = 0

    def visit(_name, obj) -> None:
        nonlocal declared
        if isinstance(obj, h5py.Dataset):
            declared += int(obj.size) * obj.dtype.itemsize

    h5file.visititems(visit)
    if declared > limit:
        raise BadModelFile(
            f"{path}: {what} declares {declared:,} bytes of weights but holds {stored_bytes:,}; it is damaged"
        )


def _check_inflation(zf: zipfile.ZipFile, path: Path) -> None:
    for info in zf.infolist():
        if info.file_size > _ARRAY_SLACK_BYTES and info.file_size > _MAX_INFLATION * max(info.compress_size, 1):
            raise BadModelFile(
                f"{path}: zip member {info.filename!r} would inflate from {info.compress_size:,} to "
                f"{info.file_size:,} bytes; refusing it (not a Keras-written archive)"
            )


def _read_zip(path: Path, digest: str) -> RawModel:
    try:
        with zipfile.ZipFile(path) as zf:
            names = _safe_member_names(zf, path)
            _check_inflation(zf, path)
            if "config.json" not in names:
                raise BadModelFile(f"{path}: .keras archive has no config.json")
            if "model.weights.h5" not in names:
                raise BadModelFile(f"{path}: .keras archive has no model.weights.h5")
            config = _parse_json(zf.read("config.json").decode("utf-8", "replace"), path, "config.json")
            metadata = {}
            if "metadata.json" in names:
                try:
                    metadata = json.loads(zf.read("metadata.json"))
                except ValueError:
                    metadata = {}
            weights_h5 = zf.read("model.weights.h5")
    except BadModelFile:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, zlib.error) as exc:
        raise BadModelFile(f"{path}: cannot read .keras archive, it is truncated or damaged ({one_line(exc)})") from exc
    if weights_h5[:8] != HDF5_SIGNATURE:
        raise BadModelFile(f"{path}: model.weights.h5 inside the archive is not HDF5")
    _check_weights_h5(weights_h5, path)
    return RawModel(
        path=path,
        sha256=digest,
        format="keras-zip",
        keras_version=_version_in(metadata),
        backend=None,
        config=config,
        weights_h5=weights_h5,
    )


def _version_in(metadata) -> str | None:
    """metadata.json's keras_version; anything but a string (the file is damaged) counts as unknown."""
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    return version if isinstance(version, str) else None


def _check_weights_h5(weights_h5: bytes, path: Path) -> None:
    """Open the archive's weights once here, so a damaged one is named as such, not as a Keras error."""
    import h5py

    try:
        with h5py.File(io.BytesIO(weights_h5), "r") as f:
            _check_array_sizes(f, len(weights_h5), path, "model.weights.h5")
    except BadModelFile:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, AttributeError, ArithmeticError) as exc:
        raise BadModelFile(f"{path}: model.weights.h5 inside the archive is damaged ({one_line(exc)})") from exc


def open_weights_h5(raw: RawModel):
    """An h5py File over the zip's weights, for code that reads them directly."""
    import h5py

    return h5py.File(io.BytesIO(raw.weights_h5 or b""), "r")
