"""Keras reshaping layers (cropping, up-sampling, repeat, reshape, permute) as torch modules."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Crop(nn.Module):
    """Cut (left, right) cells from each of the last len(crops) dims (sizes may be dynamic)."""

    def __init__(self, crops: list[tuple[int, int]]):
        super().__init__()
        self.left = [int(left) for left, _ in crops]
        self.right = [int(right) for _, right in crops]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = x.dim() - len(self.left)
        for i in range(len(self.left)):
            dim = first + i
            x = x.narrow(dim, self.left[i], x.shape[dim] - self.left[i] - self.right[i])
        return x


class RepeatAxes(nn.Module):
    """Nearest-neighbour up-sampling: repeat every cell `repeats[i]` times along `dims[i]` (Keras ops.repeat)."""

    def __init__(self, repeats: list[int], dims: list[int]):
        super().__init__()
        self.repeats = [int(r) for r in repeats]
        self.dims = [int(d) for d in dims]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for repeat, dim in zip(self.repeats, self.dims):
            if repeat != 1:
                x = torch.repeat_interleave(x, repeat, dim=dim)
        return x


class BilinearUpsample2D(nn.Module):
    """tf.image.resize(bilinear, half_pixel_centers) by integer factors on (B, C, H, W).

    For integer factors TF's source coordinate (dst + 0.5) / factor - 0.5, clamped at the edges, is
    torch's align_corners=False rule with that scale factor.
    """

    def __init__(self, size: list[int]):
        super().__init__()
        self.size = [float(s) for s in size]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.size, mode="bilinear", align_corners=False)


class RepeatVector(nn.Module):
    """(B, F) -> (B, n, F)."""

    def __init__(self, n: int):
        super().__init__()
        self.n = int(n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1).repeat(1, self.n, 1)


class Reshape(nn.Module):
    """(B, ...) -> (B, *target_shape); one -1 in the target is inferred, as in Keras."""

    def __init__(self, target_shape: list[int]):
        super().__init__()
        self.target_shape = [int(d) for d in target_shape]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape([x.shape[0]] + self.target_shape)


class Permute(nn.Module):
    """Keras Permute(dims): dims are 1-based and leave the batch axis in place."""

    def __init__(self, dims: list[int]):
        super().__init__()
        self.order = [0] + [int(d) for d in dims]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.order)
