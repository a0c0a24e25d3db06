"""Transposed convolution with TensorFlow's output size and alignment.

TF computes Conv*Transpose as the gradient of a forward convolution whose input has the target size
N: per spatial dim, N = (n - 1) * s + k_eff + output_padding for `valid` (output_padding defaults to
max(k_eff, s) - k_eff), N = n * s for `same` without output_padding and
(n - 1) * s + k_eff % 2 + output_padding with it (k_eff = (k - 1) * d + 1). torch's unpadded
transposed convolution yields the full F = (n - 1) * s + k_eff cells; TF's output is that full
result shifted by the forward conv's leading pad (0 for `valid`; for `same`
total = max((ceil(N / s) - 1) * s + k_eff - N, 0), lead = total // 2), cut or zero-extended to N.
The bias is added after, so zero-extended cells carry it too, as in Keras.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


class TransposeConvTF(nn.Module):
    """An unpadded, bias-free torch ConvTranspose on channels-first tensors, re-aligned as TF does."""

    def __init__(
        self,
        conv: nn.Module,
        kernel: list[int],
        stride: list[int],
        dilation: list[int],
        same: bool,
        output_padding: Optional[list[int]],
        bias: Optional[torch.Tensor],
    ):
        super().__init__()
        self.conv = conv
        self.effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
        self.stride = list(stride)
        self.same = same
        self.has_output_padding = output_padding is not None
        self.output_padding = list(output_padding) if output_padding is not None else [0] * len(kernel)
        if bias is not None:
            bias = bias.reshape([-1] + [1] * len(kernel))
        self.bias = nn.Parameter(bias) if bias is not None else None

    def target_size(self, n: int, i: int) -> int:
        k, s, op = self.effective[i], self.stride[i], self.output_padding[i]
        if not self.same:
            if not self.has_output_padding:
                op = max(k, s) - k
            return (n - 1) * s + k + op
        if not self.has_output_padding:
            return n * s
        return (n - 1) * s + k % 2 + op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        pads: list[int] = []
        for i in range(len(self.stride) - 1, -1, -1):  # F.pad lists the last dim first
            n, full = x.shape[2 + i], y.shape[2 + i]
            size = self.target_size(n, i)
            lead = 0
            if self.same:
                k, s = self.effective[i], self.stride[i]
                lead = max(((size + s - 1) // s - 1) * s + k - size, 0) // 2
            pads.append(-lead)  # negative padding crops
            pads.append(size + lead - full)
        y = F.pad(y, pads)
        bias = self.bias
        if bias is not None:
            y = y + bias
        return y
