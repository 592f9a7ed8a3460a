"""The class's progress page: one self-contained HTML file from a `classroom progress` report.

A per-step bar for the projector ("18 of 25 trained a model"), then one row per student with a
mark per step (each mark's words are in the page for screen readers, the symbol only repeats
them), the furthest step, what is wrong, and a "Stuck" filter. The same rules as the readiness
page (page.py): every value escaped, links only to the lab's https hosts (``link_html``), and a
Content-Security-Policy that runs only this page's own inline script and style, by hash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .page import _e, code_html, document_head, link_html

STATE_WORDS = {
    "done": "done",
    "running": "running",
    "failed": "failed",
    "not yet": "not yet",
    "unknown": "unknown",
    "n/a": "does not apply",
}
MARKS = {"done": "✓", "running": "…", "failed": "✗", "not yet": "·", "unknown": "?", "n/a": "–"}


def _css(state: str) -> str:
    return state.replace(" ", "-").replace("/", "")


def _when(value: str | None) -> str:
    return (value or "").replace("T", " ").replace("+00:00", " UTC")


def step_bars(report: Mapping[str, Any]) -> str:
    """One bar per step: how many of the class reached it (and how many are running or failed)."""
    total = report["summary"]["students"] or 1
    items = []
    for n, k in enumerate(report["summary"]["steps"], 1):
        done, running, failed = k["done"], k["running"], k["failed"]
        words = f"{done} of {report['summary']['students']} {k['reached']}"
        extra = ", ".join(
            f"{count} {word}" for count, word in ((running, "running"), (failed, "failed")) if count
        )
        x_done = round(1000 * done / total)
        x_running = round(1000 * running / total)
        x_failed = round(1000 * failed / total)
        label = f"Step {n}" if k["part"] else "Cost guard"
        extra_html = f' <span class="extra">({_e(extra)})</span>' if extra else ""
        guard = " guard" if not k["part"] else ""
        items.append(
            f'<li class="bar{guard}"><div class="bar-text"><b>{_e(label)}</b> {_e(words)}{extra_html}</div>'
            f'<svg viewBox="0 0 1000 28" preserveAspectRatio="none" role="img" aria-label="{_e(words)}">'
            f'<rect class="track" width="1000" height="28"/>'
            f'<rect class="done" width="{x_done}" height="28"/>'
            f'<rect class="running" x="{x_done}" width="{x_running}" height="28"/>'
            f'<rect class="failed" x="{x_done + x_running}" width="{x_failed}" height="28"/></svg></li>'
        )
    return '<ol class="bars">' + "".join(items) + "</ol>"


def _marks(student: Mapping[str, Any], step_list: Sequence[Mapping[str, Any]]) -> str:
    cells = []
    for step in step_list:
        s = student["steps"].get(step["id"]) or {"state": "unknown"}
        state = s["state"]
        when = f" {_when(s.get('at'))}" if s.get("at") else ""
        detail = f" ({s['detail']})" if s.get("detail") else ""
        words = f"{step['title']}: {STATE_WORDS.get(state, state)}{detail}{when}"
        cells.append(
            f'<li class="mark {_css(state)}" title="{_e(words)}">'
            f'<span aria-hidden="true">{MARKS.get(state, "?")}</span>'
            f'<span class="sr">{_e(words)}</span></li>'
        )
    return '<ol class="marks">' + "".join(cells) + "</ol>"


def _row(student: Mapping[str, Any], step_list: Sequence[Mapping[str, Any]]) -> str:
    titles = {s["id"]: s["title"] for s in step_list}
    furthest = titles.get(student.get("furthest") or "", "–")
    notes = [
        f'<li class="problem"><b>Problem:</b> {code_html(p)}</li>' for p in student["problems"]
    ]
    if student["stuck"]:
        notes.insert(
            0, '<li class="stuck"><b>Stuck:</b> no new step while most of the class moved on</li>'
        )
    failed = [
        f'<li class="failed"><b>Failed:</b> {_e(titles[k])} ({_e(v.get("detail"))})</li>'
        for k, v in student["steps"].items()
        if v["state"] == "failed" and k in titles
    ]
    links = student.get("links") or {}
    opened = "".join(
        link_html(links.get(key), label, cls, new_tab=True)
        for cls, key, label in (
            ("synapse", "synapse", "Synapse Studio"),
            ("aml", "aml", "Azure ML studio"),
        )
        if links.get(key)
    )
    search = " ".join([student["student"], furthest, *student["problems"]]).lower()
    return (
        f'<tr data-student="{_e(student["student"])}" data-stuck="{int(bool(student["stuck"]))}" '
        f'data-unreadable="{int(bool(student["problems"]))}" data-search="{_e(search)}">'
        f'<th scope="row" class="student">{_e(student["student"])}</th>'
        f"<td>{_marks(student, step_list)}</td>"
        f'<td class="furthest">{_e(furthest)}<div class="muted small">{_e(_when(student.get("lastActivity")))}</div></td>'
        f'<td class="what"><ul>{"".join(notes + failed) or "<li class=ok>On track</li>"}</ul></td>'
        f'<td class="links">{opened or "–"}</td></tr>'
    )


def progress_cell(student: Mapping[str, Any] | None, step_list: Sequence[Mapping[str, Any]]) -> str:
    """The class page's Progress cell: the student's marks, or a dash when progress was not read."""
    if not student:
        return '<td class="progress">–</td>'
    return f'<td class="progress">{_marks(student, step_list)}</td>'


def class_page_section(report: Mapping[str, Any]) -> str:
    """The class page's progress section: the per-step bars and the data's time."""
    return (
        '<section aria-labelledby="progress-h" id="progress-section">'
        f'<h2 id="progress-h">How far the class is</h2><p class="muted small">Data as of '
        f"{_e(_when(report.get('dataAsOf')))} ({_e(report.get('lag', ''))}); Progress column: "
        + ", ".join(f"{n}. {_e(s['title'])}" for n, s in enumerate(report["steps"], 1))
        + f"</p>{step_bars(report)}</section>"
    )


class ClassPageProgress:
    """What the readiness class page (page.py) shows of a progress report, when it has one: a
    Progress column after Status, the per-step bars above the students, and a Stuck filter."""

    def __init__(self, report: Mapping[str, Any] | None):
        self.report = report
        self.by_student = {s["student"]: s for s in (report or {}).get("students", [])}
        self.css = MARKS_CSS if report else ""
        self.section = class_page_section(report) if report else ""
        stuck = (report or {}).get("summary", {}).get("stuck", 0)
        self.stuck_button = (
            f'<button type="button" data-filter="stuck" id="stuck-only" aria-pressed="false">Stuck '
            f'<span class="count">{int(stuck)}</span></button>'
            if report
            else ""
        )

    def cell(self, student: str) -> tuple[str, bool]:
        if not self.report:
            return "", False
        row = self.by_student.get(student)
        return progress_cell(row, self.report["steps"]), bool(row and row.get("stuck"))

    def head(self, cells: str) -> str:
        """The header cells with Progress after Status (the second column)."""
        if not self.report:
            return cells
        at = cells.index("</th>", cells.index("</th>") + 1) + len("</th>")
        return cells[:at] + '<th scope="col">Progress</th>' + cells[at:]


def render_progress_page(report: Mapping[str, Any], refresh: int | None = None) -> str:
    step_list = report["steps"]
    students = report["students"]
    k = report["summary"]
    legend = " ".join(
        f'<span class="mark-legend {_css(s)}"><span aria-hidden="true">{MARKS[s]}</span> {w}</span>'
        for s, w in STATE_WORDS.items()
    )
    numbered = "".join(f"<li>{_e(s['title'])}</li>" for s in step_list)
    stacks = ", ".join(report.get("stacks") or [])
    head = document_head(f"Class progress: {stacks}", SCRIPT, CSS, refresh)
    return f"""{head}<body>
<header>
  <h1>Where is each student?</h1>
  <p class="meta">Stack <b>{_e(stacks)}</b> · data as of <time id="as-of">{_e(_when(report.get("dataAsOf")))}</time>
  ({_e(report.get("lag", ""))}) · <button type="button" id="large" aria-pressed="false">Large text</button></p>
</header>
<main>
<section aria-labelledby="steps-h" id="steps-section">
  <h2 id="steps-h">How far the class is</h2>
  {step_bars(report)}
</section>
<section aria-labelledby="students-h" id="students-section">
  <h2 id="students-h">Students</h2>
  <div class="controls">
    <label for="filter">Find</label>
    <input id="filter" type="search" placeholder="name, step or problem" autocomplete="off">
    <span class="filters" role="group" aria-label="show">
      <button type="button" data-filter="all" aria-pressed="true">All <span class="count">{len(students)}</span></button><button type="button" data-filter="stuck" id="stuck-only" aria-pressed="false">Stuck <span class="count">{k["stuck"]}</span></button><button type="button" data-filter="unreadable" aria-pressed="false">Could not be read <span class="count">{k["unreadable"]}</span></button>
    </span>
    <span id="shown" class="muted" aria-live="polite">{len(students)} shown</span>
  </div>
  <div class="legend">Steps, in order: <ol class="step-names">{numbered}</ol> · Marks: {legend}</div>
  <div class="table-wrap">
  <table id="students">
    <thead><tr><th scope="col">Student</th><th scope="col">Progress</th><th scope="col">Furthest step</th><th scope="col">What to look at</th><th scope="col">Open</th></tr></thead>
    <tbody>
{"".join(_row(s, step_list) for s in students)}
    </tbody>
  </table>
  </div>
</section>
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""


def write_progress_page(path: Path, report: Mapping[str, Any], refresh: int | None = None) -> Path:
    """Write the page (to a temporary name first: a browser reloading it never reads half a page)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(render_progress_page(report, refresh), encoding="utf-8")
    partial.replace(path)
    return path


# The marks and the bars, shared with the class page (page.py adds them when it shows progress).
MARKS_CSS = """
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.bars { list-style: none; margin: 0; padding: 0; display: grid; gap: .45rem; }
.bar { display: grid; grid-template-columns: minmax(0, 1.2fr) minmax(0, 1fr); align-items: center; gap: .4rem 1rem; }
.bar-text { font-size: 1.15rem; line-height: 1.25; } .bar-text .extra { color: var(--muted); font-size: .95rem; }
.bar svg { display: block; width: 100%; height: 1.6rem; border-radius: 6px; }
.bar .track { fill: #eceff3; } .bar .done { fill: #1b6e3a; } .bar .running { fill: #0b57d0; } .bar .failed { fill: #b3261e; }
.bar.guard { margin-top: .2rem; padding-top: .4rem; border-top: 1px dashed #d9dee5; }
.marks { list-style: none; display: flex; gap: 4px; margin: 0; padding: 0; }
.mark { width: 1.9rem; height: 1.9rem; border-radius: 6px; display: flex; align-items: center; justify-content: center;
  font-weight: 700; border: 1px solid #d9dee5; }
.mark.done { background: #1b6e3a; color: #fff; border-color: #1b6e3a; }
.mark.running { background: #e4ecfb; color: #0b57d0; border-color: #0b57d0; }
.mark.failed { background: #b3261e; color: #fff; border-color: #b3261e; }
.mark.not-yet, .mark.na { background: #fff; color: #535b66; } .mark.na { border-color: transparent; }
.mark.unknown { background: #f1f2f4; color: #535b66; border-style: dashed; }
.marks .mark:last-child { margin-left: .6rem; }
/* The class page's Progress column: compact, beside the readiness columns. */
td.progress { padding-left: .4rem; padding-right: .4rem; } td.progress .marks { gap: 2px; }
td.progress .mark { width: 1.3rem; height: 1.3rem; font-size: .78rem; border-radius: 4px; }
td.progress .marks .mark:last-child { margin-left: .35rem; }
"""

CSS = (
    """
:root { --bad:#b3261e; --bad-bg:#fde7e4; --warn:#7a4a00; --ok:#1b6e3a; --ok-bg:#e3f4e8; --run:#0b57d0;
  --ink:#1c1f24; --muted:#535b66; --line:#d9dee5; --head:#f3f5f8; }
* { box-sizing: border-box; }
html { font-size: 16px; } html.large { font-size: 22px; }
body { margin: 0; font-family: "DejaVu Sans", "Segoe UI", system-ui, sans-serif; color: var(--ink); background: #fff; line-height: 1.4; }
header { padding: 1rem 1.5rem .5rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.25rem; margin: 1.2rem 0 .6rem; }
.meta { margin: 0; color: var(--muted); } main { padding: 0 1.5rem 2rem; }
.muted { color: var(--muted); } .small { font-size: .8rem; }
button { font: inherit; font-size: .9rem; padding: .3rem .7rem; border: 1px solid #6b7480; border-radius: 999px;
  background: #fff; cursor: pointer; color: var(--ink); }
button[aria-pressed="true"] { background: var(--ink); color: #fff; border-color: var(--ink); }
button:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem .75rem; margin-bottom: .6rem; }
.controls input { font: inherit; padding: .35rem .6rem; min-width: 18rem; border: 1px solid #6b7480; border-radius: 6px; }
.filters { display: inline-flex; flex-wrap: wrap; gap: .35rem; }
.legend { color: var(--muted); font-size: .9rem; margin: 0 0 .6rem; } .step-names { display: inline; padding: 0; margin: 0; }
.step-names li { display: inline; margin-right: .9rem; } .step-names { counter-reset: n; }
.step-names li::before { counter-increment: n; content: counter(n) ". "; font-weight: 700; }
.mark-legend { margin-right: .6rem; white-space: nowrap; }
.table-wrap { border: 1px solid var(--line); border-radius: 10px; }
table { border-collapse: separate; border-spacing: 0; width: 100%; }
thead th { position: sticky; top: 0; background: var(--head); text-align: left; font-size: .85rem; text-transform: uppercase;
  color: var(--muted); padding: .55rem .75rem; border-bottom: 1px solid var(--line); }
tbody tr > * { border-top: 1px solid var(--line); } td, tbody th { padding: .45rem .75rem; vertical-align: top; text-align: left; }
tbody tr[data-stuck="1"] { background: #fff8e8; } tbody tr[data-unreadable="1"] { background: #fffafa; }
.student { font-weight: 700; white-space: nowrap; }
.what ul { margin: 0; padding-left: 1.1rem; } .what li { overflow-wrap: anywhere; }
.what li.problem, .what li.failed { color: var(--bad); } .what li.stuck { color: var(--warn); }
.what li.ok { list-style: none; margin-left: -1.1rem; color: var(--ok); }
code { font-family: "DejaVu Sans Mono", monospace; font-size: .85em; background: #f1f2f4; padding: 0 .2em; border-radius: 3px; }
.links a { color: #0b57d0; display: block; white-space: nowrap; } .not-a-link { color: var(--muted); font-size: .8rem; overflow-wrap: anywhere; }
tr.hidden { display: none; }
@media (max-width: 900px) { .table-wrap { overflow-x: auto; } .controls input { min-width: 0; width: 100%; } }
"""
    + MARKS_CSS
)

SCRIPT = """
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll('#students tbody tr'));
  var input = document.getElementById('filter'), shown = document.getElementById('shown'), filter = 'all';
  function apply() {
    var q = input.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (r) {
      var ok = (filter === 'all' || r.dataset[filter] === '1') && (!q || r.dataset.search.indexOf(q) >= 0);
      r.classList.toggle('hidden', !ok); if (ok) n++;
    });
    shown.textContent = n + ' shown';
  }
  input.addEventListener('input', apply);
  document.querySelectorAll('button[data-filter]').forEach(function (b) {
    b.addEventListener('click', function () {
      filter = b.dataset.filter;
      document.querySelectorAll('button[data-filter]').forEach(function (o) { o.setAttribute('aria-pressed', o.dataset.filter === filter); });
      apply();
    });
  });
  var large = document.getElementById('large');
  large.addEventListener('click', function () {
    large.setAttribute('aria-pressed', document.documentElement.classList.toggle('large'));
  });
})();
"""
