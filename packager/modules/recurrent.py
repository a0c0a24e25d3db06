"""Keras LSTM / GRU / SimpleRNN as torch modules, in Keras layout (batch, time, features).

Every module returns a tuple (output, *final_states) so TorchScript sees one return type; the
graph builder picks the items the Keras call returned. `output` is the whole sequence when
`return_sequences`, else the last step. `go_backwards` reverses the input and, like Keras, leaves
the returned sequence in that reversed order.

torch's fused nn.LSTM / nn.GRU / nn.RNN run when the activations are the default ones; any other
activation (hard_sigmoid, relu, ...) or GRU(reset_after=False) runs through an explicit loop that
computes Keras's cell equations.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


class _Sequence(nn.Module):
    """Shared options: input reversal and last-step selection."""

    def __init__(self, return_sequences: bool, go_backwards: bool):
        super().__init__()
        self.return_sequences = return_sequences
        self.go_backwards = go_backwards

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.flip(1) if self.go_backwards else x

    def _select(self, seq: torch.Tensor) -> torch.Tensor:
        return seq if self.return_sequences else seq[:, -1]


class FusedLSTM(_Sequence):
    """nn.LSTM with Keras gate order [i, f, c, o] (the same as torch's [i, f, g, o])."""

    def __init__(self, lstm: nn.LSTM, return_sequences: bool, go_backwards: bool):
        super().__init__(return_sequences, go_backwards)
        self.lstm = lstm

    def forward(
        self, x: torch.Tensor, h0: Optional[torch.Tensor] = None, c0: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self._prepare(x)
        if h0 is not None and c0 is not None:
            seq, (h, c) = self.lstm(x, (h0.unsqueeze(0), c0.unsqueeze(0)))
        else:
            seq, (h, c) = self.lstm(x)
        return self._select(seq), h[0], c[0]


class FusedGRU(_Sequence):
    """nn.GRU: Keras GRU(reset_after=True) with sigmoid/tanh, blocks reordered to [r, z, n]."""

    def __init__(self, gru: nn.GRU, return_sequences: bool, go_backwards: bool):
        super().__init__(return_sequences, go_backwards)
        self.gru = gru

    def forward(self, x: torch.Tensor, h0: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._prepare(x)
        if h0 is not None:
            seq, h = self.gru(x, h0.unsqueeze(0))
        else:
            seq, h = self.gru(x)
        return self._select(seq), h[0]


class FusedRNN(_Sequence):
    """nn.RNN: Keras SimpleRNN with tanh or relu."""

    def __init__(self, rnn: nn.RNN, return_sequences: bool, go_backwards: bool):
        super().__init__(return_sequences, go_backwards)
        self.rnn = rnn

    def forward(self, x: torch.Tensor, h0: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._prepare(x)
        if h0 is not None:
            seq, h = self.rnn(x, h0.unsqueeze(0))
        else:
            seq, h = self.rnn(x)
        return self._select(seq), h[0]


class _Loop(_Sequence):
    """Keras weights as stored: kernel (in, G*u), recurrent_kernel (u, G*u), bias."""

    def __init__(
        self,
        kernel: torch.Tensor,
        recurrent_kernel: torch.Tensor,
        bias: Optional[torch.Tensor],
        activation: nn.Module,
        recurrent_activation: nn.Module,
        return_sequences: bool,
        go_backwards: bool,
    ):
        super().__init__(return_sequences, go_backwards)
        self.units = int(recurrent_kernel.shape[0])
        self.kernel = nn.Parameter(kernel)
        self.recurrent_kernel = nn.Parameter(recurrent_kernel)
        self.bias = nn.Parameter(bias) if bias is not None else None
        self.activation = activation
        self.recurrent_activation = recurrent_activation

    def _zeros(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], self.units, dtype=x.dtype, device=x.device)


class LoopLSTM(_Loop):
    """z = x W + h U + b; i, f, o = rec_act(z_i, z_f, z_o); c = f c + i act(z_c); h = o act(c)."""

    def forward(
        self, x: torch.Tensor, h0: Optional[torch.Tensor] = None, c0: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self._prepare(x)
        xs = torch.matmul(x, self.kernel)
        bias = self.bias
        if bias is not None:
            xs = xs + bias
        h = h0 if h0 is not None else self._zeros(x)
        c = c0 if c0 is not None else self._zeros(x)
        u = self.units
        steps: list[torch.Tensor] = []
        for t in range(xs.shape[1]):
            z = xs[:, t] + torch.matmul(h, self.recurrent_kernel)
            i = self.recurrent_activation(z[:, :u])
            f = self.recurrent_activation(z[:, u : 2 * u])
            g = self.activation(z[:, 2 * u : 3 * u])
            o = self.recurrent_activation(z[:, 3 * u :])
            c = f * c + i * g
            h = o * self.activation(c)
            steps.append(h)
        return self._select(torch.stack(steps, 1)), h, c


class LoopGRU(_Loop):
    """Keras GRU, blocks [z, r, h].

    reset_after=True:  bias (2, 3u) = input and recurrent biases;
                       hh = act(x W_h + b_h + r * (h U_h + b'_h)).
    reset_after=False: bias (3u,); hh = act(x W_h + b_h + (r * h) U_h).
    Then h = z * h_prev + (1 - z) * hh.
    """

    def __init__(self, *args, reset_after: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.reset_after = reset_after

    def forward(self, x: torch.Tensor, h0: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._prepare(x)
        u = self.units
        xs = torch.matmul(x, self.kernel)
        bias = self.bias
        recurrent_bias: Optional[torch.Tensor] = None
        if bias is not None:
            if self.reset_after:
                xs = xs + bias[0]
                recurrent_bias = bias[1]
            else:
                xs = xs + bias
        h = h0 if h0 is not None else self._zeros(x)
        steps: list[torch.Tensor] = []
        for t in range(xs.shape[1]):
            xt = xs[:, t]
            if self.reset_after:
                rec = torch.matmul(h, self.recurrent_kernel)
                if recurrent_bias is not None:
                    rec = rec + recurrent_bias
                z = self.recurrent_activation(xt[:, :u] + rec[:, :u])
                r = self.recurrent_activation(xt[:, u : 2 * u] + rec[:, u : 2 * u])
                hh = self.activation(xt[:, 2 * u :] + r * rec[:, 2 * u :])
            else:
                rec_zr = torch.matmul(h, self.recurrent_kernel[:, : 2 * u])
                z = self.recurrent_activation(xt[:, :u] + rec_zr[:, :u])
                r = self.recurrent_activation(xt[:, u : 2 * u] + rec_zr[:, u:])
                hh = self.activation(xt[:, 2 * u :] + torch.matmul(r * h, self.recurrent_kernel[:, 2 * u :]))
            h = z * h + (1.0 - z) * hh
            steps.append(h)
        return self._select(torch.stack(steps, 1)), h


class LoopSimpleRNN(_Loop):
    """h = act(x W + b + h U)."""

    def forward(self, x: torch.Tensor, h0: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._prepare(x)
        xs = torch.matmul(x, self.kernel)
        bias = self.bias
        if bias is not None:
            xs = xs + bias
        h = h0 if h0 is not None else self._zeros(x)
        steps: list[torch.Tensor] = []
        for t in range(xs.shape[1]):
            h = self.activation(xs[:, t] + torch.matmul(h, self.recurrent_kernel))
            steps.append(h)
        return self._select(torch.stack(steps, 1)), h
