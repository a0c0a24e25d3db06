"""Keras Embedding and Masking, and the (batch, time) masks they create, as torch modules."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Embedding(nn.Module):
    """ids -> rows of the (vocab, dim) table, as keras.layers.Embedding computes it.

    Keras casts non-integer ids to int32 (truncating toward zero) and looks them up with
    `ops.take`, which counts negative ids from the end of the table; both are done here.
    """

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(table)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ids = x.to(torch.int64)
        ids = torch.where(ids < 0, ids + self.weight.shape[0], ids)
        return F.embedding(ids, self.weight)


class NonZeroMask(nn.Module):
    """Embedding(mask_zero=True)'s mask: ids != 0, on the ids as given (before any cast)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x != 0


class Masking(nn.Module):
    """keras.layers.Masking: steps whose features all equal `mask_value` become zeros."""

    def __init__(self, mask_value: float):
        super().__init__()
        self.mask_value = float(mask_value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = torch.any(x != self.mask_value, dim=-1, keepdim=True)
        return torch.where(keep, x, torch.zeros_like(x))


class MaskingMask(nn.Module):
    """Masking's mask: a step is kept when any of its features differs from `mask_value`."""

    def __init__(self, mask_value: float):
        super().__init__()
        self.mask_value = float(mask_value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.any(x != self.mask_value, dim=-1)
