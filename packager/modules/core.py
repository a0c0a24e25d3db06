"""Small modules for Keras core layers."""

from __future__ import annotations

import torch
from torch import nn


class ChannelAffine(nn.Module):
    """y = x * scale + shift, with scale/shift shaped to broadcast along one channel axis.

    Inference BatchNormalization in TF's own arrangement: scale = gamma * rsqrt(var + eps),
    shift = beta - mean * scale.
    """

    def __init__(self, scale: torch.Tensor, shift: torch.Tensor):
        super().__init__()
        self.register_buffer("scale", scale)
        self.register_buffer("shift", shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


class Flatten(nn.Module):
    """(B, ...) -> (B, -1) in Keras order; `channels_first` input is moved to channels-last first."""

    def __init__(self, channels_first: bool = False):
        super().__init__()
        self.channels_first = channels_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_first and x.dim() > 2:
            x = torch.movedim(x, 1, -1)
        return x.reshape(x.shape[0], -1)
