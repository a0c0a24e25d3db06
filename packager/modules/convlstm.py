"""Keras ConvLSTM1D/2D/3D as a torch module.

Cell (keras/src/layers/rnn/conv_lstm.py): z = conv(x_t, W, strides, padding, dilation) + b
+ conv(h, U, stride 1, `same`); i, f, o = rec_act(z_i, z_f, z_o); c = f * c + i * act(z_c);
h = o * act(c). Gate blocks [i, f, c, o] are the conv output channels in that order. The input
convolution runs on all frames at once (time folded into batch); only the recurrent one loops.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


class ConvLSTM(nn.Module):
    """Input (B, T, *spatial, C) when `channels_last`, else (B, T, C, *spatial); returns (output, h, c)
    in the same layout. `output` is the sequence when `return_sequences` (in reversed order when
    `go_backwards`, as Keras leaves it), else the last step's output. `mask=` is Keras's (B, T) mask."""

    def __init__(
        self,
        input_conv: nn.Module,
        recurrent_conv: nn.Module,
        filters: int,
        activation: nn.Module,
        recurrent_activation: nn.Module,
        return_sequences: bool,
        go_backwards: bool,
        channels_last: bool,
        zero_output_for_mask: bool = False,
    ):
        super().__init__()
        self.input_conv = input_conv
        self.recurrent_conv = recurrent_conv
        self.filters = int(filters)
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.return_sequences = return_sequences
        self.go_backwards = go_backwards
        self.channels_last = channels_last
        self.zero_output_for_mask = zero_output_for_mask

    def _to_first(self, x: torch.Tensor) -> torch.Tensor:
        return torch.movedim(x, -1, 1) if self.channels_last else x

    def _to_last(self, x: torch.Tensor, channel_dim: int) -> torch.Tensor:
        return torch.movedim(x, channel_dim, -1) if self.channels_last else x

    def forward(
        self,
        x: torch.Tensor,
        h0: Optional[torch.Tensor] = None,
        c0: Optional[torch.Tensor] = None,
        mask: Optional[torch.Tensor] = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.go_backwards:
            x = x.flip(1)
            if mask is not None:
                mask = mask.flip(1)
        batch, steps = x.shape[0], x.shape[1]
        frames = self._to_first(x.reshape([batch * steps] + list(x.shape[2:])))
        z = self.input_conv(frames)
        z = z.reshape([batch, steps] + list(z.shape[1:]))
        state_shape = [batch, self.filters] + list(z.shape[3:])
        h = self._to_first(h0) if h0 is not None else torch.zeros(state_shape, dtype=x.dtype, device=x.device)
        c = self._to_first(c0) if c0 is not None else torch.zeros(state_shape, dtype=x.dtype, device=x.device)
        outputs: list[torch.Tensor] = []
        last = torch.zeros_like(h)
        for t in range(steps):
            gates = z[:, t] + self.recurrent_conv(h)
            z_i, z_f, z_c, z_o = torch.chunk(gates, 4, dim=1)
            i = self.recurrent_activation(z_i)
            f = self.recurrent_activation(z_f)
            c_new = f * c + i * self.activation(z_c)
            o = self.recurrent_activation(z_o)
            h_new = o * self.activation(c_new)
            if mask is None:
                h, c, last = h_new, c_new, h_new
            else:
                # Keras's RNN loop: a masked step keeps the states and repeats the previous output
                # (zeros with zero_output_for_mask).
                keep = mask[:, t].to(torch.bool)
                # A (B, T) mask masks whole steps; Masking on 5-D input gives (B, T, *spatial), per cell.
                keep = keep.reshape([batch] + [1] * (h.dim() - 1)) if keep.dim() == 1 else keep.unsqueeze(1)
                fallback = torch.zeros_like(h_new) if self.zero_output_for_mask else last
                last = torch.where(keep, h_new, fallback)
                h = torch.where(keep, h_new, h)
                c = torch.where(keep, c_new, c)
            if self.return_sequences:
                outputs.append(last)
        out = self._to_last(torch.stack(outputs, 1), 2) if self.return_sequences else self._to_last(last, 1)
        return out, self._to_last(h, 1), self._to_last(c, 1)
