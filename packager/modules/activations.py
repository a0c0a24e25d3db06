"""Keras activations as torch modules, by the name Keras serializes them under.

Formulas follow the TensorFlow backend of Keras 3 (keras/src/backend/tensorflow/nn.py);
`hard_sigmoid_keras2` is the Keras <= 2.x formula clip(0.2x + 0.5, 0, 1).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class Exponential(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)


class HardSigmoidKeras2(nn.Module):
    """Keras 1/2 hard_sigmoid: clip(0.2 * x + 0.5, 0, 1) (Keras 3 uses relu6(x + 3) / 6)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


class SparseSigmoid(nn.Module):
    """0 for x <= -1, 1 for x >= 1, (x + 1) / 2 between."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(0.5 * (x + 1.0), 0.0, 1.0)


class SparsePlus(nn.Module):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x above."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mid = 0.25 * (x + 1.0) ** 2
        return torch.where(x <= -1.0, torch.zeros_like(x), torch.where(x < 1.0, mid, x))


class Squareplus(nn.Module):
    """(x + sqrt(x^2 + b)) / 2."""

    def __init__(self, b: float = 4.0):
        super().__init__()
        self.b = b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + torch.sqrt(x * x + self.b)) / 2.0


class Sparsemax(nn.Module):
    """Sparsemax along `dim` (Martins & Astudillo 2016), as keras.activations.sparsemax."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dim = self.dim if self.dim >= 0 else x.dim() + self.dim
        z_sorted = torch.sort(x, dim=dim, descending=True).values
        cumsum = torch.cumsum(z_sorted, dim=dim)
        shape = [1] * x.dim()
        shape[dim] = -1
        r = torch.arange(1, x.shape[dim] + 1, dtype=x.dtype, device=x.device).reshape(shape)
        support = z_sorted - (cumsum - 1.0) / r > 0
        k = support.to(x.dtype).sum(dim=dim, keepdim=True)
        tau = (torch.where(support, cumsum, torch.zeros_like(cumsum)).sum(dim=dim, keepdim=True) - 1.0) / k
        return torch.clamp(x - tau, min=0.0)


class KerasReLU(nn.Module):
    """keras.layers.ReLU / activations.relu: negative_slope, max_value, threshold.

    f(x) = max_value if x >= max_value; x if threshold <= x < max_value;
    negative_slope * (x - threshold) otherwise.
    """

    def __init__(self, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0):
        super().__init__()
        self.negative_slope = float(negative_slope)
        self.has_max = max_value is not None
        self.max_value = float(max_value) if max_value is not None else 0.0
        self.threshold = float(threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.negative_slope != 0.0:
            negative = self.negative_slope * torch.relu(self.threshold - x)
        else:
            negative = torch.zeros_like(x)
        if self.threshold != 0.0:
            y = torch.where(x > self.threshold, x, torch.zeros_like(x))
        else:
            y = torch.relu(x)
        if self.has_max:
            # Keras clips to [0, max_value], which also zeroes x in (threshold, 0) when threshold < 0.
            y = torch.clamp(y, min=0.0, max=self.max_value)
        if self.negative_slope != 0.0:
            y = y - negative
        return y


def _softmax(dim: int) -> nn.Module:
    return nn.Softmax(dim=dim)


def _log_softmax(dim: int) -> nn.Module:
    return nn.LogSoftmax(dim=dim)


# name -> factory(axis) where axis is the dimension that axis-wise activations act on.
ACTIVATIONS: dict[str, Callable[[int], nn.Module]] = {
    "linear": lambda axis: nn.Identity(),
    "relu": lambda axis: nn.ReLU(),
    "relu6": lambda axis: nn.ReLU6(),
    "leaky_relu": lambda axis: nn.LeakyReLU(0.2),
    "elu": lambda axis: nn.ELU(alpha=1.0),
    "selu": lambda axis: nn.SELU(),
    "celu": lambda axis: nn.CELU(alpha=1.0),
    "gelu": lambda axis: nn.GELU(approximate="none"),
    "silu": lambda axis: nn.SiLU(),
    "swish": lambda axis: nn.SiLU(),
    "mish": lambda axis: nn.Mish(),
    "sigmoid": lambda axis: nn.Sigmoid(),
    "hard_sigmoid": lambda axis: nn.Hardsigmoid(),
    "hard_sigmoid_keras2": lambda axis: HardSigmoidKeras2(),
    "hard_silu": lambda axis: nn.Hardswish(),
    "hard_swish": lambda axis: nn.Hardswish(),
    "sparse_sigmoid": lambda axis: SparseSigmoid(),
    "log_sigmoid": lambda axis: nn.LogSigmoid(),
    "tanh": lambda axis: nn.Tanh(),
    "hard_tanh": lambda axis: nn.Hardtanh(-1.0, 1.0),
    "tanh_shrink": lambda axis: nn.Tanhshrink(),
    "soft_shrink": lambda axis: nn.Softshrink(0.5),
    "hard_shrink": lambda axis: nn.Hardshrink(0.5),
    "softplus": lambda axis: nn.Softplus(),
    "sparse_plus": lambda axis: SparsePlus(),
    "squareplus": lambda axis: Squareplus(4.0),
    "softsign": lambda axis: nn.Softsign(),
    "exponential": lambda axis: Exponential(),
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "sparsemax": lambda axis: Sparsemax(axis),
    "glu": lambda axis: nn.GLU(dim=axis),
}

# Activations that mix values along an axis (the rest act element by element).
AXIS_ACTIVATIONS = frozenset({"softmax", "log_softmax", "sparsemax", "glu"})


class PReLU(nn.Module):
    """keras.layers.PReLU: relu(x) - alpha * relu(-x), alpha shaped like the input without batch
    (size 1 on `shared_axes`), so it broadcasts."""

    def __init__(self, alpha: torch.Tensor):
        super().__init__()
        self.alpha = nn.Parameter(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) - self.alpha * torch.relu(-x)


class SoftmaxAxes(nn.Module):
    """Softmax over several axes at once: exp(x - logsumexp(x, axes)), as keras.layers.Softmax."""

    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x - torch.logsumexp(x, dim=self.dims, keepdim=True))
