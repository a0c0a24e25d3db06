"""Weight layout changes between Keras and torch, kept in one place."""

from __future__ import annotations

import numpy as np
import torch


def tensor(array: np.ndarray) -> torch.Tensor:
    """A float32 torch tensor that owns its memory (a copy of `array`)."""
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32).copy())


def dense_kernel(kernel: np.ndarray) -> torch.Tensor:
    """Keras Dense kernel (in, out) -> nn.Linear.weight (out, in)."""
    return tensor(kernel.T)


def conv_kernel(kernel: np.ndarray) -> torch.Tensor:
    """Keras Conv{1,2,3}D kernel (*k, in/groups, out) -> torch (out, in/groups, *k)."""
    rank = kernel.ndim
    return tensor(np.transpose(kernel, (rank - 1, rank - 2, *range(rank - 2))))


def reorder_gate_blocks(array: np.ndarray, order: list[int], axis: int = -1) -> np.ndarray:
    """Split `axis` into len(order) equal gate blocks and put them back in `order`."""
    blocks = np.split(array, len(order), axis=axis)
    return np.concatenate([blocks[i] for i in order], axis=axis)


# Keras GRU blocks are [z, r, h]; torch's are [r, z, n].
KERAS_GRU_TO_TORCH = [1, 0, 2]


def depthwise_kernel(kernel: np.ndarray) -> torch.Tensor:
    """Keras depthwise kernel (*k, in, mult) -> torch grouped conv weight (in * mult, 1, *k).

    TF's output channel c * mult + m is input channel c with multiplier m: the row-major reshape
    of (in, mult) to in * mult gives the same order, and groups=in pairs it with its input.
    """
    return conv_kernel(kernel.reshape(*kernel.shape[:-2], 1, kernel.shape[-2] * kernel.shape[-1]))


def transpose_conv_kernel(kernel: np.ndarray) -> torch.Tensor:
    """Keras Conv*Transpose kernel (*k, out, in) -> torch ConvTranspose weight (in, out, *k)."""
    return conv_kernel(kernel)
