"""The class page: one self-contained HTML file from a `classroom status` report.

Inline CSS, inline SVG and a little inline script (sorting and filtering); nothing
is fetched from the network, so it opens the same in an offline classroom, on a
locked-down CI runner or from an e-mail attachment. Students with problems come
first; the page stays usable for a class of 200 (filter box, status buttons, a
"Problems only" view, sort buttons in the column headers, a header that stays in
view) and reads on a projector (a tile view of the whole class on one screen,
"Large text", text contrast of at least 4.5:1, problems and warnings written out).

Everything in it comes from data (stack outputs, an outputs file, Azure's error
texts), so every value is escaped, a link is made only of an ``https`` URL on one of
the lab's hosts (:func:`safe_url`; anything else is shown as text), and a
Content-Security-Policy lets the page run only its own inline script and style,
named by their hashes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .checks import class_of
from .spend import spend_section

STATE_LABELS = {"not ready": "Not ready", "warning": "Check", "ready": "Ready"}
STATE_RANK = {"not ready": 0, "warning": 1, "ready": 2}
NOTE_WORDS = {"problem": "Problem:", "warning": "Warning:"}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def code_html(text: str) -> str:
    """Escaped text with `command` spans set as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


# The hosts the lab's links point at (components/synapse.py, components/machine_learning.py, the portal).
LINK_HOSTS = frozenset({"web.azuresynapse.net", "ml.azure.com", "portal.azure.com"})


def safe_url(value: Any) -> str | None:
    """``value`` when it is an https URL on one of the lab's hosts, else None (shown as text)."""
    if not isinstance(value, str) or not value or len(value) > 4096:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ch in "\\\"'<>`" for ch in value):
        return None
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or port is not None or parts.username or parts.password:
        return None
    return value if parts.hostname in LINK_HOSTS and parts.netloc == parts.hostname else None


def link_html(url: Any, label: str, cls: str, new_tab: bool = False) -> str:
    """A link when ``url`` is safe; otherwise the label and the address as inert text."""
    safe = safe_url(url)
    if safe is None:
        return (
            f'<span class="{cls} not-a-link" title="not a link: not an https address of the lab">'
            f"{_e(label)}: {_e(url)}</span>"
        )
    target = ' target="_blank" rel="noopener noreferrer"' if new_tab else ""
    return f'<a class="{cls}" href="{_e(safe)}"{target}>{_e(label)}</a>'


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(script: str | None, style: str) -> str:
    """Nothing from anywhere; only this page's own inline script and style, by hash."""
    return (
        "default-src 'none'; "
        + (f"script-src {csp_hash(script)}; " if script is not None else "script-src 'none'; ")
        + f"style-src {csp_hash(style)}; base-uri 'none'; form-action 'none'"
    )


def document_head(title: str, script: str | None, style: str, refresh: int | None = None) -> str:
    """A page's start up to <body>: its CSP naming ``script`` and ``style`` by hash, the
    optional reload (``--wait``/``--watch``), the title (escaped) and the inline style."""
    refresh_meta = f'<meta http-equiv="refresh" content="{int(refresh)}">\n' if refresh else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{content_security_policy(script, style)}">
{refresh_meta}<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{style}</style>
</head>
"""


def _money(amount: Any, currency: str, digits: int = 2) -> str:
    return "–" if amount is None else f"{float(amount):,.{digits}f} {currency}"


CATEGORY_COLOURS = {
    "Spark pool": "#2f6fd6",
    "SQL pool": "#7048e8",
    "AutoML compute": "#0c8599",
    "storage": "#8795a8",
    "SQL pool storage": "#b197fc",
    "Log Analytics": "#c2a878",
}
INK, WHITE = "#1c1f24", "#ffffff"


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def label_ink(fill: str) -> str:
    """Dark or white text, whichever reads better on ``fill`` (white on ochre is 2.3:1)."""
    return WHITE if contrast(WHITE, fill) >= contrast(INK, fill) else INK


BREAKDOWN_ROWS = (
    ("inUseByCategory", "Everyone working", "per lab hour"),
    ("idleByCategory", "All idle", "per day"),
    ("runningByCategory", "Running right now", "per hour, beyond idle"),
)


def breakdown_chart(summary: Mapping[str, Any], currency: str) -> str:
    """The class's cost in three bars, each to its own scale: working, idle, and what runs now."""
    width, label_w, total_w, row_h = 960, 210, 130, 46
    bar_w = width - label_w - total_w
    rows = [(key, title, unit, summary.get(key) or {}) for key, title, unit in BREAKDOWN_ROWS]
    parts = [
        f'<svg id="breakdown-chart" role="img" viewBox="0 0 {width} {row_h * len(rows) + 8}" '
        f'aria-labelledby="breakdown-title"><title id="breakdown-title">The class\'s cost: working, idle '
        f"and running now, in {_e(currency)}</title>"
    ]
    totals = {key: sum(parts_by.values()) for key, _, _, parts_by in rows}
    for r, (key, title, unit, parts_by) in enumerate(rows):
        top = 6 + r * row_h
        total = sum(parts_by.values())
        # Running now is per hour like "everyone working": drawn to that scale, it reads as a share of it.
        scale = max(total, totals["inUseByCategory"]) if key == "runningByCategory" else total
        parts.append(
            f'<text class="row-title" x="0" y="{top + 17}">{_e(title)}</text>'
            f'<text class="row-unit" x="0" y="{top + 34}">{_e(unit)}</text>'
        )
        parts.append(
            f'<rect class="track" x="{label_w}" y="{top + 4}" width="{bar_w}" height="30" rx="4"/>'
        )
        x = float(label_w)
        for category, amount in sorted(parts_by.items(), key=lambda kv: -kv[1]):
            if scale <= 0 or amount <= 0:
                continue
            w = bar_w * amount / scale
            colour = CATEGORY_COLOURS.get(category, "#adb5bd")
            parts.append(
                f'<rect class="segment" data-row="{key}" data-category="{_e(category)}" x="{x:.1f}" '
                f'y="{top + 4}" width="{w:.1f}" height="30" fill="{colour}"><title>{_e(category)}: '
                f"{amount:,.2f} {_e(currency)} {_e(unit)}</title></rect>"
            )
            text = f"{category} {amount:,.2f}"
            if w > len(text) * 7.2 + 12:
                ink = label_ink(colour)
                parts.append(
                    f'<text class="seg-label" x="{x + 8:.1f}" y="{top + 24}" fill="{ink}">'
                    f"{_e(text)}</text>"
                )
            x += w
        shown = f"{total:,.2f} {currency}" if total > 0 else "nothing"
        parts.append(
            f'<text class="row-total" x="{width - 4}" y="{top + 25}" text-anchor="end">{_e(shown)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def cost_chart(students: Sequence[Mapping[str, Any]], currency: str) -> str:
    """Per student: cost per lab hour in use, and a mark where something runs right now."""
    priced = [s for s in students if s.get("cost")]
    if not priced:
        return '<p class="muted" id="cost-chart-empty">No cost figures: no student\'s region could be read.</p>'
    priced = sorted(priced, key=lambda s: (-s["cost"]["inUsePerHour"], s["student"]))
    top = max(max(s["cost"]["inUsePerHour"], s["cost"]["runningNowPerHour"]) for s in priced)
    step = _nice_step(max(top, 0.01) / 4)
    top = step * (int(top / step) + 1)
    n = len(priced)
    left, right, plot_h = 48, 8, 170
    bottom = 50 if n <= 40 else 8
    slot = max(4.0, min(36.0, 1100.0 / n))
    width = left + right + slot * n
    height = plot_h + 16 + bottom
    y = lambda v: 8 + plot_h * (1 - v / top)  # noqa: E731
    parts = [
        f'<svg id="cost-chart" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="cost-chart-title">',
        f'<title id="cost-chart-title">Cost per student per lab hour in use, in {_e(currency)}</title>',
    ]
    tick = 0.0
    while tick <= top + 1e-9:
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right:.0f}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
        tick += step
    bar = slot * 0.62
    for i, s in enumerate(priced):
        c, x0 = s["cost"], left + i * slot + slot * 0.19
        name = _e(s["student"])
        value = c["inUsePerHour"]
        parts.append(
            f'<rect class="bar inuse" data-student="{name}" x="{x0:.1f}" y="{y(value):.1f}" '
            f'width="{bar:.1f}" height="{max(plot_h + 8 - y(value), 0.5):.1f}">'
            f"<title>{name}: {value:.2f} {_e(currency)} per lab hour in use, "
            f"{c['idlePerDay']:.2f} per day idle</title></rect>"
        )
        if c["runningNowPerHour"] > 0:
            cy, cx = y(c["runningNowPerHour"]), x0 + bar / 2
            parts.append(
                f'<path class="now" data-student="{name}" d="M{cx:.1f} {cy - 7:.1f} l7 7 l-7 7 l-7 -7 z">'
                f"<title>{name}: {c['runningNowPerHour']:.2f} {_e(currency)} an hour running now</title></path>"
            )
        if n <= 40:
            parts.append(
                f'<text class="label" transform="translate({x0 + bar / 2 + 3:.1f} {plot_h + 18}) rotate(-45)" '
                f'text-anchor="end">{name}</text>'
            )
    parts.append(
        f'<line class="base" x1="{left}" x2="{width - right:.0f}" y1="{plot_h + 8}" y2="{plot_h + 8}"/>'
    )
    parts.append("</svg>")
    legend = (
        f'<div class="legend"><span><i class="sw inuse"></i>per lab hour in use (Spark pool, SQL pool, '
        f'AutoML at 2 nodes)</span><span><i class="sw now"></i>running right now, per hour</span>'
        f'<span class="muted">{_e(currency)}; highest first</span></div>'
    )
    return '<div class="chart-wrap">' + "".join(parts) + "</div>" + legend


def _nice_step(raw: float) -> float:
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100):
        if step >= raw:
            return float(step)
    return float(round(raw, -1))


_LINKS = (
    ("studio", "synapseStudio", "Synapse"),
    ("aml", "amlStudio", "Azure ML"),
    ("portal", "portal", "Portal"),
)


def _links(links: dict) -> str:
    """The student's three links (inert text where a URL is not safe); none before deployment."""
    return (
        "".join(
            link_html(links[key], label, cls, new_tab=True)
            for cls, key, label in _LINKS
            if links.get(key)
        )
        or "–"
    )


# The cost guard's states (guard.py), the words the page shows and their sort order (off first).
GUARD_WORDS = {
    "off": "Off",
    "failing": "Failing",
    "unknown": "Unknown",
    "on": "On",
    "not scheduled": "Not scheduled",
}
GUARD_RANK = {state: n for n, state in enumerate(GUARD_WORDS)}


def guard_html(guard: Mapping[str, Any] | None) -> str:
    """The cost-guard cell: the state in words (colour only repeats it) and why or when."""
    if not guard:
        return '<span class="guard unknown">Unknown</span><div class="guard-why">not checked</div>'
    state = str(guard.get("state") or "unknown")
    words = GUARD_WORDS.get(state, state)
    if state == "off":
        why = ", ".join(guard.get("reasons") or []) or "see What to do"
    elif state == "not scheduled":
        why = guard.get("reason") or ""
    elif state == "unknown":
        why = guard.get("reason") or "could not be read"
    else:
        run = guard.get("lastRun") or {}
        why = f"pauses at {guard.get('schedule', '?')}" + (
            f"; last run {run.get('status')}" if run else "; no run yet"
        )
    cls = state.replace(" ", "-")
    return f'<span class="guard {_e(cls)}">{_e(words)}</span><div class="guard-why">{_e(why)}</div>'


def guard_banner(students: Sequence[Mapping[str, Any]], stacks: Sequence[str]) -> str:
    """A banner when any student's cost guard is off or failing: their pool will not pause."""
    down = [s for s in students if (s.get("costGuard") or {}).get("state") in ("off", "failing")]
    if not down:
        return ""
    names = ", ".join(s["student"] for s in down[:12]) + (
        f" and {len(down) - 12} more" if len(down) > 12 else ""
    )
    stack = class_of((stacks or ["<class>"])[0])  # a section's class: repair takes the class
    n = len(down)
    return (
        f'<p class="guard-banner" id="guard-banner" role="alert"><b>Cost guard off for {n} '
        f"student{'s' if n != 1 else ''}</b> ({_e(names)}): {'their' if n != 1 else 'the'} SQL "
        f"pool{'s' if n != 1 else ''} will not pause {'themselves' if n != 1 else 'itself'} "
        f"after class. Put the guard back with {code_html(f'`python -m classroom repair --stack {stack} --student <id>`')} "
        f"(see What to do); {code_html(f'`python -m classroom pause --stack {stack}`')} pauses every "
        "Online pool now.</p>"
    )


def _row(s: Mapping[str, Any], currency: str, progress: tuple[str, bool] = ("", False)) -> str:
    state = s["state"]
    notes = [("problem", p) for p in s["problems"]] + [("warning", w) for w in s["warnings"]]
    what = (
        "".join(
            f'<li class="{kind}"><b>{NOTE_WORDS[kind]}</b> {code_html(text)}</li>'
            for kind, text in notes
        )
        or '<li class="ok">All set</li>'
    )
    links = s["links"]
    days = s.get("daysLeft")
    left = (
        "expired" if days is not None and days < 0 else f"{days} day{'s' if days != 1 else ''} left"
    )
    expires = (
        "–"
        if not s.get("expiresOn")
        else (
            f'{_e(s["expiresOn"])}<br><span class="days{" soon" if days is not None and days <= 2 else ""}">'
            f"{left}</span>"
        )
    )
    cost = s.get("cost") or {}
    guard = s.get("costGuard") or {}
    search = " ".join(
        [s["student"], s.get("resourceGroup") or "", state, f"guard {guard.get('state', '')}"]
        + [t for _, t in notes]
    ).lower()
    return (
        f'<tr data-state="{_e(state)}" data-rank="{STATE_RANK[state]}" data-student="{_e(s["student"])}" '
        f'data-expires="{_e(s.get("expiresOn") or "")}" data-idle="{cost.get("idlePerDay", -1)}" '
        f'data-hour="{cost.get("inUsePerHour", -1)}" data-search="{_e(search)}" '
        f'data-guard="{GUARD_RANK.get(str(guard.get("state") or "unknown"), 2)}"'
        f"{' data-stuck=' + chr(34) + '1' + chr(34) if progress[1] else ''}>"
        f'<th scope="row" class="student">{_e(s["student"])}<div class="rg">{_e(s.get("resourceGroup"))}</div></th>'
        f'<td><span class="badge {state.replace(" ", "-")}">{STATE_LABELS[state]}</span></td>'
        f"{progress[0]}"
        f'<td class="what"><ul>{what}</ul></td>'
        f'<td class="links">{_links(links)}</td>'
        f'<td class="expires">{expires}</td>'
        f'<td class="cost-guard">{guard_html(s.get("costGuard"))}</td>'
        f'<td class="num idle">{_money(cost.get("idlePerDay"), currency)}</td>'
        f'<td class="num hour">{_money(cost.get("inUsePerHour"), currency)}</td>'
        "</tr>"
    )


def render_class_page(
    report: Mapping[str, Any],
    today: dt.date | None = None,
    refresh: int | None = None,
    rounds: int | None = None,
) -> str:
    """The page; with ``refresh`` (seconds, only while `status --wait` runs) it reloads itself."""
    k = report["summary"]
    currency = k.get("currency", "USD")
    students = sorted(report["students"], key=lambda s: (STATE_RANK[s["state"]], s["student"]))
    counts = {state: sum(1 for s in students if s["state"] == state) for state in STATE_RANK}
    stacks = ", ".join(report.get("stacks") or [])
    checked = report.get("checkedAt", "")
    prices = report.get("prices") or {}
    expiries = sorted({s["expiresOn"] for s in students if s.get("expiresOn")})
    expiry_card = ""
    if expiries:
        first = dt.date.fromisoformat(expiries[0])
        left = (first - (today or dt.date.today())).days
        expiry_card = (
            f'<div class="card"><div class="big">{_e(expiries[0])}</div>'
            f"<div>{'first expiry' if len(expiries) > 1 else 'expires'}: {left} day{'s' if left != 1 else ''} left</div></div>"
        )
    online = (
        f'<div class="card warn"><div class="big">{k["sqlPoolsOnline"]}</div><div>SQL pool'
        f"{'s' if k['sqlPoolsOnline'] != 1 else ''} online: {_money(k['runningNowPerHour'], currency)} an hour now</div></div>"
        if k.get("sqlPoolsOnline")
        else ""
    )
    from .progress_page import ClassPageProgress  # progress_page imports this module

    progress = ClassPageProgress(report.get("progress"))
    rows = "\n".join(_row(s, currency, progress.cell(s["student"])) for s in students)
    tiles = "\n".join(_tile(s) for s in students)
    buttons = "".join(
        f'<button type="button" data-filter="{state}" aria-pressed="false">{STATE_LABELS[state]} '
        f'<span class="count">{counts[state]}</span></button>'
        for state in STATE_RANK
    )
    problems = counts["not ready"] + counts["warning"]
    when = _e(checked.replace("T", " ").replace("+00:00", " UTC"))
    waiting = ""
    if refresh:
        # Only while `status --wait` runs: the last round writes the page without the reload.
        waiting = (
            f'<p class="waiting" id="waiting">Still checking{f" (round {int(rounds)})" if rounds else ""}: '
            f"this page reloads itself every {int(refresh)} s until every student is ready "
            "or the wait ends.</p>"
        )
    head_cells = "".join(
        f'<th scope="col"{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}'
        f"{f' aria-sort={chr(34)}ascending{chr(34)}' if key == 'rank' else ''}>"
        + (
            f'<button type="button" class="sort" data-sort="{key}">{label}</button>'
            if key
            else label
        )
        + "</th>"
        for key, label, cls in COLUMNS
    )
    head_cells = progress.head(head_cells)
    head = document_head(f"Class status: {stacks}", SCRIPT, CSS + progress.css, refresh)
    return f"""{head}<body>
<header>
  <h1>Is every student ready?</h1>
  <p class="meta">Stack{"s" if len(report.get("stacks") or []) != 1 else ""} <b>{_e(stacks)}</b> · checked <time id="checked">{when}</time>
  · <span class="views" role="group" aria-label="view"><button type="button" id="view-table" aria-pressed="true">Table</button><button type="button" id="view-tiles" aria-pressed="false">Tiles</button></span>
  <button type="button" id="large" aria-pressed="false">Large text</button></p>
  {waiting}
  {guard_banner(students, report.get("stacks") or [])}
</header>
<main>
<section id="tiles" aria-label="the class at a glance" hidden>
  <p class="tiles-summary">{k["ready"]} of {k["students"]} ready · {counts["not ready"]} not ready · {counts["warning"]} to check
  <span class="filters" role="group" aria-label="show"><button type="button" data-filter="all" aria-pressed="true">Everyone</button><button type="button" data-filter="problems" aria-pressed="false">Problems only</button></span></p>
  <ul class="tile-grid">
{tiles}
  </ul>
</section>
<section class="cards" aria-label="summary">
  <div class="card {"ok" if k["notReady"] == 0 else "bad"}" id="ready-card"><div class="big">{k["ready"]} / {k["students"]}</div><div>students ready</div></div>
  {f'<div class="card bad"><div class="big">{k["notReady"]}</div><div>not ready</div></div>' if k["notReady"] else ""}
  {online}
  <div class="card"><div class="big">{_money(k["idlePerDay"], currency)}</div><div>class, per day idle</div></div>
  <div class="card"><div class="big">{_money(k["inUsePerHour"], currency)}</div><div>class, per lab hour</div></div>
  {expiry_card}
</section>
{progress.section}
<section aria-labelledby="students-h" id="students-section">
  <h2 id="students-h">Students</h2>
  <div class="controls">
    <label for="filter">Find</label>
    <input id="filter" type="search" placeholder="name or problem" autocomplete="off">
    <span class="filters" role="group" aria-label="show">
      <button type="button" data-filter="all" aria-pressed="true">All <span class="count">{len(students)}</span></button><button type="button" data-filter="problems" id="problems-only" aria-pressed="false">Problems only <span class="count">{problems}</span></button>{buttons}{progress.stuck_button}
    </span>
    <span id="shown" class="muted" aria-live="polite">{len(students)} shown</span>
  </div>
  <div class="table-wrap">
  <table id="students">
    <thead><tr>{head_cells}</tr></thead>
    <tbody>
{rows}
    </tbody>
  </table>
  </div>
</section>
{spend_section(report.get("spend"), {s["student"]: (s.get("cost") or {}).get("idlePerDay") for s in students})}
<section aria-labelledby="cost-h" id="cost-section">
  <h2 id="cost-h">What the class costs</h2>
  <div class="chart-wrap">{breakdown_chart(k, currency)}</div>
  <div class="legend">{"".join(f'<span><i class="sw cat-{n}"></i>{_e(name)}</span>' for n, name in enumerate(CATEGORY_COLOURS))}</div>
  <h3>Per student, per lab hour in use</h3>
  {cost_chart(students, currency)}
  <p class="muted small">Estimates from the lab's price table ({_e(prices.get("source", ""))}, read {_e(prices.get("readOn", ""))}),
  applied to what each environment really has: idle = pools paused and the cluster at 0 nodes; in use = Spark pool at its
  minimum nodes, SQL pool online, AutoML cluster at its maximum.</p>
</section>
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""


# Column headers: sort key (a button in the header; None: not sortable), label, class.
COLUMNS = (
    ("student", "Student", ""),
    ("rank", "Status", ""),
    (None, "What to do", ""),
    (None, "Open", ""),
    ("expires", "Expires", ""),
    ("guard", "Cost guard", "guard-col"),
    ("idle", "Idle / day", "num"),
    ("hour", "Lab hour", "num"),
)


def _tile(s: Mapping[str, Any]) -> str:
    """One student in the tile view: name and state in words (the colour only repeats them)."""
    state = s["state"]
    first = (s["problems"] or s["warnings"] or [""])[0]
    return (
        f'<li class="tile {state.replace(" ", "-")}" data-state="{_e(state)}" '
        f'data-student="{_e(s["student"])}" title="{_e(first)}"><span class="name">'
        f'{_e(s["student"])}</span><span class="state">{STATE_LABELS[state]}</span></li>'
    )


def write_class_page(
    path: Path,
    report: Mapping[str, Any],
    today: dt.date | None = None,
    refresh: int | None = None,
    rounds: int | None = None,
) -> Path:
    """Write the page (to a temporary name first: a browser reloading it never reads half a page)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(render_class_page(report, today, refresh, rounds), encoding="utf-8")
    partial.replace(path)
    return path


CSS = """
:root { --bad:#b3261e; --bad-bg:#fde7e4; --warn:#7a4a00; --warn-bg:#fff1d6; --ok:#1b6e3a; --ok-bg:#e3f4e8;
  --ink:#1c1f24; --muted:#535b66; --line:#d9dee5; --head:#f3f5f8; --idle:#8795a8; --inuse:#2f6fd6; --now:#d9480f; }
* { box-sizing: border-box; }
html { font-size: 16px; }
html.large { font-size: 21px; }
body { margin: 0; font-family: "DejaVu Sans", "Segoe UI", system-ui, sans-serif; color: var(--ink); background: #fff;
  line-height: 1.4; }
header { padding: 1rem 1.5rem .5rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 .6rem; }
.meta { margin: 0; color: var(--muted); }
.waiting { margin: .4rem 0 0; font-weight: 700; color: var(--warn); }
main { padding: 0 1.5rem 2rem; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1rem; }
.card { border: 1px solid var(--line); border-radius: 10px; padding: .55rem .9rem; min-width: 9rem; background: #fff; }
.card .big { font-size: 1.6rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.card.ok { background: var(--ok-bg); border-color: #a9d8b8; } .card.ok .big { color: var(--ok); }
.card.bad { background: var(--bad-bg); border-color: #f1b5ae; } .card.bad .big { color: var(--bad); }
.card.warn { background: var(--warn-bg); border-color: #f0cf8e; } .card.warn .big { color: var(--warn); }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem .75rem; margin-bottom: .6rem; }
.controls input { font: inherit; padding: .35rem .6rem; min-width: 18rem; border: 1px solid #6b7480; border-radius: 6px;
  color: var(--ink); background: #fff; }
button { font: inherit; font-size: .9rem; padding: .3rem .7rem; border: 1px solid #6b7480; border-radius: 999px;
  background: #fff; cursor: pointer; color: var(--ink); }
button[aria-pressed="true"] { background: var(--ink); color: #fff; border-color: var(--ink); }
button:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
.views button + button { margin-left: .3rem; }
.filters { display: inline-flex; flex-wrap: wrap; gap: .35rem; }
.count { font-variant-numeric: tabular-nums; }
/* No overflow here: an element that scrolls would hold the sticky header instead of the window. */
.table-wrap { border: 1px solid var(--line); border-radius: 10px; }
table { border-collapse: separate; border-spacing: 0; width: 100%; }
thead th { position: sticky; top: 0; z-index: 1; background: var(--head); text-align: left; font-size: .85rem;
  text-transform: uppercase; letter-spacing: .02em; color: var(--muted); padding: .55rem .75rem; vertical-align: bottom;
  border-bottom: 1px solid var(--line); }
thead th .sort { font: inherit; text-transform: inherit; letter-spacing: inherit; color: var(--ink); background: transparent;
  border: 0; border-radius: 4px; padding: .1rem .2rem; margin: -.1rem -.2rem; font-weight: 700; }
thead th .sort::after { content: " \\2195"; }
th[aria-sort="ascending"] .sort::after { content: " \\2191"; } th[aria-sort="descending"] .sort::after { content: " \\2193"; }
tbody tr > * { border-top: 1px solid var(--line); }
html.large td, html.large th { padding-left: .45rem; padding-right: .45rem; } html.large .rg { display: none; }
html.large .num { white-space: normal; } html.large .what { min-width: 9rem; } html.large .badge { font-size: .8rem; }
.what { min-width: 14rem; }
tbody tr[data-state="not ready"] { background: #fffafa; }
td, tbody th { padding: .45rem .75rem; vertical-align: top; text-align: left; }
.student { font-weight: 700; white-space: nowrap; } html.large .student { white-space: normal; overflow-wrap: anywhere; } .rg { font-weight: 400; font-size: .78rem; color: var(--muted); }
.badge { display: inline-block; padding: .15rem .6rem; border-radius: 999px; font-weight: 700; font-size: .9rem; white-space: nowrap; }
.badge.not-ready { background: var(--bad); color: #fff; } .badge.warning { background: #f2b33d; color: #2b1d00; }
.badge.ready { background: var(--ok); color: #fff; }
.what ul { margin: 0; padding-left: 1.1rem; } .what li { margin: .1rem 0; overflow-wrap: anywhere; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: .85em; background: #f1f2f4; padding: 0 .2em; border-radius: 3px; }
.what li.problem { color: var(--bad); } .what li.warning { color: var(--warn); }
.what li.ok { list-style: none; margin-left: -1.1rem; color: var(--ok); }
.links { white-space: nowrap; } .links a + a { margin-left: .8rem; } .links .not-a-link { display: block; white-space: normal; }
html.large .links a { display: block; margin-left: 0; }
@media (min-width: 1200px) { html.large .links a { display: inline; } html.large .links a + a { margin-left: .6rem; } } .links a { color: #0b57d0; text-decoration: none; border-bottom: 1px solid #b7cbf0;
  width: fit-content; } .links a:hover { border-bottom-color: #0b57d0; }
.not-a-link { color: var(--muted); overflow-wrap: anywhere; font-size: .8rem; }
.expires { white-space: nowrap; font-variant-numeric: tabular-nums; } .days { font-size: .8rem; color: var(--muted); }
.days.soon { color: var(--bad); font-weight: 700; }
.num { text-align: right !important; white-space: nowrap; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); } .small { font-size: .85rem; }
.chart-wrap { border: 1px solid var(--line); border-radius: 10px; padding: .5rem; overflow-x: auto; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
#cost-chart { display: block; width: 100%; max-height: 300px; min-width: 480px; }
#breakdown-chart { display: block; width: 100%; max-width: 1100px; min-width: 560px; }
#breakdown-chart .row-title { font-size: 15px; font-weight: 700; fill: var(--ink); }
#breakdown-chart .row-unit { font-size: 13px; fill: var(--muted); }
#breakdown-chart .track { fill: #f1f3f6; } #breakdown-chart .seg-label { font-size: 12.5px; font-weight: 700; }
#breakdown-chart .row-total { font-size: 15px; font-weight: 700; fill: var(--ink); }
#cost-chart .grid { stroke: #e6e9ee; } #cost-chart .base { stroke: #7a8491; }
#cost-chart .axis, #cost-chart .label { font-size: 11px; fill: var(--muted); }
#cost-chart .inuse { fill: var(--inuse); } #cost-chart .now { fill: var(--now); }
.legend { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; margin: .5rem 0; font-size: .9rem; }
.sw { display: inline-block; width: .9rem; height: .9rem; border-radius: 3px; margin-right: .35rem; vertical-align: -2px; }
.sw.inuse { background: var(--inuse); } .sw.now { background: var(--now); transform: rotate(45deg) scale(.8); }
.budget-bar { vertical-align: middle; background: #e6e6e6; }
.cost-guard { max-width: 10rem; } .guard { font-weight: 700; } html.large .guard-why { display: none; }
th.guard-col .sort { white-space: normal; text-align: left; } html.large th.guard-col { max-width: 5.5rem; } .guard-why { font-size: .8rem; color: var(--muted); }
.guard.off, .guard.failing { color: var(--bad); } .guard.on { color: var(--ok); } .guard.unknown { color: var(--warn); }
.guard.off::before, .guard.failing::before { content: "\\26A0  "; }
.guard-banner { margin: .5rem 0 0; padding: .5rem .8rem; border: 2px solid var(--bad); border-radius: 8px;
  background: var(--bad-bg); color: var(--bad); } .guard-banner code { white-space: nowrap; }
.budget-ok { fill: var(--ok); } .budget-near { fill: #8a5a00; } .budget-over { fill: var(--bad); }
"""
# The legend's swatches, one class per cost category (a style attribute would need 'unsafe-inline').
CSS += "".join(
    f".sw.cat-{n} {{ background: {colour}; }}\n"
    for n, colour in enumerate(CATEGORY_COLOURS.values())
)
CSS += """
tr.hidden, .tile.hidden { display: none; }
/* The tile view: the whole class on one screen (the script sizes the tiles to fit). */
html.tile-view .cards, html.tile-view #students-section, html.tile-view #cost-section { display: none; }
html.tile-view main { padding: 0 .5rem; }
html.tile-view header { padding: .35rem .75rem; } html.tile-view h1 { font-size: 1.1rem; display: inline; margin-right: 1rem; }
html.tile-view .meta { display: inline; }
.tiles-summary { margin: .35rem 0; font-weight: 700; } .tiles-summary .filters { margin-left: 1rem; font-weight: 400; }
.tile-grid { list-style: none; margin: 0; padding: 0; display: grid; gap: var(--tile-gap, 4px);
  grid-template-columns: repeat(auto-fill, var(--tile-w, 8rem)); }
.tile { height: var(--tile-h, 3rem); border-radius: 6px; padding: 0 .35em; display: flex; flex-direction: column;
  justify-content: center; overflow: hidden; font-size: var(--tile-font, 14px); line-height: 1.15; border: 2px solid transparent; }
.tile .name { font-weight: 700; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tile .state { font-size: .82em; }
.tile.not-ready { background: var(--bad); color: #fff; }
.tile.warning { background: #f2b33d; color: #2b1d00; }
.tile.ready { background: var(--ok-bg); color: var(--ok); border-color: #a9d8b8; }
@media (max-width: 900px) { .table-wrap { overflow-x: auto; } }
@media (max-width: 800px) { main, header { padding-left: .6rem; padding-right: .6rem; } .controls input { min-width: 0; width: 100%; } }
@media print { .controls, #large, .views { display: none; } thead th { position: static; } }
"""

SCRIPT = """
(function () {
  var root = document.documentElement;
  var table = document.getElementById('students'), body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows), filter = 'all';
  var tiles = Array.prototype.slice.call(document.querySelectorAll('.tile'));
  var input = document.getElementById('filter'), shown = document.getElementById('shown');
  function keep(el) {
    var state = el.dataset.state;
    return filter === 'all' || state === filter || (filter === 'problems' && state !== 'ready') ||
      (filter === 'stuck' && el.dataset.stuck === '1');
  }
  function apply() {
    var q = input.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (r) {
      var ok = keep(r) && (!q || r.dataset.search.indexOf(q) >= 0);
      r.classList.toggle('hidden', !ok); if (ok) n++;
    });
    tiles.forEach(function (t) { t.classList.toggle('hidden', !keep(t)); });
    shown.textContent = n + ' shown';
    if (root.classList.contains('tile-view')) fit();
  }
  input.addEventListener('input', apply);
  document.querySelectorAll('button[data-filter]').forEach(function (b) {
    b.addEventListener('click', function () {
      filter = b.dataset.filter;
      document.querySelectorAll('button[data-filter]').forEach(function (o) { o.setAttribute('aria-pressed', o.dataset.filter === filter); });
      apply();
    });
  });
  document.querySelectorAll('button.sort').forEach(function (button) {
    button.addEventListener('click', function () {
      var th = button.parentNode, key = button.dataset.sort;
      var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
      document.querySelectorAll('thead th').forEach(function (o) { o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      var numeric = key === 'rank' || key === 'idle' || key === 'hour' || key === 'guard';
      rows.sort(function (a, b) {
        var x = a.dataset[key], y = b.dataset[key];
        var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return (c || a.dataset.student.localeCompare(b.dataset.student)) * dir;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  // Tiles: the largest size at which every tile shown fits the window.
  var grid = document.querySelector('.tile-grid');
  function fit() {
    var n = tiles.filter(function (t) { return !t.classList.contains('hidden'); }).length || 1;
    var gap = 4, width = grid.clientWidth, height = window.innerHeight - grid.getBoundingClientRect().top - 8;
    for (var w = 260; w > 40; w -= 2) {
      var h = Math.round(w * 0.42), cols = Math.max(1, Math.floor((width + gap) / (w + gap)));
      if (Math.ceil(n / cols) * (h + gap) <= height) break;
    }
    grid.style.setProperty('--tile-w', w + 'px');
    grid.style.setProperty('--tile-h', h + 'px');
    grid.style.setProperty('--tile-font', Math.max(11, Math.round(h * 0.36)) + 'px');
  }
  var tableButton = document.getElementById('view-table'), tilesButton = document.getElementById('view-tiles');
  var section = document.getElementById('tiles');
  function view(name) {
    var on = name === 'tiles';
    root.classList.toggle('tile-view', on); section.hidden = !on;
    tilesButton.setAttribute('aria-pressed', on); tableButton.setAttribute('aria-pressed', !on);
    if (on) fit();
    try { sessionStorage.setItem('class-page-view', name); } catch (e) {}
  }
  tableButton.addEventListener('click', function () { view('table'); });
  tilesButton.addEventListener('click', function () { view('tiles'); });
  window.addEventListener('resize', function () { if (root.classList.contains('tile-view')) fit(); });
  var large = document.getElementById('large');
  large.addEventListener('click', function () {
    var on = root.classList.toggle('large'); large.setAttribute('aria-pressed', on);
    if (root.classList.contains('tile-view')) fit();
  });
  // A page that reloads itself (status --wait) keeps the view the projector was showing.
  try { if (sessionStorage.getItem('class-page-view') === 'tiles') view('tiles'); } catch (e) {}
})();
"""
