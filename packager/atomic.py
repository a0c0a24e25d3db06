"""Write a folder completely or not at all, and never lose the folder it replaces."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from packager.errors import InputError


def check_output_dir(target: Path) -> None:
    """Fail early, before any work, when `target` cannot become an artifact folder."""
    if target.exists() and not target.is_dir():
        raise InputError(f"output path {target} exists and is not a directory")
    parent = target.parent
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"output path {target} cannot be written (no write permission in {existing})")


@contextlib.contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield a fresh folder beside `target`; on success it replaces `target` in one rename.

    On any error (or interrupt) the staging folder is removed and `target` is left as it was.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        stage.chmod(0o777 & ~_umask())  # mkdtemp makes it private; an artifact folder is not
    except OSError as exc:
        raise InputError(f"output path {target} cannot be written ({exc.strerror or exc})") from exc
    try:
        yield stage
        _replace(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace(stage: Path, target: Path) -> None:
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
