"""The error hierarchy. The CLI maps each kind to an exit code and one line on stderr.

PackagerError                 exit 2 unless said otherwise
├── InputError                the model file, an option or the output path is wrong
│   ├── BadModelFile          not a readable Keras model
│   ├── UnsafeModel           the file carries Python code; refused, never run
│   ├── UnsupportedLayers     layers without a converter, all listed at once
│   └── OutputError           the artifact folder cannot be written where asked
└── ParityError               exit 3: torch does not reproduce Keras

Interrupted (a BaseException, like KeyboardInterrupt): SIGINT/SIGTERM, exit 128 + signal.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_PARITY = 3


class PackagerError(Exception):
    """Base of every error packager reports to a user. `exit_code` is what `pack` exits with."""

    exit_code = EXIT_INPUT

    def name_file(self, path: Path | str) -> None:
        """Start the message with `path` unless it already names it, so every line says which file."""
        message = str(self)
        if not message.startswith(str(path)):
            self.args = (f"{path}: {message}",)


class InputError(PackagerError):
    """The model file, an option or the output path is wrong or unusable."""


class BadModelFile(InputError):
    """The file cannot be read as a Keras model (not HDF5/zip, truncated, no config, ...)."""


class UnsafeModel(InputError):
    """The file carries Python code (Lambda layers, marshalled functions); packager never runs it."""


class OutputError(InputError):
    """The artifact folder cannot be created or replaced at the path the user gave."""


class UnsupportedLayers(InputError):
    """One or more layers have no converter. Lists all of them at once."""

    def __init__(self, layers: list[tuple[str, str, str]]):
        self.layers = layers  # (name, class_name, reason)
        parts = [f"{name} ({cls}{': ' + why if why else ''})" for name, cls, why in layers]
        noun = "layer" if len(layers) == 1 else "layers"
        super().__init__(
            f"{len(layers)} unsupported {noun}: "
            + ", ".join(parts)
            + "; README 'Supported layers' lists what converts, `pack inspect MODEL` shows every layer"
        )


class ParityError(PackagerError):
    """The converted model does not reproduce the Keras outputs within tolerance."""

    exit_code = EXIT_PARITY


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, so only cleanup code (`finally`) sees it on its way out."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message as one line of at most `limit` characters.

    Keras and h5py messages run to several lines and may end in a dump of the whole config or of a
    variable's values; those tails are cut.
    """
    text = " ".join(str(exc).split())
    for tail in (" Full object config:", " Target variable:", " Received: config=", " config={"):
        text = text.split(tail)[0]
    if not text:
        return type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


@contextlib.contextmanager
def about_file(path: Path | str) -> Iterator[None]:
    """Errors raised in the block name `path` at the start of their message."""
    try:
        yield
    except PackagerError as exc:
        exc.name_file(path)
        raise
