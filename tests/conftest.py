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
