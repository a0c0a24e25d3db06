"""Property tests (hypothesis).

1. Random architectures built from supported layers convert with parity.
2. Random corruptions of valid model files (truncation, flipped bytes, zip member edits, config
   edits) end in success or one `pack: error:` line with exit 2 -- never an internal error, a
   traceback, a crash of the process or a hang. The CLI runs in a long-lived worker process
   (TensorFlow is imported once), each case with a time limit; a worker that dies or stops
   answering fails the case and is replaced.

Budget: 70 examples by default (about half a minute on two cores), the same ones every run.
`PACKAGER_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py` runs that many fresh random examples per test.
"""

from __future__ import annotations

import io
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import keras
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keras import layers as L

from tests.conftest import REPO
from tests.helpers import describe_failures, parity_of, randomize_weights

pytestmark = pytest.mark.fuzz

ON_DEMAND = int(os.environ.get("PACKAGER_FUZZ_EXAMPLES", "0"))
CASE_TIMEOUT_S = 180  # one export of a tiny model takes seconds; minutes means it hangs


def budget(default: int) -> settings:
    """`default` examples, derandomized (the same every run); PACKAGER_FUZZ_EXAMPLES: that many, random."""
    return settings(
        max_examples=ON_DEMAND or default,
        derandomize=not ON_DEMAND,
        deadline=None,
        database=None,  # write nothing into the repository
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )


# ---------------------------------------------------------------------------------------------
# 1. Random architectures from supported layers


@dataclass(frozen=True)
class Architecture:
    """Input (length, channels) and a stack of (Keras layer class, kwargs): readable when hypothesis reports it."""

    length: int
    channels: int
    stack: tuple[tuple[str, tuple[tuple[str, object], ...]], ...]
    seed: int

    def build(self) -> keras.Model:
        layers = [getattr(L, cls)(**dict(kwargs)) for cls, kwargs in self.stack]
        model = keras.Sequential([keras.Input((self.length, self.channels)), *layers])
        randomize_weights(model, seed=self.seed)
        return model


ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear", "elu", "selu", "gelu", "softmax", "swish", "hard_sigmoid"]


def _layer(cls: str, **kwargs) -> tuple[str, tuple[tuple[str, object], ...]]:
    return cls, tuple(sorted(kwargs.items()))


@st.composite
def _length_changing_layer(draw, length: int):
    """A conv or pooling layer and the sequence length it leaves."""
    kind = draw(st.sampled_from(["conv", "maxpool", "avgpool"]))
    if kind == "conv":
        padding = draw(st.sampled_from(["valid", "same", "causal"]))
        k, d = draw(st.integers(1, 5)), draw(st.integers(1, 3))
        s = 1 if d > 1 else draw(st.integers(1, 3))
        layer = _layer(
            "Conv1D",
            filters=draw(st.integers(1, 8)),
            kernel_size=k,
            strides=s,
            dilation_rate=d,
            padding=padding,
            activation=draw(st.sampled_from(ACTIVATIONS)),
            use_bias=draw(st.booleans()),
        )
        span = (k - 1) * d + 1
    else:
        padding = draw(st.sampled_from(["valid", "same"]))
        k = draw(st.integers(1, 4))
        s = draw(st.integers(1, k))
        layer = _layer(
            "MaxPooling1D" if kind == "maxpool" else "AveragePooling1D", pool_size=k, strides=s, padding=padding
        )
        span = k
    out = -(-length // s) if padding in ("same", "causal") else (length - span) // s + 1
    return layer, out


@st.composite
def architectures(draw) -> Architecture:
    length, channels = draw(st.integers(6, 40)), draw(st.integers(1, 5))
    stack = []
    for _ in range(draw(st.integers(0, 3))):
        layer, out = draw(_length_changing_layer(length))
        if out >= 2:  # keep at least two steps for the layers after it
            stack.append(layer)
            length = out
        if draw(st.booleans()):
            stack.append(
                draw(
                    st.sampled_from(
                        [
                            _layer("BatchNormalization", epsilon=1e-3),
                            _layer("BatchNormalization", epsilon=0.1, center=False),
                            _layer("Activation", activation="relu"),
                            _layer("Activation", activation="softmax"),
                            _layer("Dropout", rate=0.3),
                            _layer("SpatialDropout1D", rate=0.2),
                            _layer("Dense", units=draw(st.integers(1, 6)), activation="tanh"),
                        ]
                    )
                )
            )
    head = draw(
        st.sampled_from(["LSTM", "GRU", "SimpleRNN", "Flatten", "GlobalMaxPooling1D", "GlobalAveragePooling1D"])
    )
    if head in ("LSTM", "GRU", "SimpleRNN"):
        options = {"units": draw(st.integers(1, 8)), "go_backwards": draw(st.booleans())}
        if head == "GRU":
            options["reset_after"] = draw(st.booleans())
        if head != "SimpleRNN" and draw(st.booleans()):
            options["recurrent_activation"] = draw(st.sampled_from(["sigmoid", "hard_sigmoid", "tanh"]))
        if draw(st.booleans()):
            stack += [_layer(head, return_sequences=True, **options), _layer("GlobalAveragePooling1D")]
        else:
            stack.append(_layer(head, **options))
    else:
        stack.append(_layer(head))
    stack.append(_layer("Dense", units=draw(st.integers(1, 5)), activation=draw(st.sampled_from(ACTIVATIONS))))
    return Architecture(length, channels, tuple(stack), draw(st.integers(0, 2**16)))


@budget(20)
@given(architectures())
def test_random_architecture_converts_with_parity(architecture: Architecture):
    model = architecture.build()
    parity = parity_of(model)
    assert parity.passed, f"{architecture}: {describe_failures(parity)}"


# ---------------------------------------------------------------------------------------------
# 2. Corrupted files through the CLI, in a worker process

_WORKER = textwrap.dedent(
    """
    import json, sys
    from typer.testing import CliRunner
    from packager.cli import app

    runner = CliRunner()
    for line in sys.stdin:
        result = runner.invoke(app, json.loads(line))
        crash = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            crash = repr(result.exception)
        answer = {"code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr, "crash": crash}
        sys.stdout.write("@@answer@@" + json.dumps(answer) + "\\n")
        sys.stdout.flush()
    """
)


class Worker:
    """`pack` in one long-lived process: TensorFlow starts once, each command has a time limit."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # native libraries' chatter; the CLI's own stderr comes back in answers
            text=True,
            cwd=REPO,
        )

    def run(self, *args: str) -> dict:
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(list(args)) + "\n")
        self.process.stdin.flush()
        while True:
            ready, _, _ = select.select([self.process.stdout], [], [], CASE_TIMEOUT_S)
            if not ready:
                self.stop()
                pytest.fail(f"pack {' '.join(args)} gave no answer within {CASE_TIMEOUT_S} s (hang)")
            line = self.process.stdout.readline()
            if not line:
                code = self.process.wait()
                self.process = None
                pytest.fail(f"pack {' '.join(args)} killed the process (exit {code})")
            if line.startswith("@@answer@@"):
                return json.loads(line.removeprefix("@@answer@@"))

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.stop()


class ValidFiles(dict):
    """Format -> bytes of a valid model file; a short repr, as hypothesis prints its arguments."""

    def __repr__(self) -> str:
        return f"ValidFiles({', '.join(f'{k}: {len(v)} bytes' for k, v in self.items())})"


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory) -> ValidFiles:
    folder = tmp_path_factory.mktemp("fuzz_seed")
    model = keras.Sequential(
        [
            keras.Input((16, 3)),
            L.Conv1D(4, 3, padding="same", name="conv"),
            L.GRU(4, name="gru"),
            L.Dense(2, name="out"),
        ],
        name="fuzzed",
    )
    randomize_weights(model, seed=11)
    model.save(folder / "m.keras")
    model.save(folder / "m.h5")
    return ValidFiles(keras=(folder / "m.keras").read_bytes(), h5=(folder / "m.h5").read_bytes())


def _zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buffer.getvalue()


def _flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, mask in flips:
        out[position % len(out)] ^= mask
    return bytes(out)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 300) | st.floats(-1e3, 1e3) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _json_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _json_paths(inner, (*path, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _json_paths(inner, (*path, i))


@st.composite
def _edited_json(draw, text: bytes) -> tuple[str, bytes]:
    """(what was done, the JSON `text` with one value replaced by a random one or one key/item removed)."""
    data = json.loads(text)
    paths = [p for p in _json_paths(data) if p]
    path = draw(st.sampled_from(paths))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    where = "/".join(map(str, path))
    if draw(st.booleans()):
        del parent[path[-1]]
        return f"deleted {where}", json.dumps(data).encode()
    parent[path[-1]] = value = draw(_json_values)
    return f"set {where} = {value!r}", json.dumps(data).encode()


_flips = st.lists(st.tuples(st.integers(0, 2**31), st.integers(1, 255)), min_size=1, max_size=8)


@st.composite
def corrupted_keras(draw, valid: bytes) -> tuple[str, bytes]:
    members = list(_zip_members(valid).items())
    how = draw(st.sampled_from(["truncate", "flip", "drop", "rename", "member_flip", "config_edit", "add_member"]))
    if how == "truncate":
        return how, valid[: draw(st.integers(0, len(valid) - 1))]
    if how == "flip":
        return how, _flip(valid, draw(_flips))
    index = draw(st.integers(0, len(members) - 1))
    name, data = members[index]
    if how == "drop":
        del members[index]
    elif how == "rename":
        members[index] = (
            draw(st.sampled_from(["Config.json", "config.json ", "../config.json", "a/config.json"])),
            data,
        )
    elif how == "member_flip":
        members[index] = (name, _flip(data, draw(_flips)))
    elif how == "config_edit":
        name = draw(st.sampled_from(["config.json", "metadata.json"]))
        edit, edited = draw(_edited_json(dict(members)[name]))
        members = [(n, edited if n == name else d) for n, d in members]
        name = f"{name}: {edit}"
    else:
        members.append(
            (draw(st.sampled_from(["config.json", "model.weights.h5", "x/../../y"])), draw(st.binary(max_size=64)))
        )
    return f"{how} {name}", _zip(members)


@st.composite
def corrupted_h5(draw, valid: bytes) -> tuple[str, bytes]:
    how = draw(st.sampled_from(["truncate", "flip", "config_edit", "drop_dataset"]))
    if how == "truncate":
        return how, valid[: draw(st.integers(0, len(valid) - 1))]
    if how == "flip":
        return how, _flip(valid, draw(_flips))
    buffer = io.BytesIO(valid)
    with h5py.File(buffer, "r+") as f:
        if how == "config_edit":
            config = f.attrs["model_config"]
            edit, f.attrs["model_config"] = draw(_edited_json(config.encode() if isinstance(config, str) else config))
            how = f"config_edit: {edit}"
        else:
            datasets: list[str] = []
            f["model_weights"].visititems(lambda n, o: datasets.append(n) if isinstance(o, h5py.Dataset) else None)
            victim = draw(st.sampled_from(sorted(datasets)))
            del f["model_weights"][victim]
            how = f"drop_dataset {victim}"
    return how, buffer.getvalue()


def _check_answer(what: str, answer: dict, allowed: tuple[int, ...]) -> None:
    assert answer["crash"] is None, f"{what}: uncaught {answer['crash']}"
    assert "Traceback" not in answer["stderr"], f"{what}: traceback\n{answer['stderr'][-3000:]}"
    assert answer["code"] in allowed, f"{what}: exit {answer['code']}: {answer['stderr'][-2000:]}"
    if answer["code"] != 0:
        lines = answer["stderr"].strip().splitlines()
        assert lines and lines[-1].startswith("pack: error:"), f"{what}: {lines[-5:]}"
        assert sum(line.startswith("pack: error:") for line in lines) == 1, f"{what}: {lines}"


def _export_and_inspect(worker: Worker, suffix: str, description: str, data: bytes) -> None:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        model, out = folder / f"model{suffix}", folder / "artifact"
        model.write_bytes(data)
        # 3 is an honest answer too: a flipped weight byte can make Keras and torch disagree (NaN, overflow).
        exported = worker.run("export", str(model), "-o", str(out), "--no-bench", "-q")
        _check_answer(f"export after {description}", exported, (0, 2, 3))
        if exported["code"] == 3:
            assert "parity check failed" in exported["stderr"], exported["stderr"][-2000:]
        assert exported["code"] == 0 or not out.exists(), f"{description}: failed export left {out}"
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            {model.name} | ({out.name} if out.exists() else set())
        )
        _check_answer(f"inspect after {description}", worker.run("inspect", str(model), "--json"), (0, 2))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@budget(30)
@given(data=st.data())
def test_corrupted_keras_file_fails_cleanly(data, worker, valid_files):
    description, corrupted = data.draw(corrupted_keras(valid_files["keras"]), label="corruption")
    _export_and_inspect(worker, ".keras", description, corrupted)


@budget(20)
@given(data=st.data())
def test_corrupted_h5_file_fails_cleanly(data, worker, valid_files):
    description, corrupted = data.draw(corrupted_h5(valid_files["h5"]), label="corruption")
    _export_and_inspect(worker, ".h5", description, corrupted)


def test_worker_reports_what_the_cli_reports(worker, valid_files, tmp_path):
    """The harness itself: a valid file exports (exit 0), a text file is refused in one line (exit 2)."""
    good, text = tmp_path / "good.keras", tmp_path / "text.keras"
    good.write_bytes(valid_files["keras"])
    text.write_text("hello")
    assert worker.run("export", str(good), "-o", str(tmp_path / "out"), "--no-bench", "-q")["code"] == 0
    assert (tmp_path / "out" / "model.pt").is_file()
    answer = worker.run("export", str(text), "-o", str(tmp_path / "out2"), "--no-bench", "-q")
    assert answer["code"] == 2 and answer["stderr"].strip().endswith(
        "not a Keras model (neither HDF5 nor a .keras zip)"
    )
