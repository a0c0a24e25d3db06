"""Latency you can trust: every runtime on the same inputs, interleaved, threads pinned and reported.

For each batch size every runtime is warmed up, then timed in rounds: round r times a block of calls
of runtime 1, then runtime 2, ... so that drift of the machine (frequency, other load) hits all
runtimes alike. Reported per (runtime, device, threads, batch): p50 / p90 / p99 latency of one call on
pre-made inputs, and throughput in samples per second (batch / mean latency).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from packager.graph import ModelGraph
from packager.runtime import to_tensors
from packager.validate import Case, make_inputs

DEFAULT_BATCH_SIZES = (1, 32)

# make_call(inputs) -> a zero-argument function that runs the model once on those inputs.
CallFactory = Callable[[list[np.ndarray]], Callable[[], object]]


@dataclass
class Runtime:
    """One way of running the model. `threads` says what it runs with (pinned, or a default)."""

    name: str
    make_call: CallFactory
    device: str = "cpu"
    threads: str = "1"
    batch_sizes: tuple[int, ...] | None = None  # None: every batch size asked for


@dataclass
class Row:
    runtime: str
    device: str
    threads: str
    batch: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    throughput_per_s: float
    iters: int

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(runtime: Runtime, batch: int, times: list[float]) -> Row:
    ms = np.asarray(times) * 1e3
    p50, p90, p99 = (float(np.percentile(ms, q)) for q in (50, 90, 99))
    return Row(
        runtime.name, runtime.device, runtime.threads, batch, p50, p90, p99, batch / (ms.mean() / 1e3), len(times)
    )


def bench_inputs(graph: ModelGraph, batch: int, seq_len: int | None = None) -> list[np.ndarray]:
    return make_inputs(graph, Case(batch, seq_len), seed=1234)


def run_interleaved(
    runtimes: list[Runtime],
    graph: ModelGraph,
    batch_sizes=DEFAULT_BATCH_SIZES,
    iters: int = 200,
    rounds: int = 10,
    warmup: int = 5,
) -> list[Row]:
    """Time every runtime at every batch size, `iters` calls each, spread over `rounds` rounds."""
    rows: list[Row] = []
    per_round = max(1, iters // rounds)
    for batch in batch_sizes:
        active = [rt for rt in runtimes if rt.batch_sizes is None or batch in rt.batch_sizes]
        inputs = bench_inputs(graph, batch)
        calls = [rt.make_call(inputs) for rt in active]
        for call in calls:
            for _ in range(warmup):
                call()
        times: list[list[float]] = [[] for _ in active]
        for _ in range(rounds):
            for call, bucket in zip(calls, times):
                for _ in range(per_round):
                    start = time.perf_counter()
                    call()
                    bucket.append(time.perf_counter() - start)
        rows += [summarize(rt, batch, bucket) for rt, bucket in zip(active, times)]
    return rows


def torch_runtime(
    name: str, module: torch.nn.Module, threads: int | None, device: str = "cpu", default_threads: int | None = None
) -> Runtime:
    """A torch module (TorchScript, eager, torch.export, AOTInductor) with its thread count pinned.

    `threads=None` means torch's default count, `default_threads` (read before anything re-pinned it).
    """
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    count = threads or default_threads or torch.get_num_threads()

    def make_call(inputs: list[np.ndarray]):
        tensors = to_tensors(inputs, device)

        def call():
            torch.set_num_threads(count)
            with torch.inference_mode():
                module(*tensors)
            sync()

        return call

    label = str(threads) if threads else f"default ({count})"
    return Runtime(name, make_call, device, label if device == "cpu" else "-")


@dataclass
class BenchResult:
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"rows": [r.to_dict() for r in self.rows], "notes": self.notes}
