"""Shared fixtures. TensorFlow is real here: it is the reference every parity test compares with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
REALWORLD = Path(os.environ.get("PACKAGER_REALWORLD", REPO.parent / "shared" / "realworld"))


def run_pack(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the CLI in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "packager", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def seed_files(tmp_path_factory) -> dict[str, Path]:
    """The built-in example, trained one epoch, saved as .keras and .h5."""
    from packager.demo import write_seed_files

    keras_path, h5_path, _ = write_seed_files(tmp_path_factory.mktemp("seed"), epochs=1)
    return {"keras": keras_path, "h5": h5_path}


@pytest.fixture(scope="session")
def realworld_dir() -> Path:
    if not REALWORLD.is_dir():
        pytest.skip(f"real-world model folder {REALWORLD} is absent")
    return REALWORLD
