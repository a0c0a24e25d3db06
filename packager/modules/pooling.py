"""Pooling with Keras semantics on channels-first tensors."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


class AvgPoolExcludePad(nn.Module):
    """Average pooling after explicit padding, dividing by the count of real (unpadded) cells.

    Keras `same` average pooling ignores the padded cells; torch's own padding is symmetric only,
    so pad explicitly and divide the pooled input by the pooled mask of real cells.
    """

    def __init__(self, pad: nn.Module, pool: nn.Module):
        super().__init__()
        self.pad = pad
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ones = torch.ones_like(x.narrow(1, 0, 1))
        return self.pool(self.pad(x)) / self.pool(self.pad(ones))


class GlobalPool(nn.Module):
    """Max or mean over `dims`, keeping them as size-1 axes when `keepdims`."""

    def __init__(self, dims: list[int], mode: str, keepdims: bool):
        super().__init__()
        self.dims = list(dims)
        self.is_max = mode == "max"
        self.keepdims = keepdims

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.is_max:
            return torch.amax(x, dim=self.dims, keepdim=self.keepdims)
        if mask is not None:
            # Keras's masked GlobalAveragePooling1D: the mean over unmasked steps only,
            # sum(x where mask) / sum(mask) (0/0 for a fully masked row, as in Keras).
            shape = [x.shape[0]] + [1] * (x.dim() - 1)
            shape[self.dims[0]] = x.shape[self.dims[0]]
            keep = mask.to(torch.bool).reshape(shape)
            total = torch.where(keep, x, torch.zeros_like(x)).sum(dim=self.dims, keepdim=self.keepdims)
            return total / keep.to(x.dtype).sum(dim=self.dims, keepdim=self.keepdims)
        return torch.mean(x, dim=self.dims, keepdim=self.keepdims)


def max_pool(ndim: int, pool: list[int], stride: list[int], padding: list[int]) -> nn.Module:
    """torch max pooling; its own (symmetric) padding counts as -inf, as TF's does."""
    return [nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d][ndim - 1](pool, stride, padding)


def avg_pool(ndim: int, pool: list[int], stride: list[int], padding: list[int]) -> nn.Module:
    """torch average pooling; its own (symmetric) padding is left out of the average, as TF's is."""
    cls = [nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d][ndim - 1]
    return cls(pool, stride, padding, count_include_pad=False)
