"""torch modules that reproduce Keras semantics torch lacks. All are TorchScript-compatible.

Every nn.Module class defined in this package remembers the arguments each of its instances was
constructed with (`constructor_arguments`), so packager.codegen can write the same constructor call
into a readable model.py. Module authors do nothing for this: importing the package wraps the
`__init__` of every class in its submodules, including ones added later.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import weakref
from typing import Any

from torch import nn

# instance -> (args, kwargs) of the outermost __init__ call that built it
_ARGUMENTS: weakref.WeakKeyDictionary[nn.Module, tuple[tuple[Any, ...], dict[str, Any]]] = weakref.WeakKeyDictionary()


def constructor_arguments(module: nn.Module) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """The (args, kwargs) `module` was constructed with, or None when it was not recorded (e.g. a copy)."""
    return _ARGUMENTS.get(module)


def _recording(init):
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        # A subclass's __init__ runs first and calls super().__init__(...): the outermost call is
        # the one a converter wrote, so only the first call per instance is kept.
        if self not in _ARGUMENTS:
            _ARGUMENTS[self] = (args, dict(kwargs))
        init(self, *args, **kwargs)

    __init__.__packager_records__ = True
    return __init__


def record_constructor_arguments(module) -> None:
    """Wrap `__init__` of every nn.Module class defined in the Python module `module` (once)."""
    for cls in vars(module).values():
        if not (inspect.isclass(cls) and issubclass(cls, nn.Module) and cls.__module__ == module.__name__):
            continue
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "__packager_records__", False):
            cls.__init__ = _recording(init)


def _record_submodules() -> None:
    for info in pkgutil.iter_modules(__path__):
        record_constructor_arguments(importlib.import_module(f"{__name__}.{info.name}"))


_record_submodules()
