"""Parity: run the torch module and Keras on the same random inputs and compare.

Pass criterion per element (numpy.allclose): |torch - keras| <= atol + rtol * |keras|.
Reported: max_abs_err = max |torch - keras|; max_rel_err = max_abs_err / max |keras| (the error
relative to the output's scale, which stays meaningful where outputs cross zero).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from packager.graph import ModelGraph, TensorSpec

DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-4
BATCH_SIZES = (1, 4)
SEQUENCE_LENGTHS = (48, 97)  # used only where Keras leaves a non-batch dimension as None


@dataclass
class Case:
    """One input shape to compare on."""

    batch: int
    seq_len: int | None


@dataclass
class CaseResult:
    stage: str
    batch: int
    seq_len: int | None
    max_abs_err: float
    max_rel_err: float
    passed: bool
    note: str | None = None


@dataclass
class Parity:
    atol: float
    rtol: float
    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def max_abs_err(self) -> float:
        return max((r.max_abs_err for r in self.results), default=float("nan"))

    @property
    def max_rel_err(self) -> float:
        return max((r.max_rel_err for r in self.results), default=float("nan"))

    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "max_abs_err": self.max_abs_err,
            "max_rel_err": self.max_rel_err,
            "atol": self.atol,
            "rtol": self.rtol,
            "tried": [asdict(r) for r in self.results],
        }


def has_dynamic_length(specs: Sequence[TensorSpec]) -> bool:
    return any(dim is None for spec in specs for dim in spec.shape[1:])


def cases_for(graph: ModelGraph) -> list[Case]:
    """Batch 1 and a larger batch; two sequence lengths when one is dynamic."""
    lengths: tuple[int | None, ...] = SEQUENCE_LENGTHS if has_dynamic_length(graph.inputs) else (None,)
    return [Case(batch, length) for length in lengths for batch in BATCH_SIZES]


def embedding_inputs(graph: ModelGraph) -> dict[str, tuple[int, bool]]:
    """Model inputs an Embedding reads: (vocabulary size, whether it masks zero ids)."""
    found: dict[str, tuple[int, bool]] = {}
    for call in graph.calls:
        spec = graph.layers[call.layer]
        if spec.class_name == "Embedding" and spec.config.get("input_dim"):
            vocab, masks = int(spec.config["input_dim"]), bool(spec.config.get("mask_zero"))
            for tensor in call.inputs:
                known_vocab, known_masks = found.get(tensor, (vocab, masks))
                found[tensor] = (min(vocab, known_vocab), masks or known_masks)
    return found


def embedding_ids(rng: np.random.Generator, shape: tuple[int, ...], vocab: int, padded: bool) -> np.ndarray:
    """Whole-number ids below `vocab`. `padded`: ids start at 1 and rows of a (batch, time) input
    get zero padding, in turn at the end, at the start, and none, so a mask is exercised both ways."""
    ids = rng.integers(1 if padded and vocab > 1 else 0, vocab, size=shape)
    if padded and len(shape) == 2 and shape[1] > 2:
        for row in range(shape[0]):
            pad = int(rng.integers(1, shape[1] // 2 + 1))
            if row % 3 == 0:
                ids[row, shape[1] - pad :] = 0
            elif row % 3 == 1:
                ids[row, :pad] = 0
    return ids


def concrete_shape(spec: TensorSpec, batch: int, seq_len: int | None) -> tuple[int, ...]:
    dims = [batch]
    for dim in spec.shape[1:]:
        dims.append(dim if dim is not None else (seq_len or SEQUENCE_LENGTHS[0]))
    return tuple(dims)


def make_inputs(graph: ModelGraph, case: Case, seed: int) -> list[np.ndarray]:
    """Seeded inputs: standard normal floats; for an input an Embedding reads, ids below its
    vocabulary size, as whole numbers also when the input is float (Keras casts them)."""
    rng = np.random.default_rng(seed)
    embedded = embedding_inputs(graph)
    arrays = []
    for spec in graph.inputs:
        shape = concrete_shape(spec, case.batch, case.seq_len)
        if spec.name in embedded:
            ids = embedding_ids(rng, shape, *embedded[spec.name])
            arrays.append(ids.astype(spec.dtype if "int" in spec.dtype or "float" in spec.dtype else "float32"))
        elif "int" in spec.dtype:
            arrays.append(rng.integers(0, 100, size=shape).astype(spec.dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(spec.dtype if "float" in spec.dtype else "float32"))
    return arrays


def compare(
    reference: list[np.ndarray], got: list[np.ndarray], atol: float, rtol: float
) -> tuple[float, float, bool, str | None]:
    """(max_abs_err, max_rel_err, passed, note) over all outputs."""
    if len(reference) != len(got):
        return float("inf"), float("inf"), False, f"{len(got)} outputs, Keras has {len(reference)}"
    max_abs, scale, passed = 0.0, 0.0, True
    for i, (ref, out) in enumerate(zip(reference, got)):
        if ref.shape != out.shape:
            return float("inf"), float("inf"), False, f"output {i} has shape {out.shape}, Keras {ref.shape}"
        ref64, out64 = ref.astype(np.float64), out.astype(np.float64)
        diff = np.abs(out64 - ref64)
        if not np.all(np.isfinite(out64) == np.isfinite(ref64)):
            return float("inf"), float("inf"), False, f"output {i}: non-finite values differ"
        finite = np.isfinite(ref64)
        if diff[finite].size:
            max_abs = max(max_abs, float(diff[finite].max()))
            scale = max(scale, float(np.abs(ref64[finite]).max()))
        passed = passed and bool(np.all(diff[finite] <= atol + rtol * np.abs(ref64[finite])))
    return max_abs, max_abs / scale if scale > 0 else max_abs, passed, None


@dataclass
class ReferenceData:
    """Keras's outputs for each case, computed once and reused for every stage."""

    cases: list[Case]
    inputs: list[list[np.ndarray]]
    outputs: list[list[np.ndarray]]

    def matching(self, fixed_dims: list[dict], input_names: list[str]) -> ReferenceData:
        """Only the cases whose inputs have the sizes a format fixed ({"input", "dim", "size"} each)."""
        index = {name: i for i, name in enumerate(input_names)}

        def fits(inputs: list[np.ndarray]) -> bool:
            return all(inputs[index[f["input"]]].shape[f["dim"]] == f["size"] for f in fixed_dims)

        keep = [i for i, inputs in enumerate(self.inputs) if fits(inputs)]
        return ReferenceData(
            [self.cases[i] for i in keep], [self.inputs[i] for i in keep], [self.outputs[i] for i in keep]
        )


def keras_reference(
    graph: ModelGraph, keras_fn: Callable[[list[np.ndarray]], list[np.ndarray]], seed: int = 0
) -> ReferenceData:
    cases = cases_for(graph)
    inputs = [make_inputs(graph, case, seed + i) for i, case in enumerate(cases)]
    return ReferenceData(cases, inputs, [keras_fn(x) for x in inputs])


def check_stage(
    stage: str,
    run: Callable[[list[np.ndarray]], list[np.ndarray]],
    reference: ReferenceData,
    parity: Parity,
) -> list[CaseResult]:
    """Compare `run` with Keras on every reference case; append the results to `parity`."""
    results = []
    for case, inputs, expected in zip(reference.cases, reference.inputs, reference.outputs):
        try:
            got = run(inputs)
            max_abs, max_rel, ok, note = compare(expected, got, parity.atol, parity.rtol)
        except Exception as exc:  # a shape the module cannot take is a parity failure, not a crash
            max_abs, max_rel, ok, note = (
                float("inf"),
                float("inf"),
                False,
                f"{type(exc).__name__}: {exc}".splitlines()[0],
            )
        results.append(CaseResult(stage, case.batch, case.seq_len, max_abs, max_rel, ok, note))
    parity.results.extend(results)
    return results
