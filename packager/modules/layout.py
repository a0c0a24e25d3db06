"""Moving the channel axis between Keras's channels-last and torch's channels-first layout."""

from __future__ import annotations

import torch
from torch import nn


def to_channels_first(x: torch.Tensor) -> torch.Tensor:
    """(B, *spatial, C) -> (B, C, *spatial)."""
    return torch.movedim(x, -1, 1)


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """(B, C, *spatial) -> (B, *spatial, C)."""
    return torch.movedim(x, 1, -1)


class ChannelsFirstInside(nn.Module):
    """Run a channels-first module on a channels-last tensor: move the channel axis in and back out."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return to_channels_last(self.inner(to_channels_first(x)))
