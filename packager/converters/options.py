"""Reading Keras layer configs: one spelling for values older and newer Keras write differently."""

from __future__ import annotations

from packager.converters.registry import UnsupportedOption


def as_list(value, n: int) -> list[int]:
    """A Keras int-or-tuple option as a list of `n` ints."""
    if isinstance(value, (list, tuple)):
        values = [int(v) for v in value]
        return values * n if len(values) == 1 and n > 1 else values
    return [int(value)] * n


def activation_name(value) -> str:
    """The activation's registered name: "relu", or "hard_sigmoid_keras2" for packager's own."""
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value.split(">")[-1]
    if isinstance(value, dict):
        inner = value.get("config")
        if isinstance(inner, str):
            return inner.split(">")[-1]
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return inner["name"]
        if isinstance(value.get("class_name"), str):
            return value["class_name"]
    raise UnsupportedOption(f"activation {value!r} is not a built-in Keras activation")


def channels_last(config: dict) -> bool:
    fmt = config.get("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise UnsupportedOption(f"data_format={fmt!r}")
    return fmt == "channels_last"


def reject_stateful(config: dict) -> None:
    if config.get("stateful"):
        raise UnsupportedOption("stateful=True (carried state needs explicit state inputs)")


def channels_first_axis(axis: int, rank: int) -> int:
    """Where axis `axis` of a channels-last rank-`rank` tensor sits once the channels move to axis 1."""
    axis %= rank
    if axis == 0:
        raise UnsupportedOption("axis=0 (the batch axis)")
    return 1 if axis == rank - 1 else axis + 1


def axis_list(value) -> list[int]:
    """A Keras axis option (int, or list/tuple of ints) as a list."""
    return [int(a) for a in value] if isinstance(value, (list, tuple)) else [int(value)]
