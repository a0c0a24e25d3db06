"""Artifact formats beside TorchScript's model.pt: torch.export and AOTInductor.

- `export`: a torch.export ExportedProgram (`model.export.pt2`), TorchScript's successor. Load with
  `torch.export.load(path).module()`.
- `aoti`: an AOTInductor package (`model.aoti.pt2`): compiled C++/kernels, loadable from Python
  (`torch._inductor.aoti_load_package`) and C++ (`torch::inductor::AOTIModelPackageLoader`). Its input
  own input checks run only when the process sets AOTI_RUNTIME_CHECK_INPUTS=1, and then also enforce a
  spurious batch bound, so packager's loader checks the shapes itself (`ShapeCheckedPackage`) and a
  wrong shape raises instead of returning garbage.

Batch is exported dynamic. Other dimensions Keras leaves as None are offered to torch.export as
`Dim.AUTO`; where torch specializes them (sequence length through MaxPool1d/LSTM in torch 2.13) the
manifest says which dimension was fixed and to what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from packager.graph import ModelGraph

FORMAT_FILES = {"export": "model.export.pt2", "aoti": "model.aoti.pt2"}
EXTRA_FORMATS = tuple(FORMAT_FILES)


@dataclass
class Exported:
    """A produced format: where it is, what stayed dynamic, and the reloaded module to check."""

    name: str
    file: str
    dynamic_dims: list[list[int]]  # per input, the dims that stayed dynamic
    compiled_shapes: list[list[int]]  # per input, the example shape it was produced from
    fixed_dims: list[dict] = field(default_factory=list)  # {"input", "dim", "size"} torch specialized
    note: str | None = None


def _dynamic_shapes(graph: ModelGraph) -> tuple:
    shapes = []
    for spec in graph.inputs:
        dims = {0: torch.export.Dim("batch", min=1, max=1 << 20)}
        for axis, size in enumerate(spec.shape[1:], start=1):
            if size is None:
                dims[axis] = torch.export.Dim.AUTO
        shapes.append(dims)
    return tuple(shapes)


def export_program(module: torch.nn.Module, graph: ModelGraph, example: list[torch.Tensor]):
    """torch.export with dynamic batch (example batch >= 2: batch 1 would specialize)."""
    return torch.export.export(module, tuple(example), dynamic_shapes=_dynamic_shapes(graph), strict=False)


def _dims_of(program, graph: ModelGraph, example: list[torch.Tensor]) -> tuple[list[list[int]], list[dict]]:
    placeholders = [n for n in program.graph.nodes if n.op == "placeholder"]
    user = placeholders[-len(graph.inputs) :]
    dynamic, fixed = [], []
    for i, (node, spec) in enumerate(zip(user, graph.inputs)):
        shape = node.meta["val"].shape
        dyn = [axis for axis, size in enumerate(shape) if not isinstance(size, int)]
        dynamic.append(dyn)
        for axis, size in enumerate(spec.shape):
            if size is None and axis not in dyn:
                fixed.append({"input": spec.name, "dim": axis, "size": int(example[i].shape[axis])})
    return dynamic, fixed


def write_format(
    name: str, module: torch.nn.Module, graph: ModelGraph, example: list[torch.Tensor], directory: Path
) -> Exported:
    """Produce format `name` in `directory`; raises on failure (the caller records it)."""
    program = export_program(module, graph, example)
    dynamic, fixed = _dims_of(program, graph, example)
    path = directory / FORMAT_FILES[name]
    if name == "export":
        torch.export.save(program, str(path))
    else:
        # Without this, the runtime input checks reject batch 1 (torch's "sizes 0/1 are special" bound).
        configs = {"aot_inductor.check_lowerbound": False}
        torch._inductor.aoti_compile_and_package(program, package_path=str(path), inductor_configs=configs)
    note = None
    if fixed:
        what = ", ".join(f"{f['input']} dim {f['dim']} = {f['size']}" for f in fixed)
        note = f"torch.export fixed dimension(s) Keras leaves dynamic: {what}"
    shapes = [list(t.shape) for t in example]
    return Exported(name, FORMAT_FILES[name], dynamic, shapes, fixed, note)


class ShapeCheckedPackage:
    """An AOTInductor package behind a check of the input shapes it was compiled for.

    AOTInductor's own checks (AOTI_RUNTIME_CHECK_INPUTS=1) also enforce an upper batch bound that
    inductor derives on its own (15 for the seed CNN-LSTM in torch 2.13, although larger batches
    compute correctly), so the loader checks rank and every static dimension itself.
    """

    def __init__(self, runner, shapes: list[tuple[int | None, ...]]):
        self.runner = runner
        self.shapes = shapes

    def __call__(self, *inputs: torch.Tensor):
        if len(inputs) != len(self.shapes):
            raise ValueError(f"expected {len(self.shapes)} inputs, got {len(inputs)}")
        for i, (tensor, shape) in enumerate(zip(inputs, self.shapes)):
            fits = tensor.dim() == len(shape) and all(s is None or s == d for s, d in zip(shape, tensor.shape))
            if not fits:
                raise ValueError(f"input {i}: expected shape {list(shape)} (None: any), got {list(tensor.shape)}")
        return self.runner(*inputs)


def load_format(entry: dict, directory: Path):
    """Load a produced format back as a server would; `entry` is its manifest record."""
    path = Path(directory) / entry["file"]
    if entry["name"] == "export":
        return torch.export.load(str(path)).module()  # checks its input shapes itself
    shapes = [
        tuple(None if axis in dynamic else size for axis, size in enumerate(shape))
        for dynamic, shape in zip(entry["dynamic_dims"], entry["compiled_shapes"])
    ]
    return ShapeCheckedPackage(torch._inductor.aoti_load_package(str(path)), shapes)
