"""Calling torch modules with numpy inputs, as the validation and benchmark stages do."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def to_tensors(inputs: list[np.ndarray], device: str = "cpu") -> list[torch.Tensor]:
    return [torch.from_numpy(np.array(x, copy=True)).to(device) for x in inputs]


def as_output_list(result) -> list[torch.Tensor]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def numpy_runner(module: torch.nn.Module, device: str = "cpu") -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    """A function list-of-arrays -> list-of-arrays that runs `module` without autograd."""

    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        with torch.inference_mode():
            result = module(*to_tensors(inputs, device))
        return [t.detach().cpu().numpy() for t in as_output_list(result)]

    return run
