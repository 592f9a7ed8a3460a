"""Where is each student in the lab? Each step's evidence, read from Azure's own records.

    python -m classroom progress --stack dev [--watch 60] [--json] [--html progress.html]
    python -m classroom progress --stack dev --outputs outputs.json --stuck-after 20

The lab's steps and what proves each one are in lab/steps.py (the notebooks and the handout
name the same steps). For every student this reads, in parallel with a bounded pool:

- the lake (Blob API): the files of the table `bike_data` (notebook 01) and the model rows
  notebook 03 writes for the SQL pool;
- Azure ML (azure-ai-ml): the AutoML job of the experiment `mslearn-bike-rentals` and its
  status, and the versions of the model `rental-prediction-model`;
- Log Analytics (azure-monitor-query, up to 100 workspaces per query): the dedicated pool's
  run of `dbo.predict_rentals` (PREDICT) and the cost guard's last "Pause SQL pool" run.

One row per student with each step's state and time, how many reached each step, and who is
"stuck": no new step for --stuck-after minutes while most of the class is past their step.
Log Analytics lags (minutes; a new diagnostic setting up to 90): the data's time is shown.
A source that cannot be read (a deleted workspace, a 403, an old stack without the output)
becomes that student's reason, never a crash. Exit code: 0 when every student's progress
was read, 1 when some could not be, 2 when the stack cannot be read or there is no login.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import steps
from lab.steps import DONE, FAILED, NOT_APPLICABLE, NOT_YET, RUNNING, UNKNOWN

from .checks import ARM_SCOPE, Environment, class_of
from .environments import add_stack_arguments, environments_or_error, last_line
from .progress_read import (
    LOGS_BATCH,
    Evidence,
    StepState,
    client_kwargs,
    read_lake,
    read_logs,
    read_ml,
)

MARKS = {DONE: "✓", RUNNING: "…", FAILED: "✗", NOT_YET: "·", UNKNOWN: "?", NOT_APPLICABLE: "–"}
DEFAULT_STUCK_MINUTES = 20.0
# What Log Analytics lags by, in words (azure-monitor-docs logs/data-ingestion-time.md; Synapse's
# monitoring page says up to 15 minutes).
LOGS_LAG = "Log Analytics lags by 3-15 minutes"


@dataclass(frozen=True)
class ProgressEndpoints:
    """Where the services live; tests point them at Azurite and a fake on 127.0.0.1.
    (Azure ML's is the SDK's: AZUREML_DEV_URL_MFE overrides it.)"""

    logs: str = "https://api.loganalytics.io"
    blob: str = "https://{account}.blob.core.windows.net"


@dataclass(frozen=True)
class ProgressSettings:
    concurrency: int = 16  # calls at once (students' lakes and Azure ML, Log Analytics batches)
    timeout: float = 30.0
    retries: int = 2
    backoff: float = 0.8
    stuck_after: dt.timedelta = dt.timedelta(minutes=DEFAULT_STUCK_MINUTES)
    logs_batch: int = LOGS_BATCH


@dataclass
class StudentProgress:
    env: Environment
    states: dict[str, StepState] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    stuck: bool = False

    def state(self, step_id: str) -> StepState:
        return self.states.get(step_id) or StepState(UNKNOWN)

    @property
    def furthest(self) -> int:
        """Index of the furthest student step done (-1: none)."""
        done = [n for n, s in enumerate(steps.student_steps()) if self.state(s.id).state == DONE]
        return max(done, default=-1)

    @property
    def last_activity(self) -> dt.datetime | None:
        times = [
            self.state(s.id).at
            for s in steps.student_steps()
            if self.state(s.id).state in (DONE, RUNNING, FAILED)
        ]
        return max((t for t in times if t), default=None)

    @property
    def readable(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        furthest = self.furthest
        return {
            "student": self.env.student,
            "resourceGroup": self.env.resource_group,
            "steps": {s.id: self.state(s.id).as_dict() for s in steps.steps()},
            "furthest": steps.student_steps()[furthest].id if furthest >= 0 else None,
            "lastActivity": _iso(self.last_activity),
            "stuck": self.stuck,
            "problems": list(self.problems),
            "links": {"synapse": self.env.synapse_studio_url, "aml": self.env.aml_studio_url},
        }


def _iso(when: dt.datetime | None) -> str | None:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds") if when else None


# ----------------------------------------------------------------------------- reading the class


def read_class(
    envs: Sequence[Environment],
    credential: Any,
    settings: ProgressSettings = ProgressSettings(),
    endpoints: ProgressEndpoints = ProgressEndpoints(),
    now: dt.datetime | None = None,
) -> tuple[list[StudentProgress], dt.datetime, int]:
    """Every student's progress, the time the logs were read, and the number of log queries."""
    kwargs = client_kwargs(settings.retries, settings.backoff, settings.timeout)
    rows = [StudentProgress(env) for env in envs]
    deployed = [r for r in rows if not r.env.not_deployed]
    for r in rows:
        if r.env.not_deployed:
            r.problems.append(r.env.not_deployed)
    with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
        lakes = {
            r.env.student: pool.submit(read_lake, r.env, credential, endpoints.blob, kwargs)
            for r in deployed
        }
        mls = {r.env.student: pool.submit(read_ml, r.env, credential, kwargs) for r in deployed}

        def run(fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
            return list(pool.map(fn, items))

        now = now or dt.datetime.now(dt.UTC)
        logs = read_logs(
            [r.env.log_analytics_workspace_id or "" for r in deployed],
            credential,
            endpoints.logs,
            kwargs,
            run,
            now,
            settings.logs_batch,
        )
        for r in deployed:
            _merge(r, lakes[r.env.student].result())
            _merge(r, mls[r.env.student].result())
            wid = r.env.log_analytics_workspace_id
            if not wid:
                _merge(
                    r,
                    Evidence(
                        problem="the stack's `environments` output has no logAnalyticsWorkspaceId "
                        f"(deployed by an older version of the program): run `python -m classroom up "
                        f"--stack {class_of(r.env.stack)} --student {r.env.student}` to add it"
                    ),
                )
            else:
                _merge(
                    r, logs.evidence.get(wid) or Evidence(problem="no answer from Log Analytics")
                )
            if not r.env.sql_pool:  # no dedicated SQL pool: no part 2 in it, nothing to pause
                for step_id in steps.SQL_POOL_STEPS:
                    r.states[step_id] = StepState(NOT_APPLICABLE, None, "no dedicated SQL pool")
    mark_stuck(rows, settings.stuck_after, now)
    return rows, logs.queried_at, logs.queries


def _merge(row: StudentProgress, evidence: Evidence) -> None:
    row.states.update(evidence.states)
    if evidence.problem:
        row.problems.append(evidence.problem)


def mark_stuck(rows: Sequence[StudentProgress], after: dt.timedelta, now: dt.datetime) -> None:
    """Stuck: nothing new for ``after`` while most of the readable class is past this student's
    furthest step. A student whose progress could not be read is never called stuck."""
    readable = [r for r in rows if r.readable]
    starts = [r.last_activity for r in readable if r.last_activity]
    class_start = min(starts) if starts else None
    for r in readable:
        ahead = sum(1 for o in readable if o.furthest > r.furthest)
        since = r.last_activity or class_start
        r.stuck = (
            r.furthest < len(steps.student_steps()) - 1
            and ahead * 2 > len(readable)
            and since is not None
            and now - since >= after
        )


# ----------------------------------------------------------------------------- output


def summary(rows: Sequence[StudentProgress]) -> dict[str, Any]:
    result: dict[str, Any] = {"students": len(rows), "steps": []}
    for s in steps.steps():
        counts = {state: 0 for state in MARKS}
        for r in rows:
            counts[r.state(s.id).state] += 1
        result["steps"].append(
            {"id": s.id, "title": s.title, "reached": s.reached, "part": s.part, **counts}
        )
    result["stuck"] = sum(1 for r in rows if r.stuck)
    result["unreadable"] = sum(1 for r in rows if not r.readable)
    return result


def report(
    rows: Sequence[StudentProgress], stacks: Sequence[str], data_as_of: dt.datetime
) -> dict[str, Any]:
    return {
        "stacks": list(stacks),
        "dataAsOf": _iso(data_as_of),
        "lag": LOGS_LAG,
        "steps": [
            {"id": s.id, "title": s.title, "part": s.part, "evidence": s.evidence}
            for s in steps.steps()
        ],
        "summary": summary(rows),
        "students": [r.as_dict() for r in ordered(rows)],
    }


def ordered(rows: Iterable[StudentProgress]) -> list[StudentProgress]:
    """Unreadable first, then stuck, then the furthest behind; by student within each."""
    return sorted(rows, key=lambda r: (r.readable, not r.stuck, r.furthest, r.env.student))


def _ago(when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return "-"
    minutes = int((now - when).total_seconds() // 60)
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"


def render_table(rows: Sequence[StudentProgress], data_as_of: dt.datetime, width: int = 120) -> str:
    """The terminal table (rich), the per-step summary and the data's time, as text."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("student", no_wrap=True)
    for n, s in enumerate(steps.steps(), 1):
        table.add_column(str(n) if s.is_student_step else "pause", justify="center")
    table.add_column("last step", no_wrap=True)
    table.add_column("note")
    for r in ordered(rows):
        furthest = r.furthest
        note = "; ".join(r.problems) or ("STUCK" if r.stuck else "")
        failed = [r.state(s.id).detail for s in steps.steps() if r.state(s.id).state == FAILED]
        note = "; ".join(x for x in [note, *failed] if x)
        table.add_row(
            r.env.student,
            *[MARKS[r.state(s.id).state] for s in steps.steps()],
            (
                f"{steps.student_steps()[furthest].title} ({_ago(r.last_activity, data_as_of)})"
                if furthest >= 0
                else "-"
            ),
            note or "-",
        )
    buffer = StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None)
    console.print(table)
    k = summary(rows)
    lines = [buffer.getvalue().rstrip(), ""]
    for n, step in enumerate(k["steps"], 1):
        label = str(n) if step["part"] else "pause"
        extra = "".join(
            f", {step[state]} {word}"
            for state, word in ((RUNNING, "running"), (FAILED, "failed"), (UNKNOWN, "unknown"))
            if step[state]
        )
        lines.append(f"{label:>5}  {step[DONE]} of {k['students']} {step['reached']}{extra}")
    lines.append("")
    lines.append(
        f"marks: ✓ done, … running, ✗ failed, · not yet, ? unknown, – does not apply · {k['stuck']} stuck"
        + (f" · {k['unreadable']} could not be read" if k["unreadable"] else "")
    )
    lines.append(f"data as of {_iso(data_as_of)} ({LOGS_LAG})")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- command line


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "progress",
        help="where is each student in the lab? each step's evidence in Azure",
        description=__doc__.split("\n\n")[0],
    )
    add_stack_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--html",
        type=Path,
        help="also write the class's progress page (one HTML file; default: none)",
    )
    p.add_argument(
        "--watch",
        type=float,
        metavar="SECONDS",
        help="read again every SECONDS until interrupted (Ctrl-C; default: read once)",
    )
    p.add_argument(
        "--stuck-after",
        type=float,
        default=DEFAULT_STUCK_MINUTES,
        metavar="MINUTES",
        help="no new step for this long while most of the class moved on is stuck (default %(default)s)",
    )
    p.add_argument(
        "--concurrency", type=int, default=ProgressSettings.concurrency, help="calls at once"
    )
    p.add_argument(
        "--logs-batch",
        type=int,
        default=LOGS_BATCH,
        metavar="N",
        help="Log Analytics workspaces per query (default %(default)s, the documented maximum)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=ProgressSettings.timeout,
        help="seconds to wait for each answer",
    )
    p.set_defaults(func=main)


def main(
    args: argparse.Namespace,
    *,
    credential: Any = None,
    endpoints: ProgressEndpoints | None = None,
    out: Any = None,
    err: Any = None,
    rounds: int | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    envs = environments_or_error(args, err)
    if envs is None:
        return 2
    if credential is None:
        from providers.credentials import make_credential

        credential = make_credential()
    try:  # one sign-in check up front, rather than the same failure on every student's row
        credential.get_token(ARM_SCOPE)
    except Exception as error:
        print(
            f"error: not signed in to Azure ({type(error).__name__}: {last_line(error)}); "
            "run `az login` (or set the AZURE_* service principal variables) and try again",
            file=err,
        )
        return 2
    settings = ProgressSettings(
        concurrency=max(1, args.concurrency),
        timeout=args.timeout,
        stuck_after=dt.timedelta(minutes=max(0.0, args.stuck_after)),
        logs_batch=min(LOGS_BATCH, max(1, args.logs_batch)),
    )
    try:
        return _rounds(args, envs, credential, settings, endpoints, out, err, rounds)
    except KeyboardInterrupt:  # Ctrl-C while --watch reads: the last round's answer stands
        print("stopped", file=err)
        return 0


def _rounds(args, envs, credential, settings, endpoints, out, err, rounds) -> int:  # noqa: ANN001
    n = 0
    code = 0
    while True:
        n += 1
        rows, as_of, _ = read_class(envs, credential, settings, endpoints or ProgressEndpoints())
        data = report(rows, args.stack, as_of)
        if args.html:
            from .progress_page import write_progress_page

            write_progress_page(args.html, data, refresh=int(args.watch) if args.watch else None)
            print(f"progress page: {args.html}", file=err)
        if args.json:
            print(json.dumps(data, indent=None if args.watch else 2), file=out, flush=True)
        else:
            print(render_table(rows, as_of), file=out, flush=True)
        code = 0 if all(r.readable for r in rows) else 1
        if not args.watch or (rounds is not None and n >= rounds):
            return code
        time.sleep(max(1.0, args.watch))
