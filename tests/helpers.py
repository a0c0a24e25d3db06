"""Test helpers: non-trivial random weights and a parity check that reports numbers."""

from __future__ import annotations

import numpy as np
import torch

from packager.assemble import convert
from packager.keras_loader import describe, keras_predict
from packager.runtime import numpy_runner
from packager.validate import Parity, check_stage, keras_reference


def randomize_weights(model, seed: int = 0, scale: float = 0.5) -> None:
    """Random weights everywhere, so swapped gates, missing biases or wrong BN stats show.

    Variances get values in [0.5, 2] (they must stay positive); everything else N(0, scale).
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        path = variable.path
        if "variance" in path:
            value = rng.uniform(0.5, 2.0, size=shape)
        else:
            value = rng.normal(0.0, scale, size=shape)
        variable.assign(value.astype(variable.dtype))


def parity_of(model, atol: float = 1e-5, rtol: float = 1e-4, script: bool = True) -> Parity:
    """Convert the in-memory Keras `model` and compare eager (and scripted) torch with Keras."""
    graph = describe(model)
    converted = convert(graph)
    reference = keras_reference(graph, lambda xs: keras_predict(model, xs))
    parity = Parity(atol, rtol)
    check_stage("eager", numpy_runner(converted.module), reference, parity)
    if script:
        check_stage("script", numpy_runner(torch.jit.script(converted.module)), reference, parity)
    return parity


def describe_failures(parity: Parity) -> str:
    return "; ".join(
        f"{r.stage} batch={r.batch} len={r.seq_len}: max_abs={r.max_abs_err:.3g} max_rel={r.max_rel_err:.3g}"
        + (f" ({r.note})" if r.note else "")
        for r in parity.failures()
    )
