"""Hostile outputs (a tampered CI artifact, an odd error text) stay inert text in the page and handout."""

from __future__ import annotations

import json
import re

import pytest

from classroom.__main__ import main as classroom_main
from classroom.checking import checks, handout, page, status
from classroom.planning.costs import PriceTable

from .test_class_page import TODAY

EVIL_IDS = ["../x", "a<img src=x onerror=alert(1)>", "q'\"><script>alert(2)</script>"]
EVIL_URLS = {
    "synapseStudioUrl": "javascript:alert(3)",
    "amlStudioUrl": "data:text/html,<script>alert(4)</script>",
}
EVIL_TEXT = "</script><script>alert(5)</script><img src=x onerror=alert(6)> `rm -rf /`"


def evil_output(student: str, **urls: str) -> dict[str, str]:
    sub = "11111111-1111-1111-1111-111111111111"
    rg = "rg\"'><svg onload=alert(7)>"
    return {
        "subscription": sub,
        "resourceGroup": rg,
        "synapseWorkspace": "ws<b>bold</b>",
        "synapseStudioUrl": urls.get(
            "synapseStudioUrl", "https://web.azuresynapse.net?workspace=x"
        ),
        "sparkPool": "spark",
        "sqlPool": "sqlpool",
        "dataLake": "lake",
        "amlWorkspace": "aml",
        "amlStudioUrl": urls.get("amlStudioUrl", "https://ml.azure.com/home?wsid=x"),
    }


def test_safe_url_only_takes_https_on_the_labs_hosts():
    ok = [
        "https://web.azuresynapse.net?workspace=%2fsubscriptions%2fs",
        "https://ml.azure.com/home?wsid=/subscriptions/s/resourceGroups/r",
        "https://portal.azure.com/#@/resource/subscriptions/s/resourceGroups/r/overview",
    ]
    bad = [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "data:text/html,hi",
        "http://portal.azure.com/",
        "https://evil.example/portal.azure.com",
        "https://portal.azure.com.evil.example/",
        "https://user@portal.azure.com/",
        "https://portal.azure.com:444/",
        'https://portal.azure.com/"onmouseover="x',
        "//portal.azure.com/",
        None,
        42,
    ]
    assert [page.safe_url(u) for u in ok] == ok
    assert [page.safe_url(u) for u in bad] == [None] * len(bad)


@pytest.fixture
def hostile_report():
    statuses = []
    for n, sid in enumerate(EVIL_IDS):
        urls = EVIL_URLS if n == 0 else {}
        env = checks.Environment.from_output(sid, evil_output(sid, **urls), stack="dev")
        statuses.append(
            checks.StudentStatus(
                env,
                [
                    checks.Finding("x", checks.NOT_READY, EVIL_TEXT),
                    checks.Finding("y", checks.WARNING, EVIL_TEXT),
                ],
            )
        )
    # A tampered report's cost guard: every field of it is text.
    statuses[0].guard = {"state": "off", "reasons": [EVIL_TEXT], "schedule": EVIL_TEXT}
    statuses[1].guard = {"state": EVIL_TEXT, "reason": EVIL_TEXT}
    statuses[2].guard = {"state": "on", "schedule": EVIL_TEXT, "lastRun": {"status": EVIL_TEXT}}
    return status.report(
        statuses, ["dev</title><script>alert(8)</script>"], PriceTable.load(), TODAY
    )


def _no_live_markup(html: str, scripts: int) -> None:
    assert html.count("<script") == scripts  # only the page's own
    assert not re.search(r"<(img|svg onload|iframe|object|embed)\b", html)
    assert "javascript:" not in html.replace("javascript:alert(3)", "")  # only as escaped text
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(
        h.startswith(
            ("https://web.azuresynapse.net", "https://ml.azure.com", "https://portal.azure.com")
        )
        for h in hrefs
    ), hrefs


def _open_and_watch(browser, path):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    tab = context.new_page()
    dialogs, errors, requests = [], [], []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on("request", lambda r: requests.append(r.url))
    tab.goto(path.as_uri())
    return context, tab, dialogs, errors, requests


def test_hostile_outputs_are_inert_in_the_class_page(browser, hostile_report, tmp_path):
    html_path = page.write_class_page(tmp_path / "class.html", hostile_report, today=TODAY)
    html = html_path.read_text()
    _no_live_markup(html, scripts=1)
    assert "&lt;/script&gt;&lt;script&gt;alert(5)" in html
    context, tab, dialogs, errors, requests = _open_and_watch(browser, html_path)
    try:
        tab.click("#view-tiles")
        tab.click("#view-table")
        tab.fill("#filter", "script")
        assert dialogs == [] and errors == [] and requests == [html_path.as_uri()]
        # Only the elements the page makes: no image, frame or second script appeared.
        tags = set(tab.evaluate("Array.from(document.querySelectorAll('*')).map(e => e.localName)"))
        assert tags <= {
            "html",
            "head",
            "meta",
            "title",
            "style",
            "body",
            "header",
            "h1",
            "h2",
            "h3",
            "p",
            "b",
            "time",
            "span",
            "button",
            "main",
            "section",
            "ul",
            "li",
            "div",
            "label",
            "input",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "code",
            "a",
            "svg",
            "rect",
            "text",
            "path",
            "line",
            "i",
            "script",
            "br",
        }, tags
        assert tab.locator("script").count() == 1
        # The ids and texts are shown as they are, as text.
        names = tab.locator("#students tbody th.student").evaluate_all(
            "els => els.map(e => e.firstChild.textContent)"
        )
        assert sorted(names) == sorted(EVIL_IDS)
        row = tab.locator("#students tbody tr").filter(has_text="../x")
        assert row.locator(".what li.problem").inner_text() == "Problem: " + EVIL_TEXT.replace(
            "`rm -rf /`", "rm -rf /"
        )
        # The javascript: and data: URLs are text, not links; the portal link of that row is real.
        assert row.locator("a").evaluate_all("els => els.map(e => e.className)") == []
        assert "javascript:alert(3)" in row.locator(".links").inner_text()
        assert "data:text/html" in row.locator(".links").inner_text()
        assert tab.title() == "Class status: dev</title><script>alert(8)</script>"
        assert row.locator("td.cost-guard").inner_text() == "Off\n" + EVIL_TEXT
        assert "Cost guard off for 1 student (../x)" in tab.locator("#guard-banner").inner_text()
    finally:
        context.close()


def test_hostile_outputs_are_inert_in_the_handout(browser, hostile_report, tmp_path):
    envs = [
        checks.Environment.from_output(sid, evil_output(sid, **(EVIL_URLS if n == 0 else {})))
        for n, sid in enumerate(EVIL_IDS)
    ]
    path = handout.write_handout(tmp_path / "handout.html", envs)
    html = path.read_text()
    _no_live_markup(html, scripts=0)
    assert "script-src 'none'" in html
    context, tab, dialogs, errors, requests = _open_and_watch(browser, path)
    try:
        assert dialogs == [] and errors == [] and requests == [path.as_uri()]
        assert tab.locator("script, img, iframe, object, embed").count() == 0
        first = tab.locator("section.student").first
        assert first.locator(".who").inner_text() == "../x"
        assert first.locator("a").evaluate_all("els => els.map(e => e.className)") == []
        assert "javascript:alert(3)" in first.locator(".links").inner_text()
        # The portal link is built from the resource group name: with quotes in it, no link either.
        assert tab.locator("a.portal").count() == 0
        assert tab.locator("a.studio").count() == 2 and tab.locator("a.aml").count() == 2
    finally:
        context.close()


def test_text_handouts_never_leave_their_folder(tmp_path, capsys):
    outputs = {"environments": {sid: evil_output(sid) for sid in [*EVIL_IDS, "ann", "..", "con"]}}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  lab:expiresOn: '2026-12-20'\n")
    out = tmp_path / "deep" / "out"
    code = classroom_main(
        [
            "handout",
            "--stack",
            "dev",
            "--outputs",
            str(tmp_path / "outputs.json"),
            "--config",
            str(tmp_path / "Pulumi.dev.yaml"),
            "--text",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["ann.txt", "con.txt"]
    assert sorted(p.name for p in tmp_path.rglob("*.txt")) == ["ann.txt", "con.txt"]
    assert not (tmp_path / "deep" / "x.txt").exists()
    for sid in (*EVIL_IDS, ".."):
        assert f"error: student id {sid!r} is not a valid id" in err
    assert "2 handouts in" in err


def test_both_pages_carry_a_policy_that_names_only_their_own_script_and_style(hostile_report):
    from classroom.checking.page import CSS, SCRIPT, csp_hash

    html = page.render_class_page(hostile_report, TODAY)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert policy == (
        f"default-src 'none'; script-src {csp_hash(SCRIPT)}; style-src {csp_hash(CSS)}; "
        "base-uri 'none'; form-action 'none'"
    )
    assert f"<script>{SCRIPT}</script>" in html and f"<style>{CSS}</style>" in html
    assert " style=" not in html  # inline style attributes would need 'unsafe-inline'
