"""Embedding and Masking: the layers that create Keras masks (see graph.CallSpec.output_mask)."""

from __future__ import annotations

import numpy as np

from packager.converters.registry import KERAS, Converted, UnsupportedOption, converter
from packager.converters.weights import tensor
from packager.graph import LayerSpec
from packager.modules.embedding import Embedding, Masking, MaskingMask, NonZeroMask


def embedding_table(spec: LayerSpec) -> np.ndarray:
    """The table Keras looks ids up in: embeddings, plus (lora_alpha / lora_rank) * A @ B with LoRA."""
    config = spec.config
    if config.get("quantization_config") or spec.weights[0].dtype.kind not in "f":
        raise UnsupportedOption("quantized embeddings")
    table = spec.weights[0].astype(np.float64)
    rank = config.get("lora_rank")
    if rank:
        if len(spec.weights) < 3:
            raise UnsupportedOption(f"lora_rank={rank} without its two LoRA matrices")
        alpha = config.get("lora_alpha") or rank
        table = table + (alpha / rank) * (spec.weights[1].astype(np.float64) @ spec.weights[2].astype(np.float64))
    return table


@converter("Embedding")
def embedding(spec: LayerSpec) -> Converted:
    """Table lookup; float ids are truncated to integers as Keras does; mask_zero: mask = ids != 0."""
    module = Embedding(tensor(embedding_table(spec)))
    mask = NonZeroMask() if spec.config.get("mask_zero") else None
    return Converted(module, KERAS, mask_module=mask)


@converter("Masking")
def masking(spec: LayerSpec) -> Converted:
    """Steps whose features all equal mask_value become zeros and are masked for later layers."""
    value = spec.config.get("mask_value", 0.0)
    if not isinstance(value, (int, float)):
        raise UnsupportedOption(f"mask_value={value!r} (only a number)")
    return Converted(Masking(value), KERAS, mask_module=MaskingMask(value))
