"""Keras LSTM / GRU / SimpleRNN as torch modules, in Keras layout (batch, time, features).

Every module returns a tuple (output, *final_states) so TorchScript sees one return type; the
graph builder picks the items the Keras call returned. `output` is the whole sequence when
`return_sequences`, else the last step. `go_backwards` reverses the input and, like Keras, leaves
the returned sequence in that reversed order. Initial states (Keras `initial_state`) come after
the input; `mask=` is Keras's (batch, time) boolean mask.

torch's fused nn.LSTM / nn.GRU / nn.RNN run when the activations are the default ones; any other
activation (hard_sigmoid, relu, ...) or GRU(reset_after=False) runs through an explicit loop that
computes Keras's cell equations.

Masks follow Keras's RNN loop (keras/src/backend/tensorflow/rnn.py): at a masked step the states
are carried over unchanged and the output repeats the previous step's output (zeros before the
first unmasked step, and always zeros when `zero_output_for_mask`); the last output is the output
of the last step. Pre- and post-padded sequences, and holes, are handled alike. A masked call runs
the cell step by step, also for the fused modules.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


class _Sequence(nn.Module):
    """Shared options: input reversal, last-step selection, and Keras's masked step loop.

    Subclasses define `_inputs(x)` (what the cell reads per step) and
    `_cell(x_t, states) -> (output, new states)`.
    """

    def __init__(self, return_sequences: bool, go_backwards: bool, zero_output_for_mask: bool = False):
        super().__init__()
        self.return_sequences = return_sequences
        self.go_backwards = go_backwards
        self.zero_output_for_mask = zero_output_for_mask

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.flip(1) if self.go_backwards else x

    def _select(self, seq: torch.Tensor) -> torch.Tensor:
        return seq if self.return_sequences else seq[:, -1]

    def _masked_loop(
        self, x: torch.Tensor, mask: torch.Tensor, states: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the cell over time; where mask[:, t] is False keep the states and the last output."""
        xs = self._inputs(x)
        mask = self._prepare(mask.to(torch.bool))
        previous = torch.zeros_like(states[0])
        steps: list[torch.Tensor] = []
        for t in range(xs.shape[1]):
            output, new_states = self._cell(xs[:, t], states)
            keep = mask[:, t].unsqueeze(1)
            fallback = torch.zeros_like(output) if self.zero_output_for_mask else previous
            output = torch.where(keep, output, fallback)
            states = [torch.where(keep, new, old) for new, old in zip(new_states, states)]
            previous = output
            steps.append(output)
        return torch.stack(steps, 1), states

    def _zeros(self, x: torch.Tensor, units: int) -> torch.Tensor:
        return torch.zeros(x.shape[0], units, dtype=x.dtype, device=x.device)


class FusedLSTM(_Sequence):
    """nn.LSTM with Keras gate order [i, f, c, o] (the same as torch's [i, f, g, o])."""

    def __init__(self, lstm: nn.LSTM, return_sequences: bool, go_backwards: bool, zero_output_for_mask: bool = False):
        super().__init__(return_sequences, go_backwards, zero_output_for_mask)
        self.lstm = lstm

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _cell(self, x_t: torch.Tensor, states: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        _, (h, c) = self.lstm(x_t.unsqueeze(1), (states[0].unsqueeze(0), states[1].unsqueeze(0)))
        return h[0], [h[0], c[0]]

    def forward(
        self,
        x: torch.Tensor,
        h0: Optional[torch.Tensor] = None,
        c0: Optional[torch.Tensor] = None,
        mask: Optional[torch.Tensor] = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self._prepare(x)
        if mask is not None:
            units = self.lstm.hidden_size
            h = h0 if h0 is not None else self._zeros(x, units)
            c = c0 if c0 is not None else self._zeros(x, units)
            seq, states = self._masked_loop(x, mask, [h, c])
            return self._select(seq), states[0], states[1]
        if h0 is not None and c0 is not None:
            seq, (h, c) = self.lstm(x, (h0.unsqueeze(0), c0.unsqueeze(0)))
        else:
            seq, (h, c) = self.lstm(x)
        return self._select(seq), h[0], c[0]


class FusedRNN(_Sequence):
    """nn.RNN: Keras SimpleRNN with tanh or relu. Also the body of FusedGRU (one state, same calls)."""

    def __init__(self, rnn: nn.RNNBase, return_sequences: bool, go_backwards: bool, zero_output_for_mask: bool = False):
        super().__init__(return_sequences, go_backwards, zero_output_for_mask)
        self.rnn = rnn

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _cell(self, x_t: torch.Tensor, states: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        _, h = self.rnn(x_t.unsqueeze(1), states[0].unsqueeze(0))
        return h[0], [h[0]]

    def forward(
        self, x: torch.Tensor, h0: Optional[torch.Tensor] = None, mask: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._prepare(x)
        if mask is not None:
            h = h0 if h0 is not None else self._zeros(x, self.rnn.hidden_size)
            seq, states = self._masked_loop(x, mask, [h])
            return self._select(seq), states[0]
        if h0 is not None:
            seq, h = self.rnn(x, h0.unsqueeze(0))
        else:
            seq, h = self.rnn(x)
        return self._select(seq), h[0]


class FusedGRU(FusedRNN):
    """nn.GRU: Keras GRU(reset_after=True) with sigmoid/tanh, blocks reordered to [r, z, n]."""


class _Loop(_Sequence):
    """Keras weights as stored: kernel (in, G*u), recurrent_kernel (u, G*u), bias.

    `_inputs` is the input projection x W + b for all steps at once; `_cell` adds the recurrent part.
    """

    def __init__(
        self,
        kernel: torch.Tensor,
        recurrent_kernel: torch.Tensor,
        bias: Optional[torch.Tensor],
        activation: nn.Module,
        recurrent_activation: nn.Module,
        return_sequences: bool,
        go_backwards: bool,
        zero_output_for_mask: bool = False,
    ):
        super().__init__(return_sequences, go_backwards, zero_output_for_mask)
        self.units = int(recurrent_kernel.shape[0])
        self.kernel = nn.Parameter(kernel)
        self.recurrent_kernel = nn.Parameter(recurrent_kernel)
        self.bias = nn.Parameter(bias) if bias is not None else None
        self.activation = activation
        self.recurrent_activation = recurrent_activation

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        xs = torch.matmul(x, self.kernel)
        bias = self.bias
        if bias is not None:
            xs = xs + bias
        return xs

    def _loop(self, x: torch.Tensor, states: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        xs = self._inputs(x)
        steps: list[torch.Tensor] = []
        for t in range(xs.shape[1]):
            output, states = self._cell(xs[:, t], states)
            steps.append(output)
        return torch.stack(steps, 1), states

    def _run(
        self, x: torch.Tensor, mask: Optional[torch.Tensor], states: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if mask is not None:
            return self._masked_loop(x, mask, states)
        return self._loop(x, states)


class LoopLSTM(_Loop):
    """z = x W + h U + b; i, f, o = rec_act(z_i, z_f, z_o); c = f c + i act(z_c); h = o act(c)."""

    def _cell(self, x_t: torch.Tensor, states: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h, c = states[0], states[1]
        u = self.units
        z = x_t + torch.matmul(h, self.recurrent_kernel)
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u : 2 * u])
        g = self.activation(z[:, 2 * u : 3 * u])
        o = self.recurrent_activation(z[:, 3 * u :])
        c = f * c + i * g
        h = o * self.activation(c)
        return h, [h, c]

    def forward(
        self,
        x: torch.Tensor,
        h0: Optional[torch.Tensor] = None,
        c0: Optional[torch.Tensor] = None,
        mask: Optional[torch.Tensor] = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self._prepare(x)
        h = h0 if h0 is not None else self._zeros(x, self.units)
        c = c0 if c0 is not None else self._zeros(x, self.units)
        seq, states = self._run(x, mask, [h, c])
        return self._select(seq), states[0], states[1]


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

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        xs = torch.matmul(x, self.kernel)
        bias = self.bias
        if bias is not None:
            xs = xs + (bias[0] if self.reset_after else bias)
        return xs

    def _cell(self, x_t: torch.Tensor, states: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = states[0]
        u = self.units
        if self.reset_after:
            rec = torch.matmul(h, self.recurrent_kernel)
            bias = self.bias
            if bias is not None:
                rec = rec + bias[1]
            z = self.recurrent_activation(x_t[:, :u] + rec[:, :u])
            r = self.recurrent_activation(x_t[:, u : 2 * u] + rec[:, u : 2 * u])
            hh = self.activation(x_t[:, 2 * u :] + r * rec[:, 2 * u :])
        else:
            rec_zr = torch.matmul(h, self.recurrent_kernel[:, : 2 * u])
            z = self.recurrent_activation(x_t[:, :u] + rec_zr[:, :u])
            r = self.recurrent_activation(x_t[:, u : 2 * u] + rec_zr[:, u:])
            hh = self.activation(x_t[:, 2 * u :] + torch.matmul(r * h, self.recurrent_kernel[:, 2 * u :]))
        h = z * h + (1.0 - z) * hh
        return h, [h]

    def forward(
        self, x: torch.Tensor, h0: Optional[torch.Tensor] = None, mask: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._prepare(x)
        h = h0 if h0 is not None else self._zeros(x, self.units)
        seq, states = self._run(x, mask, [h])
        return self._select(seq), states[0]


class LoopSimpleRNN(_Loop):
    """h = act(x W + b + h U)."""

    def _cell(self, x_t: torch.Tensor, states: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = self.activation(x_t + torch.matmul(states[0], self.recurrent_kernel))
        return h, [h]

    def forward(
        self, x: torch.Tensor, h0: Optional[torch.Tensor] = None, mask: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._prepare(x)
        h = h0 if h0 is not None else self._zeros(x, self.units)
        seq, states = self._run(x, mask, [h])
        return self._select(seq), states[0]
