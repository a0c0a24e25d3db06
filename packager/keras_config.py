"""Walking a saved Keras model config (plain dicts, no TensorFlow)."""

from __future__ import annotations

from collections.abc import Iterator

# Classes that are containers of layers, not layers: the graph walker inlines them.
MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})
# Wrappers whose config holds the wrapped layer under these keys.
WRAPPED_KEYS = ("layer", "backward_layer")


def layer_entries(config: dict) -> list[dict]:
    """The layer dicts of a Sequential/Functional config (a bare list for Keras <= 2.2.2)."""
    inner = config.get("config", {})
    if isinstance(inner, list):
        return [entry for entry in inner if isinstance(entry, dict)]
    layers = inner.get("layers", []) if isinstance(inner, dict) else []
    return [entry for entry in layers if isinstance(entry, dict)]


def layer_name(entry: dict) -> str:
    config = entry.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    return str(name or entry.get("name") or "?")


def iter_layers(config: dict, prefix: str = "") -> Iterator[tuple[str, str, dict]]:
    """(qualified name, class name, entry) for every layer, nested models and wrapped layers included."""
    for entry in layer_entries(config):
        cls = str(entry.get("class_name", "?"))
        name = prefix + layer_name(entry)
        if cls in MODEL_CLASSES:
            yield from iter_layers(entry, prefix=name + "/")
            continue
        yield name, cls, entry
        layer_config = entry.get("config")
        if isinstance(layer_config, dict):
            for key in WRAPPED_KEYS:
                wrapped = layer_config.get(key)
                if isinstance(wrapped, dict) and "class_name" in wrapped:
                    yield f"{name}/{layer_name(wrapped)}", str(wrapped["class_name"]), wrapped


def is_custom_entry(entry: dict) -> bool:
    """Keras 3 marks classes registered outside Keras with a `registered_name` like "pkg>Class"."""
    registered = entry.get("registered_name")
    module = entry.get("module")
    if isinstance(registered, str) and ">" in registered:
        return True
    return isinstance(module, str) and not module.startswith("keras")
