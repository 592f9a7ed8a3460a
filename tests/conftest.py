"""Shared fixtures: the project root on sys.path and a baseline stack config."""
from __future__ import annotations

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
