"""The cost guard's model: when the SQL pools pause themselves, and the budgets' shape.

Pure values, no resources: ``lab.config`` validates ``lab:pauseSqlPoolAt``,
``lab:timeZone`` and ``lab:budget`` with these rules, ``providers.synapse.pause_schedule``
uploads the pipeline and triggers built here, ``components`` declares the budgets.

Why these shapes (sources):

- Schedule triggers take Windows time zone names, and with a time zone other than
  UTC their start time is local, written without a ``Z``
  (learn.microsoft.com/azure/data-factory/how-to-create-schedule-trigger, "Time zone
  option"; techcommunity "Time Zone and Daylight Saving Support for Schedule Trigger":
  "When timeZone is set to values other than UTC, timestamps are expected in format
  yyyy-MM-ddTHH:mm:ss"). Such a trigger follows daylight saving time.
- A schedule's ``hours`` and ``minutes`` combine as a cross product (every listed
  minute of every listed hour, same page, "Schedule property"), so times with
  different minutes go to separate triggers, or 23:00 and 01:30 would also fire at
  23:30 and 01:00.
- The pipeline follows Microsoft's "Pause and resume dedicated SQL pools with
  Synapse Pipelines" (learn.microsoft.com/azure/synapse-analytics/sql/how-to-pause-resume-pipelines):
  a Web activity GETs the pool with the workspace's managed identity, an If
  Condition compares ``output.properties.status`` with ``Online``, and a Web
  activity POSTs ``.../pause`` (REST: Sql Pools - Pause, api-version 2021-06-01).
- Budgets: Cost Management budgets start on the first of a month and hold at most
  five notifications (learn.microsoft.com/rest/api/consumption/budgets/create-or-update:
  "timePeriod.startDate ... must be first of the month"; "notifications ... Budget can
  have up to five notifications").
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lab import api_versions

PAUSE_PIPELINE_NAME = "Pause SQL pool"
PAUSE_TRIGGER_NAME = "Pause SQL pool schedule"
GET_STATE_ACTIVITY = "Get SQL pool state"
IF_ONLINE_ACTIVITY = "If the pool is Online"
PAUSE_ACTIVITY = "Pause the pool"
# The pipeline reads and pauses the pool at the api-version the program writes it with.
SQL_POOL_API_VERSION = api_versions.SYNAPSE
ARM_RESOURCE = "https://management.azure.com/"
DEFAULT_PAUSE_TIMES = ("23:00",)
# A fixed past start: schedule triggers do not backfill, they fire at the next listed
# time; a constant keeps the trigger body (and so the diff) the same on every preview.
TRIGGER_START = "2024-01-01T00:00:00"
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
MAX_NOTIFICATIONS = 5
DEFAULT_THRESHOLDS = (50, 80, 100)

# IANA name -> Windows time zone name, as schedule triggers take them (the Windows
# names are those of learn.microsoft.com/windows-hardware/manufacture/desktop/default-time-zones).
WINDOWS_TIME_ZONES: dict[str, str] = {
    "UTC": "UTC",
    "Etc/UTC": "UTC",
    "Europe/London": "GMT Standard Time",
    "Europe/Dublin": "GMT Standard Time",
    "Europe/Lisbon": "GMT Standard Time",
    "Europe/Amsterdam": "W. Europe Standard Time",
    "Europe/Berlin": "W. Europe Standard Time",
    "Europe/Zurich": "W. Europe Standard Time",
    "Europe/Vienna": "W. Europe Standard Time",
    "Europe/Rome": "W. Europe Standard Time",
    "Europe/Stockholm": "W. Europe Standard Time",
    "Europe/Oslo": "W. Europe Standard Time",
    "Europe/Paris": "Romance Standard Time",
    "Europe/Brussels": "Romance Standard Time",
    "Europe/Madrid": "Romance Standard Time",
    "Europe/Copenhagen": "Romance Standard Time",
    "Europe/Warsaw": "Central European Standard Time",
    "Europe/Prague": "Central Europe Standard Time",
    "Europe/Budapest": "Central Europe Standard Time",
    "Europe/Helsinki": "FLE Standard Time",
    "Europe/Athens": "GTB Standard Time",
    "Europe/Istanbul": "Turkey Standard Time",
    "America/New_York": "Eastern Standard Time",
    "America/Toronto": "Eastern Standard Time",
    "America/Chicago": "Central Standard Time",
    "America/Denver": "Mountain Standard Time",
    "America/Phoenix": "US Mountain Standard Time",
    "America/Los_Angeles": "Pacific Standard Time",
    "America/Vancouver": "Pacific Standard Time",
    "America/Sao_Paulo": "E. South America Standard Time",
    "America/Mexico_City": "Central Standard Time (Mexico)",
    "America/Santiago": "Pacific SA Standard Time",
    "Asia/Tokyo": "Tokyo Standard Time",
    "Asia/Seoul": "Korea Standard Time",
    "Asia/Singapore": "Singapore Standard Time",
    "Asia/Kuala_Lumpur": "Singapore Standard Time",
    "Asia/Hong_Kong": "China Standard Time",
    "Asia/Shanghai": "China Standard Time",
    "Asia/Kolkata": "India Standard Time",
    "Asia/Dubai": "Arabian Standard Time",
    "Asia/Qatar": "Arab Standard Time",
    "Asia/Jerusalem": "Israel Standard Time",
    "Asia/Jakarta": "SE Asia Standard Time",
    "Australia/Sydney": "AUS Eastern Standard Time",
    "Australia/Melbourne": "AUS Eastern Standard Time",
    "Australia/Brisbane": "E. Australia Standard Time",
    "Pacific/Auckland": "New Zealand Standard Time",
    "Africa/Johannesburg": "South Africa Standard Time",
}

# Where a region's data centre is, for the default lab:timeZone (UTC when not listed).
REGION_TIME_ZONES: dict[str, str] = {
    "eastus": "America/New_York",
    "eastus2": "America/New_York",
    "centralus": "America/Chicago",
    "northcentralus": "America/Chicago",
    "southcentralus": "America/Chicago",
    "westcentralus": "America/Denver",
    "westus": "America/Los_Angeles",
    "westus2": "America/Los_Angeles",
    "westus3": "America/Phoenix",
    "canadacentral": "America/Toronto",
    "canadaeast": "America/Toronto",
    "brazilsouth": "America/Sao_Paulo",
    "mexicocentral": "America/Mexico_City",
    "chilecentral": "America/Santiago",
    "northeurope": "Europe/Dublin",
    "westeurope": "Europe/Amsterdam",
    "uksouth": "Europe/London",
    "ukwest": "Europe/London",
    "francecentral": "Europe/Paris",
    "germanywestcentral": "Europe/Berlin",
    "switzerlandnorth": "Europe/Zurich",
    "norwayeast": "Europe/Oslo",
    "swedencentral": "Europe/Stockholm",
    "polandcentral": "Europe/Warsaw",
    "italynorth": "Europe/Rome",
    "spaincentral": "Europe/Madrid",
    "austriaeast": "Europe/Vienna",
    "belgiumcentral": "Europe/Brussels",
    "australiaeast": "Australia/Sydney",
    "australiasoutheast": "Australia/Melbourne",
    "newzealandnorth": "Pacific/Auckland",
    "southeastasia": "Asia/Singapore",
    "eastasia": "Asia/Hong_Kong",
    "japaneast": "Asia/Tokyo",
    "japanwest": "Asia/Tokyo",
    "koreacentral": "Asia/Seoul",
    "centralindia": "Asia/Kolkata",
    "southindia": "Asia/Kolkata",
    "uaenorth": "Asia/Dubai",
    "qatarcentral": "Asia/Qatar",
    "israelcentral": "Asia/Jerusalem",
    "indonesiacentral": "Asia/Jakarta",
    "malaysiawest": "Asia/Kuala_Lumpur",
    "southafricanorth": "Africa/Johannesburg",
}


@dataclass(frozen=True)
class Budget:
    """``lab:budget``: a cost budget on each student's resource group."""

    amount_per_student: float
    contact_emails: tuple[str, ...]
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS


def default_time_zone(location: str | None) -> str:
    return REGION_TIME_ZONES.get(location or "", "UTC")


def time_zone_problem(name: str) -> str | None:
    """Why ``name`` cannot be a lab:timeZone (with a suggestion), or None."""
    if name in WINDOWS_TIME_ZONES:
        return None
    known = sorted(WINDOWS_TIME_ZONES)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f": did you mean {close[0]!r}?" if close else ""
    try:
        zoneinfo.ZoneInfo(name)
        valid = True
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        valid = False
    if not valid:
        iana = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1)
        hint = f": did you mean {iana[0]!r}?" if iana else hint
        return f"is not an IANA time zone name (like Europe/Amsterdam or UTC){hint}"
    return (
        "is an IANA time zone this project cannot convert to the Windows name schedule "
        f"triggers take{hint} (known: {', '.join(known)})"
    )


def parse_times(value: Any) -> tuple[tuple[tuple[int, int], ...], str | None]:
    """``lab:pauseSqlPoolAt`` as sorted (hour, minute) pairs, or a problem."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return (), 'must be a list of "HH:MM" strings, e.g. ["23:00"] ([] turns the schedule off)'
    times: set[tuple[int, int]] = set()
    for item in value:
        m = TIME_RE.match(item.strip())
        if not m:
            return (), f'has {item!r}, which is not a 24-hour time "HH:MM" (00:00 to 23:59)'
        times.add((int(m.group(1)), int(m.group(2))))
    return tuple(sorted(times)), None


def schedule_groups(times: Sequence[tuple[int, int]]) -> list[tuple[list[int], list[int]]]:
    """(hours, minutes) per trigger, so that each trigger's cross product is exactly its times."""
    by_minute: dict[int, set[int]] = {}
    for hour, minute in times:
        by_minute.setdefault(minute, set()).add(hour)
    by_hours: dict[tuple[int, ...], list[int]] = {}
    for minute, hours in sorted(by_minute.items()):
        by_hours.setdefault(tuple(sorted(hours)), []).append(minute)
    return [(list(hours), sorted(minutes)) for hours, minutes in by_hours.items()]


def trigger_names(count: int) -> list[str]:
    return [PAUSE_TRIGGER_NAME if i == 0 else f"{PAUSE_TRIGGER_NAME} {i + 1}" for i in range(count)]


def trigger_bodies(
    times: Sequence[tuple[int, int]], iana_time_zone: str
) -> dict[str, dict[str, Any]]:
    """Trigger name -> the ``properties`` of a schedule trigger (REST shape) running the pipeline."""
    windows = WINDOWS_TIME_ZONES[iana_time_zone]
    utc = windows == "UTC"
    groups = schedule_groups(times)
    bodies: dict[str, dict[str, Any]] = {}
    for name, (hours, minutes) in zip(trigger_names(len(groups)), groups, strict=True):
        at = ", ".join(f"{h:02d}:{m:02d}" for h in hours for m in minutes)
        bodies[name] = {
            "type": "ScheduleTrigger",
            "description": f"Runs '{PAUSE_PIPELINE_NAME}' every day at {at} ({iana_time_zone}).",
            "pipelines": [
                {
                    "pipelineReference": {
                        "referenceName": PAUSE_PIPELINE_NAME,
                        "type": "PipelineReference",
                    },
                    "parameters": {},
                }
            ],
            "typeProperties": {
                "recurrence": {
                    "frequency": "Day",
                    "interval": 1,
                    # UTC takes a Z; any other zone a local time without one (module doc).
                    "startTime": TRIGGER_START + ("Z" if utc else ""),
                    "timeZone": windows,
                    "schedule": {"hours": hours, "minutes": minutes},
                }
            },
        }
    return bodies


def pipeline_body(sql_pool_id: str) -> dict[str, Any]:
    """The ``properties`` of the ``Pause SQL pool`` pipeline for the pool ``sql_pool_id`` (its ARM id)."""
    pool_url = (
        "@concat('https://management.azure.com', pipeline().parameters.SqlPoolId, "
        f"'?api-version={SQL_POOL_API_VERSION}')"
    )
    pause_url = (
        "@concat('https://management.azure.com', pipeline().parameters.SqlPoolId, "
        f"'/pause?api-version={SQL_POOL_API_VERSION}')"
    )
    msi = {"type": "MSI", "resource": ARM_RESOURCE}
    return {
        "description": (
            "Pauses this workspace's dedicated SQL pool when it is Online (it bills by the hour "
            "while it runs). Run by the trigger 'Pause SQL pool schedule' after class; resume the "
            "pool in Manage > SQL pools when you need it again."
        ),
        "parameters": {"SqlPoolId": {"type": "String", "defaultValue": sql_pool_id}},
        "activities": [
            {
                "name": GET_STATE_ACTIVITY,
                "type": "WebActivity",
                "dependsOn": [],
                "policy": {"timeout": "0.00:10:00", "retry": 2, "retryIntervalInSeconds": 60},
                "typeProperties": {
                    "method": "GET",
                    "url": {"value": pool_url, "type": "Expression"},
                    "authentication": msi,
                },
            },
            {
                "name": IF_ONLINE_ACTIVITY,
                "type": "IfCondition",
                "dependsOn": [
                    {"activity": GET_STATE_ACTIVITY, "dependencyConditions": ["Succeeded"]}
                ],
                "typeProperties": {
                    "expression": {
                        "value": f"@equals(activity('{GET_STATE_ACTIVITY}').output.properties.status, 'Online')",
                        "type": "Expression",
                    },
                    "ifTrueActivities": [
                        {
                            "name": PAUSE_ACTIVITY,
                            "type": "WebActivity",
                            "dependsOn": [],
                            "policy": {
                                "timeout": "0.00:10:00",
                                "retry": 2,
                                "retryIntervalInSeconds": 60,
                            },
                            "typeProperties": {
                                "method": "POST",
                                "url": {"value": pause_url, "type": "Expression"},
                                # A Web activity POST needs a body; the pause action takes none.
                                "body": "{}",
                                "authentication": msi,
                            },
                        }
                    ],
                },
            },
        ],
        "annotations": ["synapse-ml-lab cost guard"],
    }


# ----------------------------------------------------------------------------- budgets


def parse_budget(value: Any) -> tuple[Budget | None, list[str]]:
    """``lab:budget`` (JSON object) -> Budget, or the problems, each naming the key."""
    if value is None:
        return None, []
    if not isinstance(value, Mapping):
        return None, [
            "lab:budget must be an object like "
            '{"amountPerStudent": 50, "contactEmails": ["you@example.org"], "thresholds": [50, 80, 100]}'
        ]
    problems: list[str] = []
    allowed = ("amountPerStudent", "contactEmails", "thresholds")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        by_lower = {key.lower(): key for key in allowed}
        hints = [
            f"{key} -> {by_lower[close[0]]}"
            for key in unknown
            if (close := difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6))
        ]
        hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
        problems.append(
            f"lab:budget has unknown key(s) {', '.join(unknown)}{hint}; allowed: amountPerStudent, "
            "contactEmails, thresholds"
        )
    amount = value.get("amountPerStudent")
    if (
        isinstance(amount, bool)
        or not isinstance(amount, (int, float))
        or not 1 <= amount <= 100000
    ):
        problems.append(
            f"lab:budget.amountPerStudent = {amount!r} is not allowed: an amount in USD per "
            "student for the class period, from 1 to 100000"
        )
    emails = value.get("contactEmails")
    if not isinstance(emails, list) or not emails:
        problems.append(
            f"lab:budget.contactEmails = {emails!r} must be a non-empty list of e-mail addresses "
            "(who is told when spend crosses a threshold)"
        )
        emails = []
    for index, email in enumerate(emails):
        if not isinstance(email, str) or not EMAIL_RE.match(email):
            problems.append(
                f"lab:budget.contactEmails[{index}] = {email!r} is not an e-mail address"
            )
    if len(emails) > 50:
        problems.append("lab:budget.contactEmails lists more than 50 addresses (Azure's limit)")
    thresholds = value.get("thresholds", list(DEFAULT_THRESHOLDS))
    if (
        not isinstance(thresholds, list)
        or not thresholds
        or not all(isinstance(t, int) and not isinstance(t, bool) for t in thresholds)
        or not all(0 < t <= 1000 for t in thresholds)
        or len(set(thresholds)) != len(thresholds)
    ):
        problems.append(
            f"lab:budget.thresholds = {thresholds!r} must be a list of distinct whole percentages "
            "of the amount, each above 0 and at most 1000"
        )
        thresholds = list(DEFAULT_THRESHOLDS)
    elif len(thresholds) + 1 > MAX_NOTIFICATIONS:
        problems.append(
            f"lab:budget.thresholds = {thresholds!r} has {len(thresholds)} thresholds: a budget holds "
            f"at most {MAX_NOTIFICATIONS} notifications, one per threshold on actual spend plus one "
            f"on forecast spend, so at most {MAX_NOTIFICATIONS - 1} thresholds"
        )
    if problems:
        return None, problems
    return (
        Budget(float(amount), tuple(e.lower() for e in emails), tuple(sorted(thresholds))),  # type: ignore[arg-type]
        [],
    )


def budget_period(expires_on: _dt.date, today: _dt.date) -> tuple[str, str]:
    """(start, end) of the class budget: the first of this month, the day the class expires."""
    start = today.replace(day=1)
    end = max(expires_on, start + _dt.timedelta(days=1))
    return start.isoformat() + "T00:00:00Z", end.isoformat() + "T23:59:59Z"


def budget_notifications(budget: Budget) -> dict[str, dict[str, Any]]:
    """Notification key -> notification (REST shape): actual spend at each threshold, forecast at the last."""
    notes: dict[str, dict[str, Any]] = {}
    for threshold in budget.thresholds:
        notes[f"actual-{threshold}"] = {
            "enabled": True,
            "operator": "GreaterThanOrEqualTo",
            "threshold": threshold,
            "thresholdType": "Actual",
            "contactEmails": list(budget.contact_emails),
        }
    top = budget.thresholds[-1]
    notes[f"forecast-{top}"] = {
        "enabled": True,
        "operator": "GreaterThanOrEqualTo",
        "threshold": top,
        "thresholdType": "Forecasted",
        "contactEmails": list(budget.contact_emails),
    }
    return notes


# ----------------------------------------------------------------------------- as deployed


def differences(expected: Any, deployed: Any, path: str = "") -> list[str]:
    """Where ``deployed`` (a body as the service returns it) differs from ``expected`` (as
    built here), as dotted paths. Fields the service adds (``runtimeState``, ``etag``,
    defaults it fills in) are not differences: only what ``expected`` holds is compared, and
    an empty list or object expected may also be absent (a service may drop it)."""
    if isinstance(expected, Mapping):
        if not isinstance(deployed, Mapping):
            return [path or "."]
        found: list[str] = []
        for key, value in expected.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in deployed:
                if value not in ({}, []):
                    found.append(where)
                continue
            found += differences(value, deployed[key], where)
        return found
    if isinstance(expected, list):
        if not isinstance(deployed, list) or len(deployed) != len(expected):
            return [path or "."]
        found = []
        for index, (want, got) in enumerate(zip(expected, deployed, strict=True)):
            found += differences(want, got, f"{path}[{index}]")
        return found
    return [] if expected == deployed else [path or "."]
