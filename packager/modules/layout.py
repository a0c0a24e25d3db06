"""Moving the channel axis between Keras's channels-last and torch's channels-first layout."""

from __future__ import annotations

import torch


def to_channels_first(x: torch.Tensor) -> torch.Tensor:
    """(B, *spatial, C) -> (B, C, *spatial)."""
    return torch.movedim(x, -1, 1)


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """(B, C, *spatial) -> (B, *spatial, C)."""
    return torch.movedim(x, 1, -1)
