"""The class page in a real headless browser: what an instructor sees, for 30 and for 200 students."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from classroom.checking import checks, page, spend, status
from classroom.planning.costs import PriceTable
from tests.fakes.azure import AzureCredential, environment
from tests.fakes.synapse import FIREWALL_403_BODY

from .azure_fixtures import add, check, endpoints, ml_id, synapse_id
from .browser import keep

CLASS = [
    "ada",
    "alan",
    "anna",
    "ben",
    "bo",
    "carl",
    "cleo",
    "dan",
    "dora",
    "eli",
    "emma",
    "finn",
    "gus",
    "hana",
    "ida",
    "ivan",
    "jon",
    "kim",
    "lea",
    "liam",
    "mia",
    "nils",
    "ola",
    "omar",
    "pia",
    "raj",
    "sara",
    "tom",
    "uma",
    "zoe",
]
TODAY = dt.date.today()


@pytest.fixture
def class_report(azure):
    """A checked class of 30: most ready, some not, one SQL pool online - from the real check."""
    envs = [
        add(azure, sid, expires_on=(TODAY + dt.timedelta(days=18)).isoformat()) for sid in CLASS
    ]
    by = {e.student: e for e in envs}
    del azure.workspaces[by["dan"].synapse_workspace]["notebooks"]["02-train-automl"]
    azure.get(synapse_id(by["mia"], "sqlPools", by["mia"].sql_pool))["properties"]["status"] = (
        "Online"
    )
    azure.get(synapse_id(by["kim"], "sqlPools", by["kim"].sql_pool))["properties"]["status"] = (
        "Online"
    )
    azure.remove(ml_id(by["omar"], "computes/automl-cluster"))
    azure.get(synapse_id(by["omar"], "bigDataPools", by["omar"].spark_pool))["properties"][
        "provisioningState"
    ] = "Failed"
    azure.fail(
        "GET",
        rf"^/synapse/{by['raj'].synapse_workspace}/",
        status=403,
        body=FIREWALL_403_BODY,
        count=99,
    )
    results = check(azure, envs, checks.CheckSettings(timeout=5, retries=0, concurrency=8))
    data = status.report(list(results.values()), ["dev"], PriceTable.load(), today=TODAY)
    # Real spend from the fake Cost Management: mia and kim left their pools running.
    since = TODAY.replace(day=1)
    for n, e in enumerate(envs):
        azure.add_cost(e.resource_group_id, since.isoformat(), "Storage", 0.05 + n / 100)
    azure.add_cost(by["mia"].resource_group_id, since.isoformat(), "Azure Synapse Analytics", 36.2)
    azure.add_cost(by["kim"].resource_group_id, since.isoformat(), "Azure Synapse Analytics", 12.1)
    settings = checks.CheckSettings(timeout=5, retries=0, concurrency=8)
    spends = spend.class_spend(
        envs, credential=AzureCredential(), endpoints=endpoints(azure), settings=settings
    )
    idle = {s: (r.cost.daily_idle if r.cost else None) for s, r in results.items()}
    data["spend"] = spend.summary(spends, 40.0, round(sum(v or 0 for v in idle.values()), 2))
    return data


def _open(browser, path, width=1366, height=900):
    context = browser.new_context(
        viewport={"width": width, "height": height}, device_scale_factor=1
    )
    tab = context.new_page()
    requests = []
    tab.on("request", lambda r: requests.append(r.url))
    tab.goto(path.as_uri())
    return context, tab, requests


def test_the_class_page_shows_every_student_problems_first(browser, class_report, tmp_path):
    html = page.write_class_page(tmp_path / "class.html", class_report, today=TODAY)
    context, tab, requests = _open(browser, html)
    try:
        rows = tab.locator("#students tbody tr")
        assert rows.count() == 30
        names = rows.locator("th.student").evaluate_all(
            "els => els.map(e => e.firstChild.textContent)"
        )
        states = rows.locator(".badge").all_inner_texts()
        # Problems first (dan, omar, raj), then the two online pools, then the ready ones.
        assert names[:3] == ["dan", "omar", "raj"] and states[:3] == ["Not ready"] * 3
        assert names[3:5] == ["kim", "mia"] and states[3:5] == ["Check"] * 2
        assert states[5:] == ["Ready"] * 25
        assert tab.locator("#ready-card .big").inner_text() == "27 / 30"

        dan = tab.locator('tr[data-student="dan"]')
        assert "notebook '02-train-automl' is missing" in dan.locator(".what").inner_text()
        omar = tab.locator('tr[data-student="omar"] .what li').all_inner_texts()
        assert any("is Failed" in t for t in omar) and any(
            "compute cluster 'automl-cluster' of Azure ML" in t and "does not exist" in t
            for t in omar
        )
        assert (
            "firewall refuses this machine's address"
            in tab.locator('tr[data-student="raj"] .what').inner_text()
        )
        assert re.search(
            r"is Online, costing 1\.51 USD an hour",
            tab.locator('tr[data-student="mia"] .what').inner_text(),
        )

        # Links go where the student's environment is.
        ada = next(s for s in class_report["students"] if s["student"] == "ada")
        links = tab.locator('tr[data-student="ada"] .links a')
        assert links.all_inner_texts() == ["Synapse", "Azure ML", "Portal"]
        assert [links.nth(i).get_attribute("href") for i in range(3)] == [
            ada["links"]["synapseStudio"],
            ada["links"]["amlStudio"],
            ada["links"]["portal"],
        ]
        assert links.nth(2).get_attribute("href") == (
            f"https://portal.azure.com/#@/resource/subscriptions/{ada['subscription']}/resourceGroups/"
            f"{ada['resourceGroup']}/overview"
        )
        expires = tab.locator('tr[data-student="ada"] .expires').inner_text()
        assert (TODAY + dt.timedelta(days=18)).isoformat() in expires and "18 days left" in expires
        cost = class_report["students"][-1]["cost"]
        assert (
            tab.locator('tr[data-student="zoe"] .hour').inner_text()
            == f"{cost['inUsePerHour']:.2f} USD"
        )

        # The class's cost: working, idle and running now, each bar split by what costs.
        breakdown = tab.locator("#breakdown-chart")
        assert breakdown.bounding_box()["width"] > 800 and breakdown.bounding_box()["height"] > 100
        segments = lambda row: breakdown.locator(f'rect.segment[data-row="{row}"]').evaluate_all(  # noqa: E731
            "els => els.map(e => [e.dataset.category, Math.round(e.getBBox().width)])"
        )
        working = dict(segments("inUseByCategory"))
        assert set(working) == {"Spark pool", "SQL pool", "AutoML compute"}
        assert sum(working.values()) == pytest.approx(960 - 210 - 130, abs=2)  # the whole bar
        running = dict(segments("runningByCategory"))[
            "SQL pool"
        ]  # to the scale of "working": a small share
        assert running == pytest.approx(
            sum(working.values()) * 3.02 / class_report["summary"]["inUsePerHour"], abs=2
        )
        assert working["Spark pool"] > working["SQL pool"] > working["AutoML compute"] > 0
        assert set(dict(segments("idleByCategory"))) == {
            "storage",
            "SQL pool storage",
            "Log Analytics",
        }
        assert dict(segments("runningByCategory")).keys() == {"SQL pool"}
        totals = breakdown.locator("text.row-total").all_text_contents()
        assert totals == [
            f"{class_report['summary']['inUsePerHour']:,.2f} USD",
            f"{class_report['summary']['idlePerDay']:,.2f} USD",
            "3.02 USD",
        ]
        # Per student: one bar each, a mark on the two students whose SQL pool runs, a real size.
        chart = tab.locator("#cost-chart")
        box = chart.bounding_box()
        assert box["width"] > 800 and 120 < box["height"] <= 300
        priced = sum(1 for s in class_report["students"] if s["cost"])
        assert tab.locator("#cost-chart rect.inuse").count() == priced == 30
        assert tab.locator("#cost-chart path.now").evaluate_all(
            "els => els.map(e => e.dataset.student)"
        ) == ["kim", "mia"]
        heights = dict(
            tab.locator("#cost-chart rect.inuse").evaluate_all(
                "els => els.map(e => [e.dataset.student, e.getBBox().height])"
            )
        )
        assert (
            heights["ada"] > 100 and heights["omar"] < heights["ada"]
        )  # omar's Spark pool failed: not priced

        # Nothing was fetched but the page itself (no CDN, no font, no script from elsewhere).
        assert requests == [html.as_uri()]
        tab.screenshot(path=str(tmp_path / "class-page-full.png"), full_page=True)
        keep(tmp_path / "class-page-full.png", "class-page-full.png")
        # The README shows the first screen, as an instructor sees the page when it opens.
        tab.screenshot(path=str(tmp_path / "class-page.png"))
        keep(tmp_path / "class-page.png", "class-page.png", docs=True)
        keep(html, "class-page.html")
    finally:
        context.close()


def test_the_class_page_shows_spend_closest_to_budget_first(browser, class_report, tmp_path):
    html = page.write_class_page(tmp_path / "class.html", class_report, today=TODAY)
    context, tab, _ = _open(browser, html)
    try:
        rows = tab.locator("#spend-table tbody tr")
        assert rows.count() == 30
        order = rows.evaluate_all("els => els.map(e => e.dataset.student)")
        assert order[:2] == ["mia", "kim"]
        mia = tab.locator('#spend-table tr[data-student="mia"]').inner_text()
        mia_spent = 36.2 + 0.05 + CLASS.index("mia") / 100
        assert f"{mia_spent:.2f} USD" in mia and f"{mia_spent / 40 * 100:.0f}%" in mia
        total = tab.locator("#spend-total").inner_text()
        expected = 36.2 + 12.1 + sum(0.05 + n / 100 for n in range(30))
        assert total == f"{expected:,.2f} USD"
        text = tab.locator("#spend").inner_text()
        assert "budget 40.00 USD per student, 1,200.00 USD for the class" in text
        assert f"since {TODAY.replace(day=1).isoformat()}" in text
    finally:
        context.close()


def test_filter_status_buttons_and_sorting(browser, class_report, tmp_path):
    html = page.write_class_page(tmp_path / "class.html", class_report, today=TODAY)
    context, tab, _ = _open(browser, html)
    try:
        visible = lambda: tab.locator("#students tbody tr:visible th.student").evaluate_all(  # noqa: E731
            "els => els.map(e => e.firstChild.textContent)"
        )
        tab.click('button[data-filter="not ready"]')
        assert visible() == ["dan", "omar", "raj"]
        assert tab.locator("#shown").inner_text() == "3 shown"
        tab.click('.controls button[data-filter="all"]')
        tab.fill("#filter", "online")
        assert visible() == ["kim", "mia"]
        tab.fill("#filter", "")
        assert len(visible()) == 30
        tab.click('button[data-sort="student"]')
        assert visible() == sorted(CLASS)
        tab.click('button[data-sort="student"]')
        assert visible() == sorted(CLASS, reverse=True)
        tab.click('button[data-sort="rank"]')
        assert visible()[:3] == ["dan", "omar", "raj"]
        # Problems only: the students not ready and those with a warning, nobody ready.
        tab.click("#problems-only")
        assert visible() == ["dan", "omar", "raj", "kim", "mia"]
        assert tab.locator("#shown").inner_text() == "5 shown"
    finally:
        context.close()


def test_projector_large_text_fits_the_screen(browser, class_report, tmp_path):
    html = page.write_class_page(tmp_path / "class.html", class_report, today=TODAY)
    context, tab, _ = _open(browser, html, width=1024, height=768)
    try:
        small = tab.locator("h1").bounding_box()["height"]
        tab.click("#large")
        assert tab.locator("html.large").count() == 1
        assert tab.locator("h1").bounding_box()["height"] > small * 1.2
        # The page never scrolls sideways; only the table and the chart may, inside their frames.
        assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        tab.screenshot(path=str(tmp_path / "class-page-projector.png"))
        keep(tmp_path / "class-page-projector.png", "class-page-projector.png")
    finally:
        context.close()


def big_report(n: int = 200) -> dict:
    """A class of ``n`` with the program's real link shapes, a few problems and warnings."""
    from classroom.planning.costs import CostLine, StudentCost

    envs = [
        checks.Environment.from_output(f"s{i:03d}", environment(f"s{i:03d}"), stack="dev")
        for i in range(n)
    ]
    statuses = []
    for i, env in enumerate(envs):
        s = checks.StudentStatus(env, region="westeurope", expires_on=TODAY + dt.timedelta(days=5))
        if i % 50 == 7:
            s.findings.append(
                checks.Finding(
                    "Synapse Studio", checks.NOT_READY, f"notebook '03-predict' is missing ({i})"
                )
            )
        if i % 50 == 9:
            s.findings.append(
                checks.Finding(
                    "SQL pool", checks.WARNING, f"dedicated SQL pool '{env.sql_pool}' is Online"
                )
            )
        s.cost = StudentCost([CostLine("x", 4.13)], [CostLine("y", 0.04)])
        s.guard = {
            "state": "on",
            "schedule": "23:00 Europe/Amsterdam",
            "reasons": [],
            "lastRun": {"status": "Succeeded"},
        }
        if i % 50 == 11:  # a student stopped the pause trigger in Synapse Studio
            s.guard = {**s.guard, "state": "off", "reasons": ["trigger stopped"]}
            s.findings.append(
                checks.Finding("cost guard", checks.NOT_READY, "the cost guard is off (stopped)")
            )
        statuses.append(s)
    return status.report(statuses, ["dev-s1", "dev-s2"], PriceTable.load(), today=TODAY)


def test_two_hundred_students_stay_usable(browser, tmp_path):
    report = big_report()
    html = page.write_class_page(tmp_path / "class.html", report, today=TODAY)
    context, tab, _ = _open(browser, html)
    try:
        assert tab.locator("#students tbody tr").count() == 200
        first = tab.locator("#students tbody tr th.student").evaluate_all(
            "els => els.slice(0, 4).map(e => e.firstChild.textContent)"
        )
        assert first == ["s007", "s011", "s057", "s061"]
        tab.fill("#filter", "s19")
        assert tab.locator("#shown").inner_text() == "10 shown"
        assert tab.locator("#cost-chart rect.inuse").count() == 200
        assert tab.locator("#cost-chart text.label").count() == 0  # no 200 unreadable labels
        assert tab.locator("#cost-chart").bounding_box()["width"] > 800
    finally:
        context.close()


def test_a_page_without_any_cost_or_expiry_still_renders():
    """A class whose resource groups could not be read: no region, so no prices and no expiry."""
    env = checks.Environment(
        "ann", "sub", "rg-ann", "ws", "https://studio", "sp", "dl", "aml", "https://ml"
    )
    s = checks.StudentStatus(
        env, [checks.Finding("resource group", checks.NOT_READY, "access denied <403>")]
    )
    html = page.render_class_page(status.report([s], ["dev"], None, today=TODAY), today=TODAY)
    assert 'id="cost-chart-empty"' in html and "access denied &lt;403&gt;" in html
    assert '<td class="num hour">–</td>' in html and '<td class="expires">–</td>' in html
    # Problems and warnings are written out, not told by colour alone.
    assert '<li class="problem"><b>Problem:</b> access denied &lt;403&gt;</li>' in html
    # Nothing that a browser would fetch: no stylesheet or script links, no sources, no CSS urls.
    assert not re.search(r"<link|\ssrc=|@import|url\(", html)


def test_a_switched_off_cost_guard_shows_in_its_column_and_in_a_banner(browser, azure, tmp_path):
    """From the real check: one student stopped the pause trigger, one deleted the pipeline,
    one's last run failed; the others' guards are on, and a student without a pool has none."""
    from tests.fakes.synapse import pipeline_run

    envs = [add(azure, sid) for sid in ("ada", "ben", "cleo", "dan", "emma")]
    envs.append(add(azure, "finn", sql_pool=None))
    by = {e.student: e for e in envs}
    trigger = azure.workspaces[by["ben"].synapse_workspace]["triggers"]["Pause SQL pool schedule"]
    trigger["properties"]["runtimeState"] = "Stopped"
    azure.workspaces[by["cleo"].synapse_workspace]["pipelines"].clear()
    azure.runs[by["dan"].synapse_workspace] = [
        pipeline_run("Pause SQL pool", "Failed", dt.datetime.now(dt.UTC) - dt.timedelta(hours=4))
    ]
    results = check(azure, envs)
    data = status.report(list(results.values()), ["dev"], PriceTable.load(), today=TODAY)
    assert data["summary"]["costGuardsOff"] == 3
    assert [data["students"][n]["costGuard"]["state"] for n in range(6)] == [
        results[s["student"]].guard["state"] for s in data["students"]
    ]
    html = page.write_class_page(tmp_path / "class.html", data, today=TODAY)
    context, tab, requests = _open(browser, html, width=1366, height=900)
    try:
        banner = tab.locator("#guard-banner")
        assert banner.is_visible()
        text = banner.inner_text()
        assert text.startswith("Cost guard off for 3 students (ben, cleo, dan)")
        assert "python -m classroom repair --stack dev --student <id>" in text
        assert "python -m classroom pause --stack dev" in text

        def guard_of(student: str) -> str:
            row = tab.locator(f'#students tbody tr[data-student="{student}"]')
            return row.locator("td.cost-guard").inner_text().replace("\n", " | ")

        # In words, not colour alone.
        assert guard_of("ben") == "Off | trigger stopped"
        assert guard_of("cleo") == "Off | pipeline deleted"
        assert guard_of("dan") == "Failing | pauses at 23:00 Europe/Amsterdam; last run Failed"
        assert guard_of("ada") == "On | pauses at 23:00 Europe/Amsterdam; last run Succeeded"
        assert guard_of("finn") == "Not scheduled | no dedicated SQL pool"
        # Sorting by the column brings the guards that are off first.
        tab.click('button[data-sort="guard"]')
        order = tab.locator("#students tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.student)"
        )
        assert order[:3] == ["ben", "cleo", "dan"] and order[-1] == "finn"
        tab.fill("#filter", "guard off")
        assert tab.locator("#shown").inner_text() == "2 shown"
        tab.fill("#filter", "")
        assert requests == [html.as_uri()]
        tab.screenshot(path=str(tmp_path / "class-page-cost-guard.png"))
        keep(tmp_path / "class-page-cost-guard.png", "class-page-cost-guard.png")
    finally:
        context.close()
    # No guard off: no banner.
    calm = status.report([results["ada"], results["finn"]], ["dev"], None, today=TODAY)
    assert 'id="guard-banner"' not in page.render_class_page(calm, today=TODAY)


def test_the_class_page_shows_each_students_progress(browser, class_report, tmp_path):
    """`status --progress`: a Progress column after Status, the per-step bars, a Stuck filter."""
    from classroom.checking import progress

    from .test_progress_page import NOW, a_row, env

    rows = [
        a_row(env(s["student"]), n % 7, 4 + 3 * n if n % 7 < 2 else 4)
        for n, s in enumerate(class_report["students"])
    ]
    progress.mark_stuck(rows, dt.timedelta(minutes=20), NOW)
    data = {**class_report, "progress": progress.report(rows, ["dev"], NOW)}
    stuck = sorted(r.env.student for r in rows if r.stuck)
    assert stuck  # the class is built to have some
    html = page.write_class_page(tmp_path / "class.html", data, today=TODAY)
    context, tab, requests = _open(browser, html)
    errors = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        heads = tab.locator("#students thead th").all_inner_texts()
        assert [h.strip().upper() for h in heads[:3]] == ["STUDENT", "STATUS", "PROGRESS"]
        ada = tab.locator('#students tr[data-student="ada"] .mark .sr').all_text_contents()
        n = [s["student"] for s in class_report["students"]].index("ada")
        assert len(ada) == 7 and ada[0].startswith(
            "Prepare the data: " + ("done" if n % 7 > 0 else "not yet")
        )
        trained = sum(1 for r in rows if r.state("trained").state == "done")
        assert tab.locator("#progress-section .bar-text").nth(2).inner_text() == (
            f"Step 3 {trained} of {len(rows)} trained a model"
        )
        tab.click("#stuck-only")
        shown = [
            r.get_attribute("data-student")
            for r in tab.locator("#students tbody tr").all()
            if r.is_visible()
        ]
        assert sorted(shown) == stuck
        assert tab.locator("#shown").inner_text() == f"{len(stuck)} shown"
        assert requests == [html.as_uri()] and errors == []
        tab.click('#students-section button[data-filter="all"]')
        tab.screenshot(path=str(tmp_path / "class-page-progress.png"))
        keep(tmp_path / "class-page-progress.png", "class-page-progress.png", docs=True)
    finally:
        context.close()
