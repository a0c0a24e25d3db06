"""LayerNormalization as Keras 3 computes it (keras/src/ops/nn.py::_layer_normalization)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


class KerasLayerNorm(nn.Module):
    """mean, var = moments(x, dims); inv = rsqrt(var + eps) * gamma; y = x * inv + (beta - mean * inv).

    `rms_scaling`: y = x * rsqrt(var + eps) * gamma, where var is still the variance about the mean
    (Keras 3's formula, not the mean square). gamma/beta are pre-shaped to broadcast.
    """

    def __init__(
        self,
        dims: list[int],
        epsilon: float,
        gamma: Optional[torch.Tensor],
        beta: Optional[torch.Tensor],
        rms_scaling: bool = False,
    ):
        super().__init__()
        self.dims = list(dims)
        self.epsilon = float(epsilon)
        self.rms_scaling = rms_scaling
        self.register_buffer("gamma", gamma)
        self.register_buffer("beta", beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.mean(x, dim=self.dims, keepdim=True)
        variance = torch.mean(torch.square(x - mean), dim=self.dims, keepdim=True)
        inv = torch.rsqrt(variance + self.epsilon)
        gamma = self.gamma
        beta = self.beta
        if gamma is not None:
            inv = inv * gamma
        if self.rms_scaling:
            return x * inv
        shift = -mean * inv
        if beta is not None:
            shift = shift + beta
        return x * inv + shift
