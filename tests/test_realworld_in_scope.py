"""Real files from ../shared/realworld that Keras 3 loads and whose layers are all supported."""

from __future__ import annotations

import json

import pytest

from packager.converters.registry import STRUCTURAL, registered_classes
from packager.pipeline import ExportOptions, export_model
from tests.conftest import REALWORLD


def _in_scope_files() -> list[str]:
    manifest = REALWORLD / "manifest.json"
    if not manifest.is_file():
        return []
    supported = set(registered_classes()) | STRUCTURAL
    entries = json.loads(manifest.read_text())
    return [e["file"] for e in entries if e["loads_keras3"] and set(e["layers"]) <= supported]


@pytest.mark.realworld
@pytest.mark.parametrize("name", _in_scope_files() or ["(none)"])
def test_realworld_file_exports_with_parity(name, realworld_dir, tmp_path):
    if name == "(none)":
        pytest.skip("no in-scope real-world files")
    result = export_model(realworld_dir / name, ExportOptions(output_dir=tmp_path / "out", bench=False))
    parity = result.manifest["parity"]
    assert parity["passed"], f"{name}: max abs {parity['max_abs_err']:.3g}, max rel {parity['max_rel_err']:.3g}"
    assert parity["max_rel_err"] <= 1e-4, f"{name}: max rel {parity['max_rel_err']:.3g}"
