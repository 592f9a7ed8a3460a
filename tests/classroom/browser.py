"""A real headless browser for the page tests: Debian's chromium, driven by playwright.

playwright cannot download its own browsers here, so it drives the system
chromium through ``executable_path`` (``--no-sandbox`` when running as root, as
in CI containers). ``scripts/test.sh`` installs chromium when it is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_tool

ROOT = Path(__file__).resolve().parents[2]
# Screenshots and pages the tests keep for a person to look at (not committed).
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "test-artifacts"))
# Set UPDATE_DOCS_SCREENSHOTS=1 to refresh the committed screenshots in docs/ from the tests.
UPDATE_DOCS = os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1"


def chromium_path() -> str | None:
    # Debian's /usr/bin/chromium is a shell wrapper; playwright wants the binary itself.
    for candidate in (
        "/usr/lib/chromium/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        missing_tool(
            "no chromium: install Debian's chromium package (scripts/test.sh does as root)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is in requirements-dev.txt"
    )
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, args=args)
        try:
            yield instance
        finally:
            instance.close()


def keep(path: Path, name: str, docs: bool = False) -> Path:
    """Copy a test's output into the artifacts folder (and, for a ``docs`` screenshot, into docs/ when asked)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    kept = ARTIFACTS / name
    _replace(path, kept)
    if docs and UPDATE_DOCS:
        (ROOT / "docs").mkdir(exist_ok=True)
        _replace(path, ROOT / "docs" / name)
    return kept


def _replace(source: Path, target: Path) -> None:
    """Copy under a name of this process, then rename: the suite runs on several workers
    (scripts/pytest.sh), and a reader never sees half a file."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
