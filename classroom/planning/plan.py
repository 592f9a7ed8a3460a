"""Offline plan: what the program declares for a stack's roster, and what it will cost.

    python -m classroom plan [--stack dev] [--hours 3] [--days N] [--class-ends 17:00] [--json]

Runs the real program with the stack's config (Pulumi.<stack>.yaml) under
Pulumi's mock engine: no Azure credentials, no Pulumi CLI, no network. It is a
plan of what the program declares, not a diff against Azure: `pulumi preview`
shows the real changes.

The program's warnings (the ones `pulumi preview` logs) are printed after the
plan and carried in the JSON's ``warnings``. A class whose lab:expiresOn has
passed still gets its plan, but the exit code is 1: the daily teardown
(`python -m classroom expired --all --destroy`) destroys an expired class, so
deploying it as it stands would be undone the next night. Exit code 2 when the
config cannot be read or planned, 0 otherwise (other warnings do not fail).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classroom.arguments import clock, positive
from classroom.stackfile import (
    StackFileError,
    config_errors,
    is_secure,
    read_stack_file,
    stack_file,
)
from lab import cost_guard
from lab.config import ConfigError

from .costs import PriceError, PriceTable, StudentCost, estimate_student
from .quotas import class_quotas, plural, render_quotas
from .simulate import FAKE_SUBSCRIPTION, Declared, Simulation, run_program

DISCLAIMER = (
    "This is a plan of what the program declares, computed offline; it is not a diff "
    "against Azure. `pulumi preview` shows the real changes. Names carry a stand-in "
    "suffix: the real one is drawn at the first `pulumi up`."
)
# A stand-in that passes the password policy, for a stack whose secret we cannot decrypt offline.
_STAND_IN_PASSWORD = "Stand-in-Passw0rd!"


class PlanError(Exception):
    pass


def load_stack_config(
    stack: str, path: Path | None = None
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The stack's config as the engine would pass it; encrypted secrets get stand-ins."""
    try:
        document = read_stack_file(path or stack_file(stack))
    except StackFileError as error:
        missing = not (path or stack_file(stack)).is_file()
        raise PlanError(
            f"{error} (create the stack, or pass --config)" if missing else str(error)
        ) from None
    config: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in document.config.items():
        if is_secure(value):
            # Encrypted with the stack's passphrase: only the password is a secret here.
            secret_keys.append(key)
            value = _STAND_IN_PASSWORD
        config[key] = value
    return config, tuple(secret_keys)


@dataclass
class StudentPlan:
    id: str
    resources: list[Declared]
    cost: StudentCost
    subscription: str = ""


def plan(stack: str, config_path: Path | None = None) -> tuple[Simulation, list[StudentPlan], str]:
    config, secret_keys = load_stack_config(stack, config_path)
    simulation = run_program(config, secret_keys=secret_keys, stack=stack, preview=True)
    region = str(config.get("azure-native:location", ""))
    prices = PriceTable.load()
    students = []
    # Registrations arrive from worker threads in any order: list the roster's order.
    placed = simulation.exports["environments"].value
    roster = list(placed)
    for env in sorted(
        simulation.of_type("synapse-ml-lab:lab:LabEnvironment"), key=lambda e: roster.index(e.name)
    ):
        resources = [r for r in simulation.descendants_of(env) if r.custom]
        students.append(
            StudentPlan(
                env.name,
                resources,
                estimate_student(resources, prices, region),
                _subscription_name(placed[env.name].get("subscription")),
            )
        )
    return simulation, students, region


def _subscription_name(value: Any) -> str:
    """A lab:subscriptions id as is; the mock's stand-in for the signed-in one as words."""
    return "(default)" if not value or value == FAKE_SUBSCRIPTION else str(value)


def _expires_on(config: dict[str, Any]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(config.get("lab:expiresOn")))
    except ValueError:
        return None


def _default_days(config_path: Path | None, stack: str) -> float:
    """Days from today to lab:expiresOn, at least 1 (an expired class: 1)."""
    config, _ = load_stack_config(stack, config_path)
    expires = _expires_on(config)
    if expires is None:
        return 1.0
    return float(max(1, (expires - dt.date.today()).days))


def _hours_until_next(times: list[tuple[int, int]], start_minute: int) -> float:
    """Hours from ``start_minute`` (minutes after midnight) to the next pause time."""
    minutes = sorted(h * 60 + m for h, m in times)
    later = [t - start_minute for t in minutes if t > start_minute]
    return (later[0] if later else minutes[0] + 24 * 60 - start_minute) / 60


def guard_figures(
    config: dict[str, Any], region: str, students: int, days: float, class_ends: str = "17:00"
) -> dict[str, Any]:
    """What the cost guard caps: one forgotten SQL pool, with and without the schedule; the budgets."""
    prices = PriceTable.load()
    dedicated = str(config.get("lab:dedicatedSqlPool", True)).lower() not in ("false", "no", "0")
    raw_times = config.get("lab:pauseSqlPoolAt", list(cost_guard.DEFAULT_PAUSE_TIMES))
    if isinstance(raw_times, str):
        raw_times = json.loads(raw_times)
    times, _ = cost_guard.parse_times(raw_times)
    raw_budget = config.get("lab:budget")
    if isinstance(raw_budget, str):
        raw_budget = json.loads(raw_budget)
    budget, _ = cost_guard.parse_budget(raw_budget)
    per_hour = float(prices.region(region)["sql_dw100c_hour"]) if dedicated else 0.0
    end_h, end_m = (int(x) for x in class_ends.split(":"))
    figures: dict[str, Any] = {
        "sqlPool": dedicated,
        "sqlPoolPerHour": round(per_hour, 2),
        "pauseAt": [f"{h:02d}:{m:02d}" for h, m in times],
        "classEnds": class_ends,
        "forgottenPoolPerDayWithout": round(24 * per_hour, 2),
        "forgottenPoolUntilExpiryWithout": round(24 * per_hour * days, 2),
        "forgottenPoolWith": None,
        "forgottenPoolWorstCaseWith": None,
        "budgetPerStudent": budget.amount_per_student if budget else None,
        "budgetsTotal": round(budget.amount_per_student * students, 2) if budget else None,
    }
    if dedicated and times:
        after_class = _hours_until_next(list(times), end_h * 60 + end_m)
        # Resumed right after a pause: it runs until the next one (the longest gap).
        minutes = sorted(h * 60 + m for h, m in times)
        gaps = [(b - a) for a, b in zip(minutes, minutes[1:] + [minutes[0] + 1440], strict=True)]
        figures["forgottenPoolWith"] = round(after_class * per_hour, 2)
        figures["forgottenPoolHoursWith"] = round(after_class, 2)
        figures["forgottenPoolWorstCaseWith"] = round(max(gaps) / 60 * per_hour, 2)
    return figures


def progress_logs(
    students: list[StudentPlan], prices: PriceTable, region: str, lab_hours: float
) -> dict[str, Any]:
    """What the lab-progress logs add: their volume for the class and its ingestion price.

    Already counted in the in-use figures (a line of each student's cost); shown on its
    own with the free monthly grant, which the plan does not subtract: the billing
    account's other workspaces may use it up.
    """
    mb_per_hour = sum(s.cost.progress_log_mb_per_hour for s in students)
    gb = mb_per_hour * lab_hours / 1000
    price = float(prices.region(region)["log_analytics_gb"]) if students else 0.0
    free = prices.log_analytics_free
    free_gb = free.get("gb_per_month")
    return {
        "mbPerStudentPerLabHour": round(mb_per_hour / len(students), 3) if students else 0.0,
        "gbForClass": round(gb, 4),
        "pricePerGb": price,
        "cost": round(gb * price, 2),
        "freeGbPerMonth": free_gb,
        "freePer": free.get("per"),
        "withinFreeGrant": free_gb is not None and gb <= float(free_gb),
        "freeSource": free.get("source"),
        "freeReadOn": free.get("read_on"),
    }


def render_progress_logs(p: dict[str, Any], lab_hours: float, cur: str) -> list[str]:
    lines = [
        f"  lab-progress logs: ~{p['mbPerStudentPerLabHour']:.2f} MB per student per lab hour,",
        f"    {p['gbForClass']:.3f} GB for the class in {plural(lab_hours, 'hour')} in use: "
        f"{p['cost']:.2f} {cur} at {p['pricePerGb']:.2f} {cur}/GB (in the in-use figure)",
    ]
    if p.get("freeGbPerMonth") is not None:
        lines.append(
            f"    the first {p['freeGbPerMonth']:g} GB a month per {p['freePer']} are free, "
            f"shared with all it ingests (read {p['freeReadOn']})"
        )
    return lines


def _describe(r: Declared) -> dict[str, str]:
    return {"type": r.type, "name": r.azure_name or r.name, "logicalName": r.name}


def report(
    stack: str,
    students: list[StudentPlan],
    simulation: Simulation,
    region: str,
    lab_hours: float,
    days: float,
    *,
    days_until_expiry: bool = False,
    expires_on: str | None = None,
) -> dict[str, Any]:
    prices = PriceTable.load()
    shared = [
        r for r in simulation.resources if r.custom and not any(r in s.resources for s in students)
    ]
    per_student = []
    for s in students:
        per_student.append(
            {
                "student": s.id,
                "resources": [
                    _describe(r) for r in sorted(s.resources, key=lambda r: (r.type, r.name))
                ],
                "cost": {
                    "inUsePerHour": round(s.cost.hourly, 4),
                    "idlePerDay": round(s.cost.daily_idle, 4),
                    "total": round(s.cost.total(lab_hours, days), 2),
                    "progressLogMbPerLabHour": round(s.cost.progress_log_mb_per_hour, 3),
                    "inUseItems": [
                        {"item": line.item, "amount": round(line.amount, 4)}
                        for line in s.cost.in_use_per_hour
                    ],
                    "idleItems": [
                        {"item": line.item, "amount": round(line.amount, 4)}
                        for line in s.cost.idle_per_day
                    ],
                },
            }
        )
    return {
        "stack": stack,
        "region": region,
        "notice": DISCLAIMER,
        "prices": {
            "currency": prices.currency,
            "readOn": prices.provenance(region)[0],
            "source": prices.source,
            "method": prices.provenance(region)[1],
            # A region refreshed from the Retail Prices API has its own method; else the hand-made table's.
            "refreshed": "method" in prices.regions.get(region, {}),
        },
        # labHours: the hours in use of the whole course (every session together), not per day;
        # days: how long the environments exist (idle costs accrue every day).
        "assumptions": {
            "labHours": lab_hours,
            "days": days,
            "daysUntilExpiry": days_until_expiry,
            "expiresOn": expires_on,
        },
        "warnings": list(simulation.warnings),
        "expired": bool(expires_on) and dt.date.fromisoformat(str(expires_on)) < dt.date.today(),
        "students": per_student,
        "shared": [_describe(r) for r in shared],
        "quotas": [
            q.as_dict() for q in class_quotas((s.subscription, s.resources) for s in students)
        ],
        "class": {
            "students": len(students),
            "resources": sum(len(s.resources) for s in students) + len(shared),
            "inUsePerHour": round(sum(s.cost.hourly for s in students), 2),
            "idlePerDay": round(sum(s.cost.daily_idle for s in students), 2),
            "total": round(sum(s.cost.total(lab_hours, days) for s in students), 2),
            "inUseTotal": round(sum(s.cost.hourly for s in students) * lab_hours, 2),
            "idleTotal": round(sum(s.cost.daily_idle for s in students) * days, 2),
        },
        "progressLogs": progress_logs(students, prices, region, lab_hours),
    }


def render_guard(g: dict[str, Any], cur: str) -> list[str]:
    if not g.get("sqlPool"):
        return ["cost guard: no dedicated SQL pool (lab:dedicatedSqlPool is off): nothing to pause"]
    lines = [
        f"cost guard: one forgotten SQL pool costs {g['sqlPoolPerHour']:.2f} {cur}/hour",
        f"  without a pause schedule: {g['forgottenPoolPerDayWithout']:.2f} {cur} a day, "
        f"{g['forgottenPoolUntilExpiryWithout']:.2f} {cur} until it expires",
    ]
    if g.get("forgottenPoolWith") is not None:
        lines += [
            f"  with the schedule ({', '.join(g['pauseAt'])}): {g['forgottenPoolWith']:.2f} {cur} "
            f"when forgotten at the end of a class at {g['classEnds']} "
            f"({plural(g['forgottenPoolHoursWith'], 'hour')}),",
            f"    at most {g['forgottenPoolWorstCaseWith']:.2f} {cur} when resumed right after a pause",
        ]
    else:
        lines.append("  the pause schedule is off (lab:pauseSqlPoolAt: [])")
    if g.get("budgetsTotal") is not None:
        lines.append(
            f"  budgets: {g['budgetPerStudent']:.2f} {cur} per student, {g['budgetsTotal']:.2f} {cur} "
            "for the class (they alert, they do not stop anything)"
        )
    return lines


def render_text(data: dict[str, Any]) -> str:
    cur = data["prices"]["currency"]
    lines = [
        f"Offline plan for stack '{data['stack']}' in {data['region']}",
        *textwrap.wrap(data["notice"], 100, break_on_hyphens=False),
        "",
    ]
    for s in data["students"]:
        lines.append(f"student {s['student']}: {len(s['resources'])} resources")
        width = max(len(r["type"]) for r in s["resources"])
        name_width = max(len(r["name"]) for r in s["resources"])
        lines += [
            f"  {r['type']:<{width}}  {r['name']:<{name_width}}  ({r['logicalName']})"
            for r in s["resources"]
        ]
        c = s["cost"]
        lines.append(
            f"  cost: {c['inUsePerHour']:.2f} {cur}/hour in use, {c['idlePerDay']:.2f} {cur}/day idle"
        )
        lines += [
            f"    in use  {line['amount']:8.3f}/h  {line['item']}" for line in c["inUseItems"]
        ]
        lines += [f"    idle    {line['amount']:8.3f}/d  {line['item']}" for line in c["idleItems"]]
        lines.append("")
    if data["shared"]:
        lines.append("shared by the class:")
        lines += [f"  {r['type']}  {r['name']}" for r in data["shared"]]
        lines.append("")
    k, a = data["class"], data["assumptions"]
    until = f"until lab:expiresOn {a['expiresOn']}" if a.get("daysUntilExpiry") else "as given"
    if a.get("daysUntilExpiry") and data.get("expired"):
        until = f"lab:expiresOn {a['expiresOn']} has passed, so 1 day is counted"
    lines += [
        f"class of {plural(k['students'], 'student')}: {plural(k['resources'], 'resource')}",
        f"  in use: {k['inUsePerHour']:.2f} {cur} an hour",
        "          (Spark pool at its autoscale minimum, SQL pool running, AutoML cluster at its maximum)",
        f"  idle:   {k['idlePerDay']:.2f} {cur} a day (pools paused, cluster at 0 nodes)",
        f"  estimate: {k['total']:.2f} {cur} in all =",
        f"    {k['inUseTotal']:.2f} {cur} for {plural(a['labHours'], 'hour')} in use "
        "(--hours: all the lab sessions together, not per day)",
        f"  + {k['idleTotal']:.2f} {cur} for {plural(a['days'], 'day')} idle "
        f"(--days, how long they exist: {until})",
        *render_progress_logs(data["progressLogs"], a["labHours"], cur),
        *render_prices(data["prices"], data["region"]),
        "",
        *render_quotas(data["quotas"]),
    ]
    if data.get("costGuard"):
        lines += ["", *render_guard(data["costGuard"], cur)]
    lines += render_warnings(data.get("warnings") or [])
    return "\n".join(lines)


def render_prices(prices: dict[str, Any], region: str) -> list[str]:
    """Where the prices come from, in short lines (the JSON keeps the whole sentences)."""
    how = (
        "read from the Azure Retail Prices API"
        if prices.get("refreshed")
        else "approximate figures compiled by hand"
    )
    return [
        f"Prices in {prices['currency']}: {prices['source'].split(', as published')[0]}",
        f"  {region}: {how}, read {prices['readOn']}",
        f"  to read today's: python -m classroom prices --region {region}",
    ]


def render_warnings(warnings: list[str], width: int = 100) -> list[str]:
    """The program's warnings, as `pulumi preview` logs them, each wrapped to ``width``."""
    if not warnings:
        return []
    lines = ["", f"{plural(len(warnings), 'warning')} (`pulumi preview` shows them too):"]
    for warning in warnings:
        lines += textwrap.wrap(
            warning, width, initial_indent="  - ", subsequent_indent="    ", break_on_hyphens=False
        )
    return lines


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="what a stack's roster creates and costs (offline)",
        description=__doc__.split("\n\n", 1)[0] + "\n\n" + __doc__.split("\n\n", 2)[2],
    )
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to read")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="a stack config file to read instead (default: the project's Pulumi.<stack>.yaml)",
    )
    parser.add_argument(
        "--hours",
        type=positive,
        default=3.0,
        help="hours the class's environments are in use, all lab sessions together (not per day)",
    )
    parser.add_argument(
        "--days",
        type=positive,
        help="days the environments exist, idle when not in use (default: until lab:expiresOn)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument(
        "--class-ends",
        type=clock,
        default="17:00",
        metavar="HH:MM",
        help="when a lab day ends (24-hour clock), for the cost guard's figures",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config, _ = load_stack_config(args.stack, args.config)
        expires = _expires_on(config)
        days = args.days if args.days is not None else _default_days(args.config, args.stack)
        simulation, students, region = plan(args.stack, args.config)
        data = report(
            args.stack,
            students,
            simulation,
            region,
            args.hours,
            days,
            days_until_expiry=args.days is None,
            expires_on=expires.isoformat() if expires else None,
        )
        data["costGuard"] = guard_figures(
            config, region, len(students), days, getattr(args, "class_ends", "17:00")
        )
    except ConfigError as exc:
        print(config_errors(args.config or stack_file(args.stack), exc.problems), file=sys.stderr)
        return 2
    except (PlanError, PriceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(data, indent=2) if args.json else render_text(data))
    if data["expired"]:
        print(
            f"error: lab:expiresOn ({data['assumptions']['expiresOn']}) has passed: the daily "
            "teardown destroys this class; move lab:expiresOn before `pulumi up` (or destroy it)",
            file=sys.stderr,
        )
        return 1
    return 0
