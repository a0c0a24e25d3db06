"""Latency of the artifact (and Keras beside it): warm-up, then p50/p90 over timed calls.

Numbers are per call on pre-made inputs; thread counts are pinned per row and reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from packager.graph import ModelGraph
from packager.runtime import to_tensors
from packager.validate import Case, make_inputs

DEFAULT_BATCH_SIZES = (1, 32)


@dataclass
class Row:
    runtime: str
    device: str
    threads: str
    batch: int
    p50_ms: float
    p90_ms: float
    iters: int

    def to_dict(self) -> dict:
        return asdict(self)


def measure(
    call: Callable[[], object], warmup: int = 3, min_iters: int = 10, max_iters: int = 300, budget_s: float = 0.5
) -> list[float]:
    """Seconds per call: `warmup` untimed calls, then until `budget_s` or `max_iters` is reached."""
    for _ in range(warmup):
        call()
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < max_iters and (len(times) < min_iters or time.perf_counter() < deadline):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def summarize(runtime: str, device: str, threads: str, batch: int, times: list[float]) -> Row:
    ms = np.asarray(times) * 1e3
    return Row(runtime, device, threads, batch, float(np.percentile(ms, 50)), float(np.percentile(ms, 90)), len(times))


def bench_inputs(graph: ModelGraph, batch: int) -> list[np.ndarray]:
    return make_inputs(graph, Case(batch, None), seed=1234)


def bench_torch(
    module: torch.nn.Module,
    graph: ModelGraph,
    runtime: str,
    batch_sizes=DEFAULT_BATCH_SIZES,
    thread_counts: tuple[int | None, ...] = (1, None),
    device: str = "cpu",
    budget_s: float = 0.5,
) -> list[Row]:
    """Rows for `module` per batch size and thread count (None: torch's default)."""
    default_threads = torch.get_num_threads()
    rows = []
    module = module.to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    try:
        for threads in thread_counts if device == "cpu" else (None,):
            torch.set_num_threads(threads or default_threads)
            label = str(threads) if threads else f"default ({default_threads})"
            for batch in batch_sizes:
                tensors = to_tensors(bench_inputs(graph, batch), device)

                def call(tensors=tensors):
                    with torch.inference_mode():
                        module(*tensors)
                    sync()

                rows.append(summarize(runtime, device, label, batch, measure(call, budget_s=budget_s)))
    finally:
        torch.set_num_threads(default_threads)
        module.to("cpu")
    return rows


def bench_callable(
    make_call: Callable[[list[np.ndarray]], Callable[[], object]],
    graph: ModelGraph,
    runtime: str,
    threads: str,
    batch_sizes=DEFAULT_BATCH_SIZES,
    budget_s: float = 0.5,
) -> list[Row]:
    """Rows for another runtime (Keras): `make_call(inputs)` returns a zero-argument call."""
    return [
        summarize(runtime, "cpu", threads, batch, measure(make_call(bench_inputs(graph, batch)), budget_s=budget_s))
        for batch in batch_sizes
    ]
