"""Find the Python code a saved model config carries, by looking at the JSON only.

Keras stores code in three shapes, all refused before anything is deserialized:
- a layer of class `Lambda` (Keras 1-3), wherever it sits (nested model, TimeDistributed, ...);
- a Keras 3 serialized lambda: `{"class_name": "__lambda__", "config": {"code": <base64 marshal>}}`;
- Keras 1/2 marshalled functions: `"function_type": "lambda"` next to `[<base64 marshal>, defaults, closure]`,
  and any other string that decodes to a marshalled code object (e.g. a lambda activation).
Nothing here unmarshals or evaluates anything: a base64 string is decoded only to look at its first
byte, the marshal type tag of a code object.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from packager.keras_config import MODEL_CLASSES, iter_layers, layer_name

CODE_LAYERS = frozenset({"Lambda"})
# marshal's type tag for a code object ('c'), with and without the FLAG_REF bit Python 3.4+ sets.
_MARSHAL_CODE_TAGS = (b"c", b"\xe3")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]{24,}")


def _looks_marshalled(text: str) -> bool:
    """True when `text` is base64 for bytes that start like a marshalled code object."""
    if not _BASE64.fullmatch(text):
        return False
    try:
        head = base64.b64decode("".join(text.split())[:8], validate=True)
    except (binascii.Error, ValueError):
        return False
    return head[:1] in _MARSHAL_CODE_TAGS


def _code_in(value, key: str, skip: set[int]) -> Iterator[str]:
    """What code `value` (a piece of one layer's entry) holds, e.g. "activation: serialized Python lambda"."""
    if isinstance(value, dict):
        if id(value) in skip:
            return
        class_name = value.get("class_name")
        if isinstance(class_name, str) and class_name in CODE_LAYERS:  # a damaged file may hold any JSON here
            yield f"{key}: {class_name} layer"
            return
        if class_name == "__lambda__":
            yield f"{key}: serialized Python lambda"
            return
        if value.get("function_type") == "lambda":
            yield f"{key}: marshalled Python function"
            return
        for inner_key, inner in value.items():
            # "config" is implied: report "activation", not "config.activation"
            path = str(inner_key) if key in ("", "config") else f"{key}.{inner_key}"
            yield from _code_in(inner, path, skip)
    elif isinstance(value, list):
        for item in value:
            yield from _code_in(item, key, skip)
    elif isinstance(value, str) and _looks_marshalled(value):
        yield f"{key}: marshalled Python bytecode"


def find_code(config: dict) -> list[tuple[str, str]]:
    """(layer name, what) for every piece of Python code in a model config's layers.

    The whole layer entry is searched (config, call arguments in `inbound_nodes`), so code hidden in
    an activation, a wrapped layer or a call argument is found too. Each entry `iter_layers` lists is
    searched on its own; inside it, entries listed separately are skipped so nothing is named twice.
    """
    entries = list(iter_layers(config))
    if config.get("class_name") not in MODEL_CLASSES:  # a lone layer where a model should be
        entries.insert(0, (layer_name(config), str(config.get("class_name")), config))
    listed = {id(entry) for _, _, entry in entries}
    found: list[tuple[str, str]] = []
    for name, class_name, entry in entries:
        if class_name in CODE_LAYERS:
            found.append((name, f"{class_name} layer"))
            continue
        inner = {k: v for k, v in entry.items() if k != "class_name"}
        for what in dict.fromkeys(_code_in(inner, "", listed - {id(entry)})):
            found.append((name, f"{class_name} {what}"))
    return found


def describe_code(found: list[tuple[str, str]]) -> str:
    """One phrase listing every place, e.g. "evil (Lambda layer), dense (Dense activation: ...)"."""
    return ", ".join(f"{name} ({what})" for name, what in found)
