"""An example packager plugin: the custom Keras layer ScaledTanh and its converter.

    pack export model.keras --plugin examples/plugin_scaled_tanh.py

ScaledTanh computes y = alpha * tanh(x * scale + shift) with per-feature `scale` and `shift`
weights and a fixed `alpha` from its config. The same file serves both sides: Keras needs the
class to build the reference model, packager needs the converter to build the torch module.
"""

from __future__ import annotations

import keras
import torch
from torch import nn

from packager.converters.registry import converter
from packager.converters.weights import tensor
from packager.graph import LayerSpec


@keras.saving.register_keras_serializable(package="examples")
class ScaledTanh(keras.layers.Layer):
    """y = alpha * tanh(x * scale + shift), scale and shift per feature (last axis)."""

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def build(self, input_shape):
        features = input_shape[-1]
        self.scale = self.add_weight(shape=(features,), initializer="ones", name="scale")
        self.shift = self.add_weight(shape=(features,), initializer="zeros", name="shift")

    def call(self, x):
        return self.alpha * keras.ops.tanh(x * self.scale + self.shift)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ScaledTanhModule(nn.Module):
    """The torch side; it must be scriptable (torch.jit.script) like every converted module."""

    def __init__(self, scale: torch.Tensor, shift: torch.Tensor, alpha: float):
        super().__init__()
        self.scale = nn.Parameter(scale)
        self.shift = nn.Parameter(shift)
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * torch.tanh(x * self.scale + self.shift)


@converter("ScaledTanh")
def scaled_tanh(spec: LayerSpec) -> nn.Module:
    """ScaledTanh -> ScaledTanhModule; weights come in `layer.weights` order (scale, shift)."""
    scale, shift = spec.weights
    return ScaledTanhModule(tensor(scale), tensor(shift), float(spec.config.get("alpha", 1.0)))
