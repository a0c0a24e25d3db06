"""The README's generated parts match the code."""

from __future__ import annotations

from packager.support import readme_table, support_table
from tests.conftest import REPO


def test_readme_support_table_matches_registry():
    table = readme_table((REPO / "README.md").read_text())
    assert table is not None, "README lacks the supported-layers markers"
    assert table == support_table(), "README table is stale: run python -m packager.support and paste it"


def test_readme_states_the_two_setup_commands_and_defaults():
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "atol = 1e-5" in readme and "rtol = 1e-4" in readme
