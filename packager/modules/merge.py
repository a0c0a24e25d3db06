"""Keras merge layers as torch modules taking the list of inputs (Keras order)."""

from __future__ import annotations

import torch
from torch import nn


class ElementwiseMerge(nn.Module):
    """Add / Subtract / Multiply / Average / Maximum / Minimum, folded left to right as Keras does.

    `expand[i]` size-1 axes are inserted after the batch axis of input i: Keras's rule when the
    inputs' ranks differ, so they broadcast against the highest-rank input.
    """

    def __init__(self, op: str, expand: list[int]):
        super().__init__()
        if op not in ("add", "subtract", "multiply", "average", "maximum", "minimum"):
            raise ValueError(f"unknown merge {op!r}")
        self.op = op
        self.expand = [int(e) for e in expand]

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        ys: list[torch.Tensor] = []
        for i, x in enumerate(xs):
            for _ in range(self.expand[i]):
                x = x.unsqueeze(1)
            ys.append(x)
        out = ys[0]
        for y in ys[1:]:
            if self.op == "add" or self.op == "average":
                out = out + y
            elif self.op == "subtract":
                out = out - y
            elif self.op == "multiply":
                out = out * y
            elif self.op == "maximum":
                out = torch.maximum(out, y)
            else:
                out = torch.minimum(out, y)
        if self.op == "average":
            out = out / float(len(ys))
        return out


class Concatenate(nn.Module):
    """torch.cat along `dim`."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = int(dim)

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)
