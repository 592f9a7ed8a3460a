"""The class's progress page in a real chromium: marks with words, per-step bars, the stuck filter,
the readiness page's CSP and link rules, hostile values inert."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from classroom.checking import progress
from classroom.checking.checks import Environment
from classroom.checking.progress_page import write_progress_page
from classroom.checking.progress_read import StepState
from lab import steps
from tests.classroom.browser import keep

NOW = dt.datetime(2026, 12, 8, 10, 30, tzinfo=dt.UTC)
NAMES = [
    "ada",
    "ben",
    "cho",
    "dev",
    "eli",
    "fay",
    "gus",
    "hal",
    "ivy",
    "jon",
    "kai",
    "lea",
    "max",
    "nia",
    "oli",
    "pam",
    "quin",
    "rui",
    "sam",
    "tia",
    "uma",
    "vic",
    "wes",
    "xia",
    "yan",
]


def env(student: str, synapse_url: str | None = None) -> Environment:
    sfx = f"{student[:3]:0<3}0000"
    return Environment.from_output(
        student,
        {
            "subscription": "s",
            "resourceGroup": f"dp000-{sfx}",
            "synapseWorkspace": f"synapse{sfx}",
            "synapseStudioUrl": synapse_url
            or f"https://web.azuresynapse.net?workspace=synapse{sfx}",
            "sparkPool": "p",
            "sqlPool": "q",
            "dataLake": f"datalake{sfx}",
            "amlWorkspace": f"aml{sfx}",
            "amlStudioUrl": f"https://ml.azure.com/workspaces/aml{sfx}",
            "logAnalyticsWorkspaceId": "w",
        },
    )


def a_row(
    e: Environment, done: int, minutes_ago: float, running: bool = False, failed: bool = False
):
    row = progress.StudentProgress(e)
    for n, s in enumerate(steps.student_steps()):
        at = NOW - dt.timedelta(minutes=minutes_ago + 5 * (done - n))
        state = "done" if n < done else "not yet"
        if n == done and running:
            state, at = "running", NOW - dt.timedelta(minutes=minutes_ago)
        if n == done and failed:
            state, at = "failed", NOW - dt.timedelta(minutes=minutes_ago)
        row.states[s.id] = StepState(
            state, at if state != "not yet" else None, "Failed" if failed and n == done else ""
        )
    row.states["paused"] = StepState("done", NOW - dt.timedelta(hours=11), "Succeeded")
    return row


def class_of_25() -> dict:
    """25 students: 18 trained a model (index 2 done), two training, one failed, a few behind."""
    rows = []
    for n, name in enumerate(NAMES):
        if n < 18:
            rows.append(a_row(env(name), 3 + n % 3, 4 + n))
        elif n < 20:
            rows.append(a_row(env(name), 2, 6, running=True))
        elif n == 20:
            rows.append(a_row(env(name), 2, 12, failed=True))
        elif n < 24:
            rows.append(a_row(env(name), 1, 50))  # behind, and quiet for 50 minutes: stuck
        else:
            bad = progress.StudentProgress(env(name))
            bad.problems.append(
                "cannot read the Azure ML workspace amlyan0000 (403 AuthorizationFailed): give the instructor Reader"
            )
            rows.append(bad)
    progress.mark_stuck(rows, dt.timedelta(minutes=20), NOW)
    return progress.report(rows, ["dev"], NOW)


def _open(browser, path, width=1366, height=900):
    context = browser.new_context(
        viewport={"width": width, "height": height}, device_scale_factor=1
    )
    tab = context.new_page()
    requests, errors, dialogs = [], [], []
    tab.on("request", lambda r: requests.append(r.url))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.goto(path.as_uri())
    return context, tab, requests, errors, dialogs


def test_the_progress_page_shows_each_step_per_student_and_the_class(browser, tmp_path):
    report = class_of_25()
    html = write_progress_page(tmp_path / "progress.html", report)
    context, tab, requests, errors, _ = _open(browser, html)
    try:
        bars = tab.locator("ol.bars > li")
        assert bars.count() == len(steps.steps())
        texts = bars.locator(".bar-text").all_inner_texts()
        assert texts[2] == "Step 3 18 of 25 trained a model (2 running, 1 failed)"
        assert texts[0] == "Step 1 24 of 25 prepared the data"
        assert texts[-1].startswith("Cost guard 24 of 25 had the pool paused last night")
        # The bar's length is its share of the class.
        track = bars.nth(2).locator("rect.track").bounding_box()
        done = bars.nth(2).locator("rect.done").bounding_box()
        assert done["width"] == pytest.approx(track["width"] * 18 / 25, abs=2)

        rows = tab.locator("#students tbody tr")
        assert rows.count() == 25
        # Unreadable first, then the stuck, then the furthest behind.
        assert rows.first.get_attribute("data-student") == "yan"
        # Each mark's words are in the page (for a screen reader), the symbol is hidden from it.
        ada = tab.locator('tr[data-student="ada"] .mark')
        assert ada.count() == len(steps.steps())
        words = ada.locator(".sr").all_text_contents()
        assert words[0].startswith("Prepare the data: done 2026-12-08")
        assert words[3] == "Register the model: not yet"
        assert ada.first.locator('[aria-hidden="true"]').inner_text() == "✓"
        assert (
            tab.locator('tr[data-student="uma"] .what')
            .inner_text()
            .startswith("Failed: Train a model")
        )

        tab.click("#stuck-only")
        visible = [r for r in rows.all() if r.is_visible()]
        stuck = [
            r.get_attribute("data-student")
            for r in rows.all()
            if r.get_attribute("data-stuck") == "1"
        ]
        assert [r.get_attribute("data-student") for r in visible] == stuck == ["vic", "wes", "xia"]
        assert len(visible) == report["summary"]["stuck"] == 3
        assert tab.locator("#shown").inner_text() == "3 shown"
        tab.click('button[data-filter="all"]')
        tab.fill("#filter", "403")
        assert tab.locator("#shown").inner_text() == "1 shown"
        tab.fill("#filter", "")

        assert requests == [html.as_uri()] and errors == []
        tab.screenshot(path=str(tmp_path / "class-progress-full.png"), full_page=True)
        keep(tmp_path / "class-progress-full.png", "class-progress-full.png")
        tab.screenshot(path=str(tmp_path / "class-progress.png"))  # the first screen, for docs/
        keep(tmp_path / "class-progress.png", "class-progress.png", docs=True)
        keep(html, "class-progress.html")
    finally:
        context.close()


def test_the_bars_read_on_a_projector(browser, tmp_path):
    html = write_progress_page(tmp_path / "progress.html", class_of_25())
    context, tab, *_ = _open(browser, html, width=1280, height=720)
    try:
        tab.click("#large")
        assert tab.locator("html.large").count() == 1
        size = tab.locator(".bar-text").first.evaluate(
            "e => parseFloat(getComputedStyle(e).fontSize)"
        )
        assert size >= 24  # 1.15rem of 22px: legible from the back of a room
        # The whole class's bars fit the first screen.
        last = tab.locator("ol.bars > li").last.bounding_box()
        assert last["y"] + last["height"] <= 720
        tab.screenshot(path=str(tmp_path / "class-progress-projector.png"))
        keep(tmp_path / "class-progress-projector.png", "class-progress-projector.png", docs=True)
    finally:
        context.close()


def test_hostile_values_are_inert_and_links_follow_the_class_page_rules(browser, tmp_path):
    rows = [
        a_row(env("<img src=x onerror=alert(1)>", synapse_url="javascript:alert(2)"), 2, 5),
        a_row(env("ok", synapse_url="https://evil.example.com/?x=1"), 1, 5),
    ]
    rows[1].problems.append("</script><script>alert(5)</script>")
    report = progress.report(rows, ["dev<script>"], NOW)
    path = write_progress_page(tmp_path / "progress.html", report)
    text = path.read_text()
    assert text.count("<script>") == 1 and "&lt;/script&gt;&lt;script&gt;alert(5)" in text
    hrefs = re.findall(r'href="([^"]*)"', text)
    assert hrefs and all(
        h.startswith(("https://web.azuresynapse.net", "https://ml.azure.com")) for h in hrefs
    )
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text).group(1)
    assert (
        "script-src 'sha256-" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    )
    context, tab, requests, errors, dialogs = _open(browser, path)
    try:
        tab.click("#stuck-only")
        tab.fill("#filter", "script")
        assert dialogs == [] and errors == [] and requests == [path.as_uri()]
        assert tab.locator("img").count() == 0
        # The unsafe links are shown as text, not links.
        assert "evil.example.com" in tab.locator('tr[data-student="ok"] .links').inner_text()
        assert tab.locator('tr[data-student="ok"] .links a').count() == 1  # Azure ML studio only
    finally:
        context.close()
