"""The documents a newcomer reads: a short README that links to guides, links that resolve,
and figures and names that come from the program."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
GUIDES = sorted(DOCS.glob("*.md"))
LINK = re.compile(r"(?<!!)\[[^\]]+\]\(([^)\s]+)\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    return [README, *GUIDES]


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lowercase, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, in_code = set(), False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            found.add(github_anchor(line.lstrip("#")))
    return found


def test_readme_is_a_getting_started_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    # The two commands, and that the first one costs money.
    assert "scripts/deploy.sh" in text and "scripts/test.sh" in text
    assert "billable" in text
    # Every guide is reachable from the README.
    linked = {m.split("#")[0] for m in LINK.findall(text)}
    missing = [g.name for g in GUIDES if f"docs/{g.name}" not in linked]
    assert not missing, f"guides the README does not link: {missing}"


@pytest.mark.parametrize("doc", documents(), ids=lambda p: p.name)
def test_every_link_resolves(doc):
    """Relative links point at files that exist, and #anchors at headings they have."""
    broken = []
    for target in LINK.findall(doc.read_text()) + IMAGE.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # an external URL
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(target)
    assert not broken, f"{doc.name}: broken links {broken}"


def test_only_azure_notes_live_in_the_pilot_checklist():
    """Everything only real Azure can confirm is one checklist, not notes inside the how-to."""
    pattern = re.compile(r"only (real )?azure can confirm", re.IGNORECASE)
    offenders = [
        doc.name
        for doc in documents()
        if doc.name != "pilot-checklist.md"
        and any(pattern.search(p) and "pilot" not in p for p in doc.read_text().split("\n\n"))
    ]
    assert not offenders, f"move these notes into docs/pilot-checklist.md: {offenders}"
