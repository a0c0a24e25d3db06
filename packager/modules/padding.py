"""TensorFlow's padding rules, which torch does not have built in.

`same`: out = ceil(n / s); total = max((out - 1) * s + (k - 1) * d + 1 - n, 0);
left = total // 2, right = total - left (the odd cell goes at the end). With stride > 1 the amount
depends on the input length, so it is computed at run time to keep lengths dynamic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def same_padding_static(kernel: list[int], dilation: list[int]) -> list[tuple[int, int]]:
    """(left, right) per spatial dim for stride 1, where the amount does not depend on n."""
    pads = []
    for k, d in zip(kernel, dilation):
        total = (k - 1) * d
        pads.append((total // 2, total - total // 2))
    return pads


class SamePad(nn.Module):
    """Pad a channels-first tensor (B, C, *spatial) as TF's `same` does, at run time."""

    def __init__(self, kernel: list[int], stride: list[int], dilation: list[int], value: float = 0.0):
        super().__init__()
        self.kernel = list(kernel)
        self.stride = list(stride)
        self.dilation = list(dilation)
        self.value = float(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for i in range(len(self.kernel) - 1, -1, -1):  # F.pad lists the last dim first
            n = x.shape[2 + i]
            s = self.stride[i]
            effective = (self.kernel[i] - 1) * self.dilation[i] + 1
            total = max(((n + s - 1) // s - 1) * s + effective - n, 0)
            pads.append(total // 2)
            pads.append(total - total // 2)
        return F.pad(x, pads, value=self.value)


class ConstantPad(nn.Module):
    """Fixed (left, right) padding per spatial dim of a channels-first tensor."""

    def __init__(self, pads: list[tuple[int, int]], value: float = 0.0):
        super().__init__()
        flat: list[int] = []
        for left, right in reversed(pads):
            flat += [int(left), int(right)]
        self.pads = flat
        self.value = float(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pads, value=self.value)
