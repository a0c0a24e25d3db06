"""The error hierarchy. The CLI maps each kind to an exit code and one line on stderr."""

from __future__ import annotations

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_PARITY = 3


class PackagerError(Exception):
    """Base of every error packager reports to a user. `exit_code` is what `pack` exits with."""

    exit_code = EXIT_INPUT


class InputError(PackagerError):
    """The model file, an option or the output path is wrong or unusable."""


class BadModelFile(InputError):
    """The file cannot be read as a Keras model (not HDF5/zip, truncated, no config, ...)."""


class UnsafeModel(InputError):
    """The file carries Python code (Lambda layers, marshalled functions); packager never runs it."""


class UnsupportedLayers(InputError):
    """One or more layers have no converter. Lists all of them at once."""

    def __init__(self, layers: list[tuple[str, str, str]]):
        self.layers = layers  # (name, class_name, reason)
        parts = [f"{name} ({cls}{': ' + why if why else ''})" for name, cls, why in layers]
        noun = "layer" if len(layers) == 1 else "layers"
        super().__init__(f"{len(layers)} unsupported {noun}: " + ", ".join(parts))


class ParityError(PackagerError):
    """The converted model does not reproduce the Keras outputs within tolerance."""

    exit_code = EXIT_PARITY
