"""Is every student ready? Check each student's real environment after `pulumi up`.

    python -m classroom status --stack dev [--json] [--html class.html] [--wait 20m]
    python -m classroom status --stack dev --outputs outputs.json   # `pulumi stack output --json`

`pulumi up` succeeding says the calls returned, not that the lab works. This reads
the stack's `environments` output (through the Pulumi Automation API, or a file
holding `pulumi stack output --json`) and asks Azure, with the Azure SDKs and your
Azure login, what is really there for every student:

- the resource group and its `expires-on` tag;
- every resource's provisioning state first; the Synapse workspace and Spark pool
  provisioned, the dedicated SQL pool provisioned and Paused (an Online pool is
  flagged with what it costs per hour);
- both lab CSVs in `files/data/` of the data lake;
- in Synapse Studio: the `AzureML` linked service, the lab's notebooks attached
  to the Spark pool and the SQL script;
- the cost guard (guard.py): the `Pause SQL pool` pipeline and its schedule
  trigger(s) Started and as deployed, and the last pipeline run not Failed;
- the Azure ML workspace and its `automl-cluster` at 0 nodes;
- the student's access (access.py's table: Reader on the resource group, the Azure ML
  student role on the Azure ML workspace, the SQL pool operator role on the pool,
  Storage Blob Data Contributor on the lake, Synapse Contributor and Synapse
  Credential User on the workspace,
  or a stronger role, from above, or through a group, as Azure counts them);
  Contributor or Owner is a warning: more access than the lab needs.

Students are checked concurrently (a bounded pool), every call has a timeout, and
one student's failure never stops the others: whatever goes wrong becomes a
problem in words on that student's row (the calls and their words are in
readiness/, put together by checks.py). The exit code is 0 when every student is ready (warnings such as an
Online SQL pool do not fail it), 1 when one is not, 2 when the stack cannot be
read or there is no Azure login.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from classroom import signin
from classroom.planning.costs import PriceTable

from .checks import (
    NOT_READY,
    READY,
    WARNING,
    CheckSettings,
    Endpoints,
    Environment,
    StudentStatus,
    check_class,
    cost_by_category,
    wait_until_ready,
)
from .environments import add_stack_arguments, environments_or_error

# ----------------------------------------------------------------------------- output


def summary(statuses: Sequence[StudentStatus], currency: str = "USD") -> dict[str, Any]:
    ready = [s for s in statuses if s.ready]
    costs = [s.cost for s in statuses if s.cost is not None]
    return {
        "students": len(statuses),
        "ready": len(ready),
        "notReady": len(statuses) - len(ready),
        "warnings": sum(1 for s in statuses if s.state == WARNING),
        "sqlPoolsOnline": sum(1 for s in statuses if s.sql_pool_status == "Online"),
        # Students whose SQL pool will not pause itself: cost guard off or failing (guard.py).
        "costGuardsOff": sum(
            1 for s in statuses if (s.guard or {}).get("state") in ("off", "failing")
        ),
        "currency": currency,
        "idlePerDay": round(sum(c.daily_idle for c in costs), 2),
        "inUsePerHour": round(sum(c.hourly for c in costs), 2),
        "runningNowPerHour": round(sum(s.running_per_hour for s in statuses), 2),
        "inUseByCategory": _total_by_category(cost_by_category(c.in_use_per_hour) for c in costs),
        "idleByCategory": _total_by_category(cost_by_category(c.idle_per_day) for c in costs),
        "runningByCategory": _total_by_category(s.running for s in statuses),
    }


def _total_by_category(parts: Iterable[Mapping[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for part in parts:
        for key, value in part.items():
            total[key] = total.get(key, 0.0) + value
    return {key: round(value, 2) for key, value in total.items()}


def ordered(statuses: Iterable[StudentStatus]) -> list[StudentStatus]:
    """Problems first, then warnings, then ready; by student id within each."""
    rank = {NOT_READY: 0, WARNING: 1, READY: 2}
    return sorted(statuses, key=lambda s: (rank[s.state], s.env.student))


def render_table(statuses: Sequence[StudentStatus], currency: str = "USD", width: int = 100) -> str:
    rows = ordered(statuses)
    sw = max([len("student")] + [len(s.env.student) for s in rows])
    lines = [
        f"{'student':<{sw}}  {'status':<9}  {'expires':<10}  what to do",
        "-" * min(width, sw + 60),
    ]
    for s in rows:
        expires = s.expires_on.isoformat() if s.expires_on else "?"
        notes = s.problems + s.warnings or ["-"]
        lines.append(f"{s.env.student:<{sw}}  {s.state:<9}  {expires:<10}  {notes[0]}")
        lines += [f"{'':<{sw}}  {'':<9}  {'':<10}  {note}" for note in notes[1:]]
    k = summary(statuses, currency)
    lines += [
        "",
        f"{k['ready']} of {k['students']} students ready"
        + (f", {k['notReady']} not ready" if k["notReady"] else "")
        + (f"; {k['sqlPoolsOnline']} dedicated SQL pool(s) Online" if k["sqlPoolsOnline"] else "")
        + (f"; cost guard off for {k['costGuardsOff']}" if k["costGuardsOff"] else ""),
    ]
    if k["idlePerDay"] or k["inUsePerHour"]:
        lines.append(
            f"class cost: {k['idlePerDay']:.2f} {currency}/day idle, {k['inUsePerHour']:.2f} {currency}/hour "
            f"in use, running now beyond idle: {k['runningNowPerHour']:.2f} {currency}/hour"
        )
    return "\n".join(lines)


def report(
    statuses: Sequence[StudentStatus],
    stacks: Sequence[str],
    prices: PriceTable | None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    currency = prices.currency if prices else "USD"
    return {
        "stacks": list(stacks),
        "checkedAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "summary": summary(statuses, currency),
        "prices": None
        if prices is None
        else {"currency": prices.currency, "readOn": prices.read_on, "source": prices.source},
        "students": [s.as_dict(today) for s in ordered(statuses)],
    }


# ----------------------------------------------------------------------------- command line


def _duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 20m or 1h")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "status",
        help="is every student ready? check each environment in Azure",
        description=__doc__.split("\n\n")[0],
    )
    add_stack_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="also write the class page (one self-contained HTML file; default: none)",
    )
    p.add_argument(
        "--handout",
        type=Path,
        metavar="FILE",
        help="also write the students' handout (one printable HTML file; default: none)",
    )
    p.add_argument(
        "--wait",
        type=_duration,
        metavar="DURATION",
        help="re-check the students not ready until all are or DURATION (e.g. 20m) has passed "
        "(default: check once)",
    )
    p.add_argument(
        "--interval",
        type=_duration,
        default=60.0,
        metavar="DURATION",
        help="time between rounds with --wait (default: 60s)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=CheckSettings.concurrency,
        help="students checked at once",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=CheckSettings.timeout,
        metavar="SECONDS",
        help="seconds to wait for each answer",
    )
    p.add_argument(
        "--budget",
        type=_duration,
        default=CheckSettings.student_budget,
        metavar="DURATION",
        help="most time one student's checks may take (default: %(default)ss)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=CheckSettings.retries,
        help="retries of a throttled, failing or dropped call (default: %(default)s)",
    )
    p.add_argument(
        "--progress",
        action="store_true",
        help="also read each student's progress through the lab (`classroom progress`) into the "
        "JSON and the class page",
    )
    p.add_argument(
        "--no-spend",
        action="store_true",
        help="skip reading each student's actual cost from Cost Management",
    )
    p.add_argument(
        "--spend-since",
        type=dt.date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="count spend from this date (default: the first of this month, as the budgets do)",
    )
    signin.add_verbose_argument(p)
    p.set_defaults(func=main)


def _credential(verbose: bool = False) -> Any:
    # The program's own sign-in (providers/credentials.py): GitHub OIDC in CI, else
    # DefaultAzureCredential; its chain's log only with --verbose.
    return signin.credential(verbose)


def main(
    args: argparse.Namespace,
    *,
    credential: Any = None,
    endpoints: Endpoints | None = None,
    out: Any = None,
    err: Any = None,
    progress_endpoints: Any = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    endpoints = endpoints or Endpoints()
    envs = environments_or_error(args, err)
    if envs is None:
        return 2
    prices = PriceTable.load()
    settings = CheckSettings(
        timeout=args.timeout,
        concurrency=max(1, args.concurrency),
        retries=max(0, args.retries),
        student_budget=args.budget,
    )
    verbose = getattr(args, "verbose", False)
    credential = credential or _credential(verbose)
    # One sign-in check up front, rather than the same failure on every student's row.
    if not signin.signed_in(credential, err, verbose):
        return 2
    progress_bar = _progress(len(envs), err)

    def check(some: Sequence[Environment]) -> list[StudentStatus]:
        return check_class(
            some,
            credential=credential,
            endpoints=endpoints,
            settings=settings,
            prices=prices,
            progress=progress_bar.tick,
        )

    if args.wait:

        def on_round(n: int, statuses: list[StudentStatus]) -> None:
            k = summary(statuses)
            progress_bar.note(f"round {n}: {k['ready']} of {k['students']} ready", k["notReady"])
            if args.html and k["notReady"]:
                # The page after every round, so the class can watch itself become ready; it reloads
                # itself while the wait goes on (the final write below has no reload).
                from .page import write_class_page

                write_class_page(
                    args.html,
                    report(statuses, args.stack, prices),
                    refresh=int(max(10.0, args.interval)),
                    rounds=n,
                )

        statuses = wait_until_ready(envs, check, args.wait, args.interval, on_round)
    else:
        statuses = check(envs)
    progress_bar.close()
    data = report(statuses, args.stack, prices)
    if not getattr(args, "no_spend", False):
        data["spend"] = _spend(statuses, credential, endpoints, settings, args, err)
    if getattr(args, "progress", False):
        from . import progress

        print("reading each student's progress...", file=err, flush=True)
        rows, as_of, _ = progress.read_class(
            [s.env for s in statuses],
            credential,
            progress.ProgressSettings(concurrency=settings.concurrency, timeout=settings.timeout),
            progress_endpoints or progress.ProgressEndpoints(),
        )
        data["progress"] = progress.report(rows, args.stack, as_of)
    if args.html:
        from .page import write_class_page

        write_class_page(args.html, data)
        print(f"class page: {args.html}", file=err)
    if args.handout:
        from .handout import write_handout

        write_handout(args.handout, [s.env for s in statuses])
        print(f"handout: {args.handout}", file=err)
    if args.json:
        print(json.dumps(data, indent=2), file=out)
    else:
        print(render_table(statuses, prices.currency), file=out)
        if data.get("spend"):
            from .spend import render

            print(render(data["spend"]), file=out)
    return 0 if all(s.ready for s in statuses) else 1


def _spend(statuses, credential, endpoints, settings, args, err) -> dict[str, Any]:
    """Actual cost per student from Cost Management (classroom/checking/spend.py)."""
    from .spend import budget_per_student, class_spend
    from .spend import summary as spend_summary

    print("reading spend from Cost Management...", file=err, flush=True)
    spends = class_spend(
        [s.env for s in statuses],
        credential=credential,
        endpoints=endpoints,
        settings=settings,
        since=getattr(args, "spend_since", None),
    )
    idle = round(sum(s.cost.daily_idle for s in statuses if s.cost is not None), 2)
    return spend_summary(spends, budget_per_student(args.stack), idle)


class _progress:
    """A rich progress bar on a terminal, as `classroom up` shows (plain lines when stderr is a file or pipe)."""

    def __init__(self, total: int, stream: Any):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.stream = stream
        self.terminal = bool(getattr(stream, "isatty", lambda: False)())
        self.console = Console(file=stream, force_terminal=self.terminal or None)
        self.bar = Progress(
            TextColumn("checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("students"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=not self.terminal,
        )
        self.task = self.bar.add_task("checking", total=total)
        self.bar.start()

    def tick(self, status: StudentStatus) -> None:
        self.bar.advance(self.task)
        self.bar.refresh()  # each student as it is done, not at the next redraw

    def note(self, text: str, next_total: int) -> None:
        """A line above the bar (or alone, without a terminal); the bar starts again for the next round."""
        if self.terminal:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
            self.bar.reset(self.task, total=next_total)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        self.bar.stop()
