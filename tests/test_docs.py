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
        if not file.exists() or anchor and file.suffix == ".md" and anchor not in anchors(file):
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


# --- figures and names come from the program ---------------------------------------------


@pytest.fixture(scope="module")
def dev_plan():
    """`python -m classroom plan --stack dev --hours 3 --days 14`: its text and its JSON."""
    import contextlib
    import io
    import json

    from classroom.__main__ import main

    args = ["plan", "--stack", "dev", "--hours", "3", "--days", "14"]
    text, data = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(text):
        main(args)
    with contextlib.redirect_stdout(data):
        main([*args, "--json"])
    return text.getvalue(), json.loads(data.getvalue())


def test_the_plan_example_is_the_programs_output(dev_plan):
    text, _ = dev_plan
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("class of"))
    end = next(i for i, line in enumerate(lines) if line.strip().startswith("to read today"))
    block = "\n".join(lines[start : end + 1])
    assert f"```\n{block}\n```" in (DOCS / "instructor-guide.md").read_text()


def test_resource_counts_in_the_docs_are_the_programs(dev_plan):
    _, data = dev_plan
    per_student = len(data["students"][0]["resources"])
    said = [
        (doc.name, int(n))
        for doc in documents()
        for n in re.findall(r"\b(\d+) (?:resources )?per student\b", doc.read_text())
    ]
    assert said, "the docs no longer say how many resources a student has"
    assert all(n == per_student for _, n in said), (per_student, said)
    # README's hourly figure: "about N USD an hour while the lab is in use".
    (hourly,) = re.findall(r"about (\d+) USD an hour", README.read_text())
    assert int(hourly) == round(data["class"]["inUsePerHour"] / data["class"]["students"])


LAB_NAME = re.compile(
    r"\b(?:dp000-|synapse|spark|sql|datalake|amlstore|amlkv|aml)([a-z0-9]{7})\b(?!-)"
)


def test_names_in_the_docs_are_names_the_program_makes():
    """A concrete resource name in the docs is what lab/naming.py makes for its suffix;
    names the program never makes (a pool called `sqlpool`, another prefix) are not there."""
    from lab.config import DEFAULT_PREFIX
    from lab.naming import LabNames

    for doc in documents():
        text = doc.read_text()
        assert "'sqlpool'" not in text and "mslearn-ml-" not in text, doc.name
        for match in LAB_NAME.finditer(text):
            names = LabNames(DEFAULT_PREFIX, match.group(1))
            made = set(names.all().values())
            assert match.group(0) in made or match.group(0) == f"{DEFAULT_PREFIX}-{names.suffix}", (
                doc.name,
                match.group(0),
            )


def test_screenshots_in_the_docs_show_a_first_screen():
    """Screenshots are of what a laptop or projector shows first, not a page 4,000 px long."""
    import struct

    shots = sorted(DOCS.glob("*.png"))
    assert shots
    for shot in shots:
        width, height = struct.unpack(">II", shot.read_bytes()[16:24])
        assert width <= 1400 and height <= 900, (shot.name, width, height)
