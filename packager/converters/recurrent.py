"""LSTM, GRU and SimpleRNN. Fused torch RNNs where the activations allow, Keras's cell otherwise.

Every module takes Keras's mask (`mask_input`), so Embedding(mask_zero=True) and Masking in front
of a recurrent layer convert exactly.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from packager.converters.activation import activation_module
from packager.converters.options import activation_name, reject_stateful
from packager.converters.registry import KERAS, Converted, UnsupportedOption, converter
from packager.converters.weights import KERAS_GRU_TO_TORCH, reorder_gate_blocks, tensor
from packager.graph import LayerSpec
from packager.modules.recurrent import FusedGRU, FusedLSTM, FusedRNN, LoopGRU, LoopLSTM, LoopSimpleRNN


def _sequence_options(config: dict) -> dict:
    reject_stateful(config)
    return {
        "return_sequences": bool(config.get("return_sequences", False)),
        "go_backwards": bool(config.get("go_backwards", False)),
        "zero_output_for_mask": bool(config.get("zero_output_for_mask", False)),
    }


def _activations(config: dict, default_recurrent: str | None) -> tuple[str, str | None]:
    act = activation_name(config.get("activation", "tanh"))
    rec = activation_name(config.get("recurrent_activation", default_recurrent)) if default_recurrent else None
    return act, rec


def _loop_args(spec: LayerSpec, use_bias: bool, act: str, rec: str | None) -> tuple:
    bias = tensor(spec.weights[2]) if use_bias else None
    recurrent = activation_module(rec) if rec else nn.Identity()
    return (tensor(spec.weights[0]), tensor(spec.weights[1]), bias, activation_module(act), recurrent)


def _set_fused(rnn: nn.RNNBase, w_ih: np.ndarray, w_hh: np.ndarray, b_ih, b_hh) -> None:
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(tensor(w_ih))
        rnn.weight_hh_l0.copy_(tensor(w_hh))
        if b_ih is not None:
            rnn.bias_ih_l0.copy_(tensor(b_ih))
            rnn.bias_hh_l0.copy_(tensor(b_hh))


@converter("LSTM")
def lstm(spec: LayerSpec) -> Converted:
    """nn.LSTM for tanh/sigmoid (same gate order), Keras's cell otherwise.

    Keras keeps one bias; torch adds two, so bias_ih = bias and bias_hh = 0.
    """
    config, seq = spec.config, _sequence_options(spec.config)
    use_bias = config.get("use_bias", True)
    act, rec = _activations(config, "sigmoid")
    kernel, recurrent = spec.weights[0], spec.weights[1]
    if act == "tanh" and rec == "sigmoid":
        units = recurrent.shape[0]
        module = nn.LSTM(kernel.shape[0], units, batch_first=True, bias=use_bias)
        bias = spec.weights[2] if use_bias else None
        _set_fused(module, kernel.T, recurrent.T, bias, np.zeros_like(bias) if use_bias else None)
        return Converted(FusedLSTM(module, **seq), KERAS, tuple_output=True, mask_input=True)
    return Converted(LoopLSTM(*_loop_args(spec, use_bias, act, rec), **seq), KERAS, tuple_output=True, mask_input=True)


@converter("GRU")
def gru(spec: LayerSpec) -> Converted:
    """reset_after=True with tanh/sigmoid is nn.GRU (blocks [z,r,h] -> [r,z,n]); else Keras's cell."""
    config, seq = spec.config, _sequence_options(spec.config)
    use_bias = config.get("use_bias", True)
    reset_after = bool(config.get("reset_after", True))
    act, rec = _activations(config, "sigmoid")
    kernel, recurrent = spec.weights[0], spec.weights[1]
    if reset_after and act == "tanh" and rec == "sigmoid":
        module = nn.GRU(kernel.shape[0], recurrent.shape[0], batch_first=True, bias=use_bias)
        order = KERAS_GRU_TO_TORCH
        bias = spec.weights[2] if use_bias else None
        if bias is not None and bias.shape != (2, kernel.shape[1]):
            raise UnsupportedOption(f"GRU bias of shape {bias.shape} with reset_after=True")
        _set_fused(
            module,
            reorder_gate_blocks(kernel, order).T,
            reorder_gate_blocks(recurrent, order).T,
            reorder_gate_blocks(bias[0], order) if use_bias else None,
            reorder_gate_blocks(bias[1], order) if use_bias else None,
        )
        return Converted(FusedGRU(module, **seq), KERAS, tuple_output=True, mask_input=True)
    loop = LoopGRU(*_loop_args(spec, use_bias, act, rec), reset_after=reset_after, **seq)
    return Converted(loop, KERAS, tuple_output=True, mask_input=True)


@converter("SimpleRNN")
def simple_rnn(spec: LayerSpec) -> Converted:
    """h = act(x W + b + h U): nn.RNN for tanh/relu, an explicit loop for other activations."""
    config, seq = spec.config, _sequence_options(spec.config)
    use_bias = config.get("use_bias", True)
    act, _ = _activations(config, None)
    kernel, recurrent = spec.weights[0], spec.weights[1]
    if act in ("tanh", "relu"):
        module = nn.RNN(kernel.shape[0], recurrent.shape[0], nonlinearity=act, batch_first=True, bias=use_bias)
        bias = spec.weights[2] if use_bias else None
        _set_fused(module, kernel.T, recurrent.T, bias, np.zeros_like(bias) if use_bias else None)
        return Converted(FusedRNN(module, **seq), KERAS, tuple_output=True, mask_input=True)
    return Converted(
        LoopSimpleRNN(*_loop_args(spec, use_bias, act, None), **seq), KERAS, tuple_output=True, mask_input=True
    )
