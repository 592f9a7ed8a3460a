"""Offline plan: what the program declares for a stack's roster, and what it will cost.

    python -m classroom plan [--stack dev] [--hours 3] [--days N] [--json]

Runs the real program with the stack's config (Pulumi.<stack>.yaml) under
Pulumi's mock engine: no Azure credentials, no Pulumi CLI, no network. It is a
plan of what the program declares, not a diff against Azure: `pulumi preview`
shows the real changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classroom.stackfile import StackFileError, is_secure, read_stack_file, stack_file
from lab import cost_guard
from lab.config import ConfigError

from .costs import PriceError, PriceTable, StudentCost, estimate_student
from .quotas import class_quotas, render_quotas
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
        raise PlanError(f"{error} (create the stack, or pass --config)") from None
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


def _default_days(config_path: Path | None, stack: str) -> float:
    config, _ = load_stack_config(stack, config_path)
    try:
        expires = dt.date.fromisoformat(str(config.get("lab:expiresOn")))
    except ValueError:
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


def render_progress_logs(p: dict[str, Any], lab_hours: float, cur: str) -> str:
    line = (
        f"  lab-progress logs: ~{p['mbPerStudentPerLabHour']:.2f} MB per student per lab hour, "
        f"{p['gbForClass']:.3f} GB for the class over {lab_hours:g} lab hours: "
        f"{p['cost']:.2f} {cur} at {p['pricePerGb']:.2f} {cur}/GB (counted in the in-use figure)"
    )
    if p.get("freeGbPerMonth") is not None:
        line += (
            f"; the first {p['freeGbPerMonth']:g} GB a month per {p['freePer']} are free, "
            f"shared with everything else it ingests (read {p['freeReadOn']})"
        )
    return line


def _describe(r: Declared) -> dict[str, str]:
    return {"type": r.type, "name": r.azure_name or r.name, "logicalName": r.name}


def report(
    stack: str,
    students: list[StudentPlan],
    simulation: Simulation,
    region: str,
    lab_hours: float,
    days: float,
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
        },
        "assumptions": {"labHours": lab_hours, "days": days},
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
        lines.append(
            f"  with the schedule ({', '.join(g['pauseAt'])}): {g['forgottenPoolWith']:.2f} {cur} "
            f"when forgotten at the end of a class at {g['classEnds']} "
            f"({g['forgottenPoolHoursWith']:g} h), at most {g['forgottenPoolWorstCaseWith']:.2f} {cur} "
            "when resumed right after a pause"
        )
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
    lines = [f"Offline plan for stack '{data['stack']}' in {data['region']}", data["notice"], ""]
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
        lines.append(
            "shared by the class: " + ", ".join(f"{r['type']} {r['name']}" for r in data["shared"])
        )
    k, a = data["class"], data["assumptions"]
    lines += [
        f"class of {k['students']}: {k['resources']} resources",
        f"  in use: {k['inUsePerHour']:.2f} {cur}/hour (Spark pool at its autoscale minimum, SQL pool running, "
        "AutoML cluster at its maximum)",
        f"  idle:   {k['idlePerDay']:.2f} {cur}/day (pools paused, cluster at 0 nodes)",
        f"  for {a['labHours']:g} lab hours over {a['days']:g} days: {k['total']:.2f} {cur}",
        render_progress_logs(data["progressLogs"], a["labHours"], cur),
        f"Prices: {data['prices']['source']}; read {data['prices']['readOn']} ({data['prices']['method']}).",
        "",
        *render_quotas(data["quotas"]),
    ]
    if data.get("costGuard"):
        lines += render_guard(data["costGuard"], cur)
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="what a stack's roster creates and costs (offline)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to read (default: dev)"
    )
    parser.add_argument("--config", type=Path, help="a stack config file to read instead")
    parser.add_argument(
        "--hours", type=float, default=3.0, help="hours the lab is in use (default: 3)"
    )
    parser.add_argument(
        "--days", type=float, help="days the environments exist (default: until lab:expiresOn)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument(
        "--class-ends",
        default="17:00",
        metavar="HH:MM",
        help="when a lab day ends, for the cost guard's figures (default: 17:00)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        days = args.days if args.days is not None else _default_days(args.config, args.stack)
        simulation, students, region = plan(args.stack, args.config)
        data = report(args.stack, students, simulation, region, args.hours, days)
        config, _ = load_stack_config(args.stack, args.config)
        data["costGuard"] = guard_figures(
            config, region, len(students), days, getattr(args, "class_ends", "17:00")
        )
    except (PlanError, ConfigError, PriceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(data, indent=2) if args.json else render_text(data))
    return 0
