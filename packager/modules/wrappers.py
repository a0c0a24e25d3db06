"""Keras wrapper layers: TimeDistributed and Bidirectional."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


class TimeDistributed(nn.Module):
    """(B, T, ...) -> fold time into batch -> inner -> (B, T, ...). T may be dynamic.

    A Keras mask is accepted and not used: Keras hands it on only to wrapped layers that take one.
    """

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        batch, steps = x.shape[0], x.shape[1]
        y = self.inner(x.reshape([batch * steps] + list(x.shape[2:])))
        return y.reshape([batch, steps] + list(y.shape[1:]))


class FirstOutput(nn.Module):
    """The first item of a module that returns (output, *states)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)[0]


class TwoStateRecurrent(nn.Module):
    """An LSTM-like module (x, h0, c0, mask) -> (output, h, c), called with a list of 0 or 2 states."""

    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor, states: list[torch.Tensor], mask: Optional[torch.Tensor]) -> list[torch.Tensor]:
        if len(states) == 2:
            y, h, c = self.rnn(x, states[0], states[1], mask)
        else:
            y, h, c = self.rnn(x, None, None, mask)
        return [y, h, c]


class OneStateRecurrent(nn.Module):
    """A GRU / SimpleRNN-like module (x, h0, mask) -> (output, h), called with a list of 0 or 1 state."""

    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor, states: list[torch.Tensor], mask: Optional[torch.Tensor]) -> list[torch.Tensor]:
        if len(states) == 1:
            y, h = self.rnn(x, states[0], mask)
        else:
            y, h = self.rnn(x, None, mask)
        return [y, h]


class Bidirectional(nn.Module):
    """Keras Bidirectional: y = forward(x); y_rev = backward(x) (a go_backwards layer), flipped back
    along time when sequences are returned; merged by `merge_mode` (concat on the last axis, sum,
    mul, ave) or returned as two outputs (None). Returns [outputs..., forward states..., backward
    states...], Keras's order with return_state; optional initial states: forward half, then backward.
    A Keras mask goes to both directions (the backward one reverses it with its input)."""

    def __init__(
        self, forward_rnn: nn.Module, backward_rnn: nn.Module, merge_mode: Optional[str], return_sequences: bool
    ):
        super().__init__()
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ValueError(f"merge_mode={merge_mode!r}")
        self.forward_rnn = forward_rnn
        self.backward_rnn = backward_rnn
        self.merge_mode = "none" if merge_mode is None else merge_mode
        self.return_sequences = return_sequences

    def forward(
        self,
        x: torch.Tensor,
        s0: Optional[torch.Tensor] = None,
        s1: Optional[torch.Tensor] = None,
        s2: Optional[torch.Tensor] = None,
        s3: Optional[torch.Tensor] = None,
        mask: Optional[torch.Tensor] = None,
    ) -> list[torch.Tensor]:
        states: list[torch.Tensor] = []
        for s in [s0, s1, s2, s3]:
            if s is not None:
                states.append(s)
        half = len(states) // 2
        fwd = self.forward_rnn(x, states[:half], mask)
        bwd = self.backward_rnn(x, states[half:], mask)
        y, y_rev = fwd[0], bwd[0]
        if self.return_sequences:
            y_rev = y_rev.flip(1)
        if self.merge_mode == "concat":
            outputs = [torch.cat([y, y_rev], dim=-1)]
        elif self.merge_mode == "sum":
            outputs = [y + y_rev]
        elif self.merge_mode == "ave":
            outputs = [(y + y_rev) / 2.0]
        elif self.merge_mode == "mul":
            outputs = [y * y_rev]
        else:
            outputs = [y, y_rev]
        return outputs + fwd[1:] + bwd[1:]
