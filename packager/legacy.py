"""Normalize what older Keras versions wrote so that Keras 3 builds the model it meant.

Each fix is a small function with a name recorded in the manifest when it applied.
"""

from __future__ import annotations

import copy

from packager.reader import RawModel


def keras_major(version: str | None) -> int:
    """The major version the file was written with (3 when unknown, i.e. treat as current)."""
    try:
        return int(str(version).split(".")[0])
    except (TypeError, ValueError):
        return 3


def semantics_for(raw: RawModel) -> frozenset[str]:
    """Behaviour flags converters honour: "keras2" for files written by Keras 1/2."""
    return frozenset({"keras2"}) if keras_major(raw.keras_version) < 3 else frozenset()


def normalize_config(raw: RawModel) -> tuple[dict, list[str]]:
    """Return a config Keras 3 can build, and the names of the normalizations applied."""
    config = copy.deepcopy(raw.config)
    applied: list[str] = []
    return config, applied
