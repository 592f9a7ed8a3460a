"""The layout's rule: imports point down only.

``__main__`` -> components -> providers -> lab; classroom uses lab (and runs the
program) but nothing imports classroom. A folder that reaches up (a provider
importing a component, the lab model importing Pulumi resources) breaks what the
tree says about where code runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

# package -> packages of the project it may import
ALLOWED = {
    "lab": set(),
    "providers": {"lab"},
    "components": {"lab", "providers"},
    "notebooks": set(),
    "classroom": {"lab", "components", "providers", "notebooks", "classroom"},
}
PROJECT_PACKAGES = set(ALLOWED)


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PROJECT_PACKAGES


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down_only(package):
    wrong = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        reached = imported_packages(path) - ALLOWED[package] - {package}
        if reached:
            wrong[str(path.relative_to(ROOT))] = sorted(reached)
    assert wrong == {}


def test_the_lab_model_declares_no_resources():
    for path in sorted((ROOT / "lab").rglob("*.py")):
        text = path.read_text()
        assert (
            "pulumi_azure_native" not in text
            and "pulumi_random" not in text
            and "pulumi.dynamic" not in text
        ), path


def test_the_program_imports_no_tool():
    assert imported_packages(ROOT / "__main__.py") <= {"lab", "components"}
