"""Write a folder completely or not at all, and never lose the folder it replaces.

The artifact is built in `.<name>.partial-XXXX` beside the target and renamed into place only after
every check passed. A failure or an interrupt (SIGINT/SIGTERM arrive as exceptions, see cli.py)
removes the staging folder and any parent folders the export created; an existing target stays
byte-identical. The few renames and removals that must not be cut in half run with SIGINT/SIGTERM
held back. Only SIGKILL or a power cut can leave a `.partial-` folder behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from packager.errors import OutputError

ARTIFACT_MARKER = "manifest.json"  # a folder holding this was written by packager and may be replaced
_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Delay SIGINT/SIGTERM until the block ends (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _nearest_existing(path: Path) -> Path:
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing


def check_output_dir(target: Path, source: Path | None = None) -> None:
    """Fail early, before any work, when `target` cannot become an artifact folder.

    Refuses: an existing file; an existing non-empty folder that is not a packager artifact (it
    would be replaced wholesale); the current folder or one above it; a folder holding the model
    file `source`; a path below a file; a place where no folder can be created (probed by creating
    and removing one, which is honest even for root).
    """
    target = Path(target)
    resolved, here = target.resolve(), Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise OutputError(f"output path {target} is the current folder or holds it; choose another -o")
    if source is not None and resolved in Path(source).resolve().parents:
        raise OutputError(f"output folder {target} holds the model file {source}; choose another -o")
    if target.exists() and not target.is_dir():
        raise OutputError(f"output path {target} exists and is not a directory; choose another -o")
    if target.is_dir() and any(target.iterdir()) and not (target / ARTIFACT_MARKER).is_file():
        raise OutputError(
            f"output folder {target} already holds files and is not a packager artifact (no {ARTIFACT_MARKER}); "
            "refusing to replace it; choose another -o"
        )
    existing = _nearest_existing(target.parent)
    if not existing.is_dir():
        raise OutputError(f"output path {target} cannot be created: {existing} is a file, not a folder")
    try:
        with signals_held():
            os.rmdir(tempfile.mkdtemp(prefix=".pack-probe-", dir=existing))
    except OSError as exc:
        raise OutputError(f"output path {target} cannot be written: {exc.strerror or exc} in {existing}") from exc


def _make_parents(folder: Path) -> list[Path]:
    """Create `folder` and missing parents; return the ones created, innermost first."""
    created = []
    missing = folder
    while not missing.exists():
        created.append(missing)
        missing = missing.parent
    folder.mkdir(parents=True, exist_ok=True)
    return created


def _remove_created(created: list[Path]) -> None:
    for folder in created:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if still empty: never remove what someone else put there


@contextlib.contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield a fresh folder beside `target`; on success it replaces `target` in one rename.

    On any error (or interrupt) the staging folder is removed and `target` is left as it was.
    """
    target = Path(target)
    created: list[Path] = []
    try:
        with signals_held():
            created = _make_parents(target.absolute().parent)
            stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
            stage.chmod(0o777 & ~_umask())  # mkdtemp makes it private; an artifact folder is not
    except OSError as exc:
        _remove_created(created)
        raise OutputError(f"output path {target} cannot be written ({exc.strerror or exc})") from exc
    try:
        yield stage
        with signals_held():
            _replace(stage, target)
    except BaseException:
        with signals_held():
            shutil.rmtree(stage, ignore_errors=True)
            _remove_created(created)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace(stage: Path, target: Path) -> None:
    """Rename `stage` to `target`; an old `target` is moved aside first and removed only afterwards."""
    if not target.exists():
        os.rename(stage, target)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.previous-", dir=target.parent))
    os.rmdir(backup)
    os.rename(target, backup)
    try:
        os.rename(stage, target)
    except BaseException:
        os.rename(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)
