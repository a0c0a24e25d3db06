"""The supported-layer table in the README, generated from the converter registry."""

from __future__ import annotations

import re

from packager.converters.registry import get_converter, registered_classes

START = "<!-- supported-layers:start -->"
END = "<!-- supported-layers:end -->"


def support_table() -> str:
    """A markdown table: Keras class, converter function, what it maps to (its docstring's first line).

    Built-in converters only: a --plugin file loaded earlier in the process registers its own too.
    """
    lines = ["| Keras class | converter | notes |", "|---|---|---|"]
    for name in registered_classes():
        fn = get_converter(name)
        if not fn.__module__.startswith("packager.converters."):
            continue
        doc = (fn.__doc__ or "").strip().splitlines()
        note = doc[0].rstrip(".") if doc else ""
        lines.append(f"| `{name}` | `{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}` | {note} |")
    return "\n".join(lines)


def readme_table(readme: str) -> str | None:
    """The table currently between the markers in `readme` (None when the markers are missing)."""
    match = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), readme, re.S)
    return match.group(1) if match else None


def update_readme(readme: str) -> str:
    return re.sub(re.escape(START) + r".*?" + re.escape(END), f"{START}\n{support_table()}\n{END}", readme, flags=re.S)


if __name__ == "__main__":
    import sys
    from pathlib import Path

    if "--write" in sys.argv:  # python -m packager.support --write: refresh README.md in place
        readme = Path(__file__).resolve().parents[1] / "README.md"
        readme.write_text(update_readme(readme.read_text()))
    else:
        print(support_table())
