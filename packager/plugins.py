"""`--plugin FILE.py`: the user's own Python file that teaches packager a custom layer.

packager never runs code stored in a model file. A plugin is different: a file the user names on
the command line, so it is run (imported) before the model is read. It does two things with the
same APIs packager itself uses:

1. registers the Keras class (`@keras.saving.register_keras_serializable`), so Keras can build
   the reference model the export is validated against;
2. registers a converter for that class (`@converter("ClassName")` from
   `packager.converters.registry`) returning a scriptable torch module.

See README "Custom layers" and examples/plugin_scaled_tanh.py.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from packager.errors import InputError

_LOADED: dict[Path, ModuleType] = {}


def load_plugins(paths: Sequence[Path]) -> list[dict]:
    """Import every plugin file once per process; return a manifest entry (file, sha256) for each."""
    from packager.converters.registry import load_builtin_converters

    # Built-ins first: a plugin that re-registers a built-in class is then refused by name.
    load_builtin_converters()
    return [load_plugin(Path(path)) for path in paths]


def load_plugin(path: Path) -> dict:
    """Import `path` as a module (its decorators register the Keras class and the converter)."""
    resolved = path.resolve()
    if not resolved.is_file():
        raise InputError(f"--plugin {path}: no such file")
    if resolved.suffix != ".py":
        raise InputError(f"--plugin {path}: expected a Python file (.py)")
    data = resolved.read_bytes()
    record = {"file": resolved.name, "sha256": hashlib.sha256(data).hexdigest()}
    if resolved in _LOADED:
        return record
    name = "packager_plugin_" + re.sub(r"\W", "_", resolved.stem) + "_" + record["sha256"][:8]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise InputError(f"--plugin {path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # TorchScript reads the plugin's module source through sys.modules
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: any error is theirs to see, in one line
        del sys.modules[name]
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(f"--plugin {path}: importing it failed: {type(exc).__name__}: {first}") from exc
    _LOADED[resolved] = module
    return record
