"""The C++ check: build cpp_demo/ (pack_infer) against the installed torch wheel's LibTorch and run it.

`build_demo()` configures and builds once into a cached folder (cpp_demo/build, or $PACKAGER_CPP_BUILD_DIR)
and builds again only when the sources or the torch installation change. `run_demo()` runs `pack_infer`
on an artifact folder and returns its exit code: 0 within the manifest's tolerance, 1 outside it,
2 when the artifact cannot be loaded.

torch is located without importing it (the wheel's `share/cmake` is what
`torch.utils.cmake_prefix_path` returns), so a cached build starts pack_infer at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from packager.errors import InputError, PackagerError

CPP_DEMO_DIR = Path(__file__).resolve().parent.parent / "cpp_demo"
BUILD_DIR_ENV = "PACKAGER_CPP_BUILD_DIR"
EXECUTABLE = "pack_infer"
SOURCE_SUFFIXES = (".cpp", ".h", ".txt")  # main.cpp, manifest_json.h, CMakeLists.txt
STAMP_NAME = "packager-build.stamp"
LOG_NAME = "packager-build.log"


class CppDemoError(PackagerError):
    """cpp_demo cannot be built or run here (no cmake or compiler, failed build, crashed binary)."""


def source_dir() -> Path:
    """cpp_demo/ beside the package: present in a source checkout (and an editable install)."""
    if not (CPP_DEMO_DIR / "CMakeLists.txt").is_file():
        raise CppDemoError(f"cpp_demo sources not found at {CPP_DEMO_DIR}; pack cpp needs a source checkout")
    return CPP_DEMO_DIR


def default_build_dir() -> Path:
    return Path(os.environ.get(BUILD_DIR_ENV) or CPP_DEMO_DIR / "build")


def torch_cmake_prefix() -> Path:
    """The installed wheel's CMake prefix (torch.utils.cmake_prefix_path), found without importing torch."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        raise CppDemoError("torch is not installed; pack cpp builds against the LibTorch inside the torch wheel")
    return Path(list(spec.submodule_search_locations)[0]) / "share" / "cmake"


def build_fingerprint(sources: Path, prefix: Path) -> str:
    """What a build depends on: the demo's sources and the torch installation (location and version)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in sources.iterdir() if p.is_file() and p.suffix in SOURCE_SUFFIXES):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"{prefix}\0{importlib.metadata.version('torch')}".encode())
    return digest.hexdigest()


@contextmanager
def build_lock(build_dir: Path) -> Iterator[None]:
    """One build at a time per folder (two `pack cpp` started together would share CMake's files)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def forget_foreign_configuration(build_dir: Path, sources: Path, prefix: Path) -> None:
    """Drop a CMake cache made for another source folder or another torch: CMake would refuse or reuse it."""
    cache = build_dir / "CMakeCache.txt"
    if not cache.is_file():
        return
    text = cache.read_text(errors="replace")
    if f"CMAKE_HOME_DIRECTORY:INTERNAL={sources}\n" in text and f"Torch_DIR:PATH={prefix / 'Torch'}\n" in text:
        return
    cache.unlink()
    shutil.rmtree(build_dir / "CMakeFiles", ignore_errors=True)


def run_logged(command: list[str], log_path: Path) -> None:
    """Run a build step, appending its output to the log; on failure name the step and the log's last line."""
    with open(log_path, "a") as log:
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()] or lines
        raise CppDemoError(f"building cpp_demo failed ({command[1]}): {errors[-1].strip()} (full log: {log_path})")


def build_demo(build_dir: Path | None = None, log: Callable[[str], None] = lambda _: None) -> Path:
    """Configure and build cpp_demo into `build_dir` unless an up-to-date build is there; return pack_infer."""
    sources = source_dir()
    prefix = torch_cmake_prefix()
    build_dir = Path(build_dir) if build_dir else default_build_dir()
    executable = build_dir / EXECUTABLE
    fingerprint = build_fingerprint(sources, prefix)
    stamp = build_dir / STAMP_NAME
    with build_lock(build_dir):
        if executable.is_file() and stamp.is_file() and stamp.read_text() == fingerprint:
            return executable
        cmake = shutil.which("cmake")
        if cmake is None:
            raise CppDemoError("cmake is not on PATH; pack cpp needs cmake (>= 3.18) and a C++17 compiler")
        forget_foreign_configuration(build_dir, sources, prefix)
        stamp.unlink(missing_ok=True)
        log_path = build_dir / LOG_NAME
        log_path.write_text("")
        log(f"building {EXECUTABLE} in {build_dir} against {prefix} (once; ~15-30 s)")
        run_logged([cmake, "-S", str(sources), "-B", str(build_dir), f"-DCMAKE_PREFIX_PATH={prefix}"], log_path)
        run_logged([cmake, "--build", str(build_dir), "--parallel", str(os.cpu_count() or 1)], log_path)
        if not executable.is_file():
            raise CppDemoError(f"the build finished but {executable} is missing (full log: {log_path})")
        stamp.write_text(fingerprint)
    return executable


def pack_infer_command(
    executable: Path, artifact: Path, iters: int = 100, threads: int | None = None, device: str = "cpu"
) -> list[str]:
    command = [str(executable), str(artifact), "--iters", str(iters), "--device", device]
    return command + (["--threads", str(threads)] if threads else [])


def run_demo(
    artifact: Path,
    iters: int = 100,
    threads: int | None = None,
    device: str = "cpu",
    build_dir: Path | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> int:
    """Build (if needed) and run pack_infer on `artifact`, its output going to ours; return its exit code."""
    artifact = Path(artifact)
    if not (artifact / "model.pt").is_file():
        raise InputError(f"{artifact}: no model.pt there; pass the folder that pack export wrote")
    executable = build_demo(build_dir, log)
    code = subprocess.run(pack_infer_command(executable, artifact, iters, threads, device)).returncode
    if code < 0:
        raise CppDemoError(f"{executable} was killed by signal {-code}")
    return code
