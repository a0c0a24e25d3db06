"""TorchScript export: script (trace as fallback), save with the manifest embedded, reload.

Also writes the reference sample: one input and Keras's output for it, as `reference.pt` (a
TorchScript module whose buffers `input_<i>` / `output_<i>` hold the tensors, readable from C++
with torch::jit::load alone) and `reference.npz` for numpy users.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

MANIFEST_NAME = "manifest.json"
MODEL_NAME = "model.pt"
REFERENCE_NAME = "reference.pt"
REFERENCE_NPZ = "reference.npz"


@dataclass
class Scripted:
    module: torch.jit.ScriptModule
    method: str  # "script" or "trace"
    note: str | None


def to_torchscript(module: nn.Module, example_inputs: list[torch.Tensor]) -> Scripted:
    """torch.jit.script keeps every dynamic dimension; trace is the fallback and may fix some."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notice
        try:
            return Scripted(torch.jit.script(module), "script", None)
        except Exception as exc:  # scripting fails in many ways; all of them mean "try trace"
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            with torch.no_grad():
                traced = torch.jit.trace(module, tuple(example_inputs), check_trace=False)
            note = f"torch.jit.script failed ({reason}); traced instead, so data-dependent control flow is fixed"
            return Scripted(traced, "trace", note)


def save_torchscript(module: torch.jit.ScriptModule, path: Path, manifest: dict) -> None:
    torch.jit.save(module, str(path), _extra_files={MANIFEST_NAME: json.dumps(manifest, indent=2)})


def load_torchscript(path: Path) -> tuple[torch.jit.ScriptModule, dict]:
    """Load like a user would (plain torch.jit.load) and read the embedded manifest back."""
    extra = {MANIFEST_NAME: ""}
    module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    module.eval()
    return module, json.loads(extra[MANIFEST_NAME]) if extra[MANIFEST_NAME] else {}


class _ReferenceSample(nn.Module):
    """Holds tensors as buffers; forward exists only because TorchScript needs a method."""

    def __init__(self, inputs: list[torch.Tensor], outputs: list[torch.Tensor]):
        super().__init__()
        for i, tensor in enumerate(inputs):
            self.register_buffer(f"input_{i}", tensor)
        for i, tensor in enumerate(outputs):
            self.register_buffer(f"output_{i}", tensor)
        self.num_inputs = len(inputs)
        self.num_outputs = len(outputs)

    def forward(self) -> int:
        return self.num_inputs


def save_reference(directory: Path, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> dict:
    """Write reference.pt and reference.npz; return their manifest entry."""
    tensors_in = [torch.from_numpy(np.array(x, copy=True)) for x in inputs]
    tensors_out = [torch.from_numpy(np.array(y, copy=True)) for y in outputs]
    torch.jit.save(torch.jit.script(_ReferenceSample(tensors_in, tensors_out)), str(directory / REFERENCE_NAME))
    arrays = {f"input_{i}": x for i, x in enumerate(inputs)} | {f"output_{i}": y for i, y in enumerate(outputs)}
    np.savez(directory / REFERENCE_NPZ, **arrays)
    return {
        "file": REFERENCE_NAME,
        "npz": REFERENCE_NPZ,
        "inputs": [{"name": f"input_{i}", "shape": list(x.shape), "dtype": str(x.dtype)} for i, x in enumerate(inputs)],
        "outputs": [
            {"name": f"output_{i}", "shape": list(y.shape), "dtype": str(y.dtype)} for i, y in enumerate(outputs)
        ],
        "source": "keras",
    }


def load_reference(directory: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The reference sample's inputs and Keras outputs, from reference.npz."""
    with np.load(directory / REFERENCE_NPZ) as data:
        inputs = [data[k] for k in sorted((k for k in data.files if k.startswith("input_")), key=_index)]
        outputs = [data[k] for k in sorted((k for k in data.files if k.startswith("output_")), key=_index)]
    return inputs, outputs


def _index(key: str) -> int:
    return int(key.rsplit("_", 1)[1])
