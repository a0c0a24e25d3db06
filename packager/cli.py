"""The `pack` command. It parses options, calls the library stages and renders results and errors.

TensorFlow and torch are imported inside the commands, so `pack --help` answers at once.
"""

from __future__ import annotations

import contextlib
import enum
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer

from packager.errors import Interrupted, PackagerError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Turn a trained Keras model (.keras / .h5) into a validated PyTorch (TorchScript) artifact.",
)

EXIT_INTERNAL = 1


class Device(str, enum.Enum):
    cpu = "cpu"
    cuda = "cuda"


EXIT_INTERRUPTED = 130


def fail(message: str, code: int) -> None:
    one_line = " ".join(line.strip() for line in message.splitlines() if line.strip())
    typer.echo(f"pack: error: {one_line}", err=True)
    raise typer.Exit(code)


def _raise_interrupted(signum: int, _frame) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def interrupts_as_exceptions() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Interrupted`, so staged output is cleaned up on the way out.

    Python turns only SIGINT into an exception by itself; SIGTERM (what `kill`, CI runners and
    container stops send) would otherwise end the process at once and leave a staging folder behind.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_guarded(debug: bool, action: Callable[[], None]) -> None:
    """Run `action`; turn errors into one line on stderr and an exit code (tracebacks with --debug)."""
    try:
        with interrupts_as_exceptions():
            action()
    except typer.Exit:
        raise
    except PackagerError as exc:
        if debug:
            traceback.print_exc()
        fail(str(exc), exc.exit_code)
    except Interrupted as exc:
        fail(f"interrupted by {exc}; no partial output was left behind", exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted; no partial output was left behind", EXIT_INTERRUPTED)
    except Exception as exc:  # a bug in packager: still one line unless --debug
        if debug:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        fail(f"internal error: {type(exc).__name__}: {first} (run with --debug for the traceback)", EXIT_INTERNAL)


def progress(message: str) -> None:
    typer.echo(f"pack: {message}", err=True)


@app.callback()
def main() -> None:
    """Convert Keras models to PyTorch deployment artifacts."""


@app.command()
def export(
    model: Annotated[Path, typer.Argument(help="Keras model file: .keras zip or HDF5 .h5/.hdf5 (format is sniffed).")],
    output: Annotated[
        Optional[Path], typer.Option("-o", "--output", help="Artifact folder (default: artifacts/<model stem>/).")
    ] = None,
    no_bench: Annotated[bool, typer.Option("--no-bench", help="Skip the latency benchmark.")] = False,
    atol: Annotated[float, typer.Option(help="Absolute parity tolerance.", min=0.0)] = 1e-5,
    rtol: Annotated[float, typer.Option(help="Relative parity tolerance.", min=0.0)] = 1e-4,
    device: Annotated[Device, typer.Option(help="Also validate and benchmark on this device.")] = Device.cpu,
    allow_mismatch: Annotated[
        bool, typer.Option("--allow-mismatch", help="Write the artifact even if parity fails.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the report.")] = False,
    plugin: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--plugin",
            metavar="FILE.py",
            help="Your Python file registering a custom Keras layer and its converter (repeatable).",
        ),
    ] = None,
    triton: Annotated[
        Optional[Path],
        typer.Option("--triton", metavar="REPO", help="Also write a Triton model repository entry: REPO/<name>/."),
    ] = None,
    format: Annotated[
        Optional[list[Format]],
        typer.Option(
            "--format",
            help="Artifact format (repeatable): torchscript is always written (model.pt); "
            "export adds model.export.pt2 (torch.export), aoti adds model.aoti.pt2 (AOTInductor).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Convert MODEL, validate it against Keras, and write model.pt, model.py, manifest.json, report.md."""

    def action() -> None:
        from packager.pipeline import ExportOptions, export_model

        if triton is not None:
            from packager.triton import check_repository

            check_repository(triton)  # fail before the export, not after it

        options = ExportOptions(
            output_dir=output,
            atol=atol,
            rtol=rtol,
            bench=not no_bench,
            device=device.value,
            allow_mismatch=allow_mismatch,
            plugins=tuple(plugin or ()),
            formats=tuple(dict.fromkeys(f.value for f in format or () if f is not Format.torchscript)),
        )
        result = export_model(model, options, log=progress)
        if not quiet:
            typer.echo(result.report)
        parity = result.manifest["parity"]
        status = "passed" if parity["passed"] else "FAILED (--allow-mismatch)"
        typer.echo(f"pack: {result.directory}: parity {status}, max abs err {parity['max_abs_err']:.3g}", err=True)
        if triton is not None:
            from packager.triton import write_model_repository

            progress(f"Triton model repository entry {write_model_repository(result.directory, triton)}")

    run_guarded(debug, action)


class Format(str, enum.Enum):
    torchscript = "torchscript"
    export = "export"
    aoti = "aoti"


def parse_batch_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        sizes = ()
    if not sizes or any(size < 1 for size in sizes):
        raise typer.BadParameter(f"expected positive integers separated by commas, got {text!r}")
    return sizes


@app.command("bench")
def bench_command(
    artifact: Annotated[Path, typer.Argument(help="Artifact folder written by `pack export`.")],
    batch_sizes: Annotated[str, typer.Option("--batch-sizes", help="Comma-separated batch sizes.")] = "1,32",
    threads: Annotated[
        Optional[int], typer.Option(help="Pin every runtime to N threads (default: 1 and the default).", min=1)
    ] = None,
    device: Annotated[Device, typer.Option(help="Also time on this device.")] = Device.cpu,
    iters: Annotated[int, typer.Option(help="Timed calls per runtime and batch size.", min=10)] = 200,
    keras: Annotated[
        Optional[Path],
        typer.Option("--keras", help="The source Keras model (default: the path the manifest recorded)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Time the artifact next to eager torch, Keras, ONNX Runtime, other formats and the C++ demo."""
    sizes = parse_batch_sizes(batch_sizes)

    def action() -> None:
        import json

        from packager.bench_stage import benchmark_artifact
        from packager.pipeline import check_device
        from packager.report import latency_table

        check_device(device.value)
        result = benchmark_artifact(
            artifact,
            batch_sizes=sizes,
            threads=threads,
            device=device.value,
            iters=iters,
            keras_path=keras,
            log=progress,
        )
        typer.echo(json.dumps(result, indent=2) if as_json else "\n".join(latency_table(result)))

    run_guarded(debug, action)


class InstanceKind(str, enum.Enum):
    auto = "auto"
    gpu = "gpu"
    cpu = "cpu"


@app.command("triton")
def triton_command(
    artifact: Annotated[Path, typer.Argument(help="Artifact folder written by `pack export`.")],
    repository: Annotated[Path, typer.Argument(help="Triton model repository; REPO/<name>/ is (re)written.")],
    name: Annotated[
        Optional[str], typer.Option("--name", help="Triton model name (default: the Keras file's stem).")
    ] = None,
    max_batch_size: Annotated[
        int, typer.Option("--max-batch-size", min=0, help="Largest batch Triton forms; 0 turns batching off.")
    ] = 32,
    instances: Annotated[int, typer.Option("--instances", min=1, help="Model instances per device.")] = 1,
    kind: Annotated[
        InstanceKind, typer.Option("--kind", help="Where instances run: auto (GPU if present), gpu, cpu.")
    ] = InstanceKind.auto,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Write REPO/<name>/config.pbtxt and REPO/<name>/1/model.pt for Triton's PyTorch backend."""

    def action() -> None:
        from packager.triton import TritonOptions, write_model_repository

        options = TritonOptions(
            name=name, max_batch_size=max_batch_size, instance_count=instances, instance_kind=kind.value
        )
        progress(f"Triton model repository entry {write_model_repository(artifact, repository, options)}")

    run_guarded(debug, action)


@app.command("inspect")
def inspect_command(
    model: Annotated[Path, typer.Argument(help="Keras model file: .keras zip or HDF5 .h5/.hdf5 (format is sniffed).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """List MODEL's layers: class, output shape, Keras/torch parameters, whether each converts. Runs no code from it."""

    def action() -> None:
        import json

        from packager.inspect_model import inspect_model, render_text

        report = inspect_model(model)
        typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else render_text(report))

    run_guarded(debug, action)


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the example model and its artifact.")] = Path(
        "artifacts"
    ),
    epochs: Annotated[int, typer.Option(help="Training epochs on the synthetic data.", min=1)] = 3,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Train the built-in CNN-LSTM example on synthetic data, export it, and print the report."""

    def action() -> None:
        from packager.demo import write_seed_files
        from packager.pipeline import ExportOptions, export_model

        progress(f"training the example CNN-LSTM for {epochs} epochs on synthetic signals")
        keras_path, _, accuracy = write_seed_files(directory / "examples", epochs)
        progress(f"saved {keras_path} (validation accuracy {accuracy:.2f})")
        result = export_model(keras_path, ExportOptions(output_dir=directory / keras_path.stem), log=progress)
        typer.echo(result.report)
        progress(f"artifact in {result.directory}; load it with torch.jit.load('{result.directory}/model.pt')")

    run_guarded(debug, action)


@app.command()
def cpp(
    artifact: Annotated[Path, typer.Argument(help="Artifact folder written by pack export.")],
    iters: Annotated[int, typer.Option(help="Timed runs after warm-up.", min=1)] = 100,
    threads: Annotated[
        Optional[int], typer.Option(help="LibTorch intra-op threads (default: LibTorch's own).", min=1)
    ] = None,
    device: Annotated[Device, typer.Option(help="Run the model on this device.")] = Device.cpu,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Check ARTIFACT in C++: build cpp_demo/pack_infer once (cached) and run it; exit 0 ok, 1 off, 2 unusable."""

    def action() -> None:
        from packager.cpp import run_demo

        code = run_demo(artifact, iters=iters, threads=threads, device=device.value, log=progress)
        if code:
            raise typer.Exit(code)

    run_guarded(debug, action)


def entry() -> None:
    """Console-script entry point. A usage error (bad option, missing argument) is one line too."""
    try:
        code = app(prog_name="pack", standalone_mode=False)
    except typer.TyperException as exc:  # typer's usage errors; in standalone mode it would draw a box
        context = getattr(exc, "ctx", None)
        if type(exc).__name__ != "NoArgsIsHelpError":  # plain `pack` has printed the help already
            hint = f" (see '{context.command_path} --help')" if context is not None else ""
            typer.echo(f"pack: error: {' '.join(exc.format_message().split())}{hint}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    sys.exit(entry())
