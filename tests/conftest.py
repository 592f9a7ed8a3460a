"""Shared fixtures: the project root on sys.path and a baseline stack config."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED_DATA = ROOT.parent / "shared" / "data"

BASE_CONFIG = {
    "azure-native:location": "westeurope",
    "lab:expiresOn": "2026-12-20",
    "lab:course": "dp-100 autumn",
}


@pytest.fixture
def base_config() -> dict:
    return dict(BASE_CONFIG)


def missing_tool(reason: str) -> None:
    """Skip a test whose tool (Java, chromium, actionlint) is missing here; in CI it must be there, so fail.

    scripts/test.sh installs them; a CI run that skipped them would say nothing about what they test.
    """
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI without a tool the tests need: {reason}")
    pytest.skip(reason)


# ----------------------------------------------------------------------------- parallel runs
# scripts/test.sh runs the suite on every core with pytest-xdist, `--dist loadgroup`: a test
# goes to whichever worker is free, except that the tests of one module that share a
# module-scoped fixture (a local Spark session, the program run under mocks, a browser, a
# fake Azure) form one group, run by one worker, so the fixture starts once per run, not
# once per worker. The longest units are sent first (with `--no-loadscope-reorder`, work
# goes out in collection order): the `slow` tests (a full section stack under mocks), then
# the notebook modules on local Spark; the other worker takes the many short tests
# meanwhile, so neither waits at the end.


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    defs = getattr(info, "name2fixturedefs", {}) if info is not None else {}
    return any(d and d[-1].scope in ("module", "package", "class") for d in defs.values())


def _runs_spark(item: pytest.Item) -> bool:
    return item.get_closest_marker("spark") is not None


def _first(item: pytest.Item, spark: set[str]) -> int:
    """0 for a slow test, 1 for a module on local Spark, 2 for the rest (sent in this order)."""
    if item.get_closest_marker("slow") is not None:
        return 0
    return 1 if item.nodeid.split("::", 1)[0] in spark else 2


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):
        return  # not an xdist worker: the order and marks of a plain run stay as they are
    grouped = {item.nodeid.split("::", 1)[0] for item in items if _shares_a_module_fixture(item)}
    spark = {item.nodeid.split("::", 1)[0] for item in items if _runs_spark(item)}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if module in grouped or module in spark:
            item.add_marker(pytest.mark.xdist_group(module))
    items.sort(key=lambda item: _first(item, spark))  # stable: a module's tests stay in order
