"""Typed, validated settings for the lab, read from Pulumi config in one place.

``LabSettings.from_config()`` reads every key of the ``lab`` namespace (and
``azure-native:location``) and checks them all before the program declares any
resource. Every problem found is reported together in one ``ConfigError`` whose
lines each name the key, the value and what is allowed, so ``pulumi preview``
stops at once with nothing created.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import pulumi
from pulumi.runtime import config as config_runtime

from . import cost_guard
from .cost_guard import Budget
from .data import lab_data_problems
from .naming import PREFIX_RE, STUDENT_ID_RE, normalise_student_id
from .placement import PlacementError, Subscription, place

NAMESPACE = "lab"

# Azure Synapse Spark runtimes. Only versions Azure still creates pools for are
# accepted; retired ones are named with the date their support ended, so the
# mistake shows at preview instead of as a failed deployment minutes in.
SUPPORTED_SPARK_VERSIONS = ("3.5",)
RETIRED_SPARK_VERSIONS = {
    "2.4": "end of support 2023-09-29; Azure stopped creating 2.4 pools in August 2024",
    "3.0": "preview runtime, never generally available",
    "3.1": "end of support 2023-01-26",
    "3.2": "end of support 2023-07-08",
    "3.3": "end of support 2025-03-31",
    "3.4": "end of support 2026-03-31",
}

DEFAULT_SQL_ADMIN_LOGIN = "SQLUser"
DEFAULT_PREFIX = "dp000"
DEFAULT_COURSE = "mslearn-synapse-ml"
DEFAULT_AML_VM_SIZE = "Standard_DS3_v2"
# Students per section stack when `python -m classroom` runs a class in sections
# (classroom/sections.py): the state the engine rewrites per step grows with the
# square of a stack's size, see bench/README.md part 3.
DEFAULT_SECTION_SIZE = 25
MAX_SECTION_SIZE = 1000
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal")

# Public Azure regions (ARM names). Used to catch typos only: a name close to
# one of these but not in the list is refused with a suggestion; a name unlike
# any of them (a region newer than this list) is let through to Azure.
KNOWN_REGIONS = frozenset(
    [
        "eastus",
        "eastus2",
        "southcentralus",
        "westus",
        "westus2",
        "westus3",
        "centralus",
        "northcentralus",
        "westcentralus",
        "canadacentral",
        "canadaeast",
        "brazilsouth",
        "brazilsoutheast",
        "mexicocentral",
        "chilecentral",
        "northeurope",
        "westeurope",
        "uksouth",
        "ukwest",
        "francecentral",
        "francesouth",
        "germanywestcentral",
        "germanynorth",
        "switzerlandnorth",
        "switzerlandwest",
        "norwayeast",
        "norwaywest",
        "swedencentral",
        "swedensouth",
        "polandcentral",
        "italynorth",
        "spaincentral",
        "austriaeast",
        "belgiumcentral",
        "australiaeast",
        "australiasoutheast",
        "australiacentral",
        "australiacentral2",
        "newzealandnorth",
        "southeastasia",
        "eastasia",
        "japaneast",
        "japanwest",
        "koreacentral",
        "koreasouth",
        "centralindia",
        "southindia",
        "westindia",
        "jioindiawest",
        "jioindiacentral",
        "indonesiacentral",
        "malaysiawest",
        "uaenorth",
        "uaecentral",
        "qatarcentral",
        "israelcentral",
        "southafricanorth",
        "southafricawest",
    ]
)
GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
VM_SIZE_RE = re.compile(r"^Standard_[A-Za-z0-9_]+$")
LOCATION_RE = re.compile(r"^[a-z][a-z0-9]+$")
COURSE_RE = re.compile(r"^[A-Za-z0-9 ._:/-]{1,100}$")
# Logins SQL rejects for the admin (documented reserved names).
RESERVED_SQL_LOGINS = {
    "admin",
    "administrator",
    "sa",
    "root",
    "dbmanager",
    "loginmanager",
    "dbo",
    "guest",
    "public",
    "sys",
    "information_schema",
    "azure_superuser",
    "db_owner",
}
SQL_LOGIN_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")


def is_valid_student_id(value: object) -> TypeGuard[str]:
    """The rule for a student id (lab:students[].id): 1-20 of [a-z0-9-], no '-' at either end.

    Ids also name files (`classroom handout --text`): whatever the source, check them with this
    before they do."""
    return (
        isinstance(value, str)
        and STUDENT_ID_RE.fullmatch(value) is not None
        and not value.startswith("-")
        and not value.endswith("-")
    )


class ConfigError(Exception):
    """One or more config values are wrong; the message lists each of them."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"the stack's lab configuration has a problem: {problems[0]}")
            return
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the stack's lab configuration has {len(problems)} problems:\n{lines}")


@dataclass(frozen=True)
class Student:
    id: str
    object_id: str | None = None
    principal_type: str = "User"
    # Pinned subscription (lab:students[].subscription), else placed automatically.
    subscription: str | None = None


@dataclass(frozen=True)
class LabSettings:
    students: tuple[Student, ...]
    location: str
    expires_on: _dt.date
    spark_version: str = "3.5"
    sql_admin_login: str = DEFAULT_SQL_ADMIN_LOGIN
    # lab:sqlAdminPassword as configured, or None. No longer used: every workspace is
    # Microsoft Entra-only (no SQL login works); warnings() says to unset it.
    sql_admin_password: str | None = field(default=None, compare=False, repr=False)
    # lab:instructors: the Entra object id of the workspaces' Entra admin (one
    # principal: a group's object id for several instructors); empty: the deployer.
    instructors: tuple[str, ...] = ()
    dedicated_sql_pool: bool = True
    resource_group_prefix: str = DEFAULT_PREFIX
    course: str = DEFAULT_COURSE
    allowed_ip_ranges: tuple[tuple[str, str], ...] = ()
    deployer_ip_address: str | None = None
    deployer_principal_type: str = "User"
    aml_compute_vm_size: str = DEFAULT_AML_VM_SIZE
    data_dir: Path | None = None
    subscriptions: tuple[Subscription, ...] = ()
    # Student id -> subscription id when lab:subscriptions is set.
    placement: Mapping[str, str] = field(default_factory=dict)
    section_size: int = DEFAULT_SECTION_SIZE
    # The cost guard (lab/cost_guard.py): when the SQL pools pause themselves, in
    # which IANA time zone, and the budget on each student's resource group.
    pause_sql_pool_at: tuple[tuple[int, int], ...] = ((23, 0),)
    time_zone: str = "UTC"
    budget: Budget | None = None

    @property
    def pause_schedule_on(self) -> bool:
        """A dedicated SQL pool and at least one time to pause it."""
        return self.dedicated_sql_pool and bool(self.pause_sql_pool_at)

    @property
    def firewall_open_to_all(self) -> bool:
        return not self.allowed_ip_ranges

    def expired(self, today: _dt.date | None = None) -> bool:
        return self.expires_on < (today or _dt.date.today())

    def warnings(self, today: _dt.date | None = None) -> list[str]:
        """What preview should point out although the config is valid."""
        found = []
        if self.firewall_open_to_all:
            found.append(
                "lab:allowedIpRanges is not set: every Synapse workspace firewall allows all addresses "
                "(0.0.0.0-255.255.255.255), as the original lab does. Set lab:allowedIpRanges to your "
                "class's address ranges to restrict it."
            )
        if self.expired(today):
            ids = ", ".join(s.id for s in self.students)
            whose = (
                "environment of 1 student is"
                if len(self.students) == 1
                else (f"environments of {len(self.students)} students are")
            )
            found.append(
                f"lab:expiresOn ({self.expires_on.isoformat()}) has passed: the {whose} "
                f"expired: {ids}. Run `pulumi destroy` to stop their costs, or move "
                "lab:expiresOn if the class goes on."
            )
        if self.sql_admin_password is not None:
            found.append(
                "lab:sqlAdminPassword is set but no longer used: every workspace accepts Microsoft "
                "Entra sign-in only (no SQL password). Unset it: `pulumi config rm "
                "lab:sqlAdminPassword`."
            )
        if self.dedicated_sql_pool and not self.pause_sql_pool_at:
            found.append(
                "lab:pauseSqlPoolAt is []: no workspace pauses its dedicated SQL pool by itself, so "
                "a pool a student forgets bills all night (DW100c, about 36 USD a day). Set "
                'lab:pauseSqlPoolAt (e.g. ["23:00"]) unless you pause the pools yourself '
                "(`python -m classroom pause`)."
            )
        if len(self.students) > self.section_size:
            found.append(
                f"lab:students lists {len(self.students)} students, more than lab:sectionSize "
                f"({self.section_size}) in one stack: the engine rewrites the whole state at every "
                "resource step, so a stack this size writes gigabytes per `pulumi up`. Run the class "
                "in sections: `python -m classroom up --stack <class>` (README, Running a class)."
            )
        return found

    @classmethod
    def from_config(cls, stack_name: str | None = None) -> LabSettings:
        cfg = pulumi.Config(NAMESPACE)
        location = pulumi.Config("azure-native").get("location")
        raw = {key: cfg.get(key) for key in _CONFIG_KEYS}
        # The engine hands config to the program through the runtime's config map
        # (or PULUMI_CONFIG in older hosts): every lab: key set on the stack is there.
        all_keys = set(config_runtime.CONFIG.get()) | set(config_runtime.get_config_env())
        present = [k.split(":", 1)[1] for k in all_keys if k.startswith(f"{NAMESPACE}:")]
        unknown = sorted(set(present) - set(_CONFIG_KEYS))
        password_in_plain_text = raw.get(
            "sqlAdminPassword"
        ) is not None and not config_runtime.is_config_secret(f"{NAMESPACE}:sqlAdminPassword")
        return parse(
            raw,
            location=location,
            stack_name=stack_name or pulumi.get_stack(),
            unknown_keys=unknown,
            password_in_plain_text=password_in_plain_text,
        )


_CONFIG_KEYS = (
    "students",
    "sqlAdminPassword",
    "sparkVersion",
    "sqlAdminLogin",
    "dedicatedSqlPool",
    "resourceGroupPrefix",
    "course",
    "expiresOn",
    "allowedIpRanges",
    "deployerIpAddress",
    "deployerPrincipalType",
    "amlComputeVmSize",
    "dataDir",
    "subscriptions",
    "sectionSize",
    "pauseSqlPoolAt",
    "timeZone",
    "budget",
    "instructors",
)


def nearest(word: str, known: Sequence[str]) -> str | None:
    """The known word ``word`` is most likely a typo of (any case), or None."""
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def unknown_setting(key: str) -> str:
    """lab:<key> is not ours: the nearest known setting, and all of them sorted."""
    close = nearest(key, _CONFIG_KEYS)
    hint = f": did you mean lab:{close}?" if close else " (a typo?)."
    known = ", ".join(sorted(_CONFIG_KEYS, key=str.lower))
    return f"lab:{key} is not a setting of this project{hint} Known settings: {known}"


def _json_value(key: str, text: str | None, problems: list[str]) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        problems.append(f"lab:{key} = {text!r} is not valid JSON (a list or object is expected)")
        return None


def _students(value: Any, stack_name: str, problems: list[str]) -> tuple[Student, ...]:
    if value is None:
        return (Student(id=normalise_student_id(stack_name)),)
    if not isinstance(value, list) or not value:
        problems.append(
            f"lab:students = {json.dumps(value)} must be a non-empty list of objects like "
            '{"id": "alice", "objectId": "<Entra ID object id>"}'
        )
        return ()
    students: list[Student] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"lab:students[{index}]"
        if isinstance(item, str):
            item = {"id": item}
        if not isinstance(item, dict):
            problems.append(f"{where} = {json.dumps(item)} must be an object with an 'id'")
            continue
        allowed = ("id", "objectId", "principalType", "subscription")
        unknown = sorted(set(item) - set(allowed))
        if unknown:
            hints = [
                f"{key} -> {nearest(key, allowed)}" for key in unknown if nearest(key, allowed)
            ]
            hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
            problems.append(
                f"{where} has unknown key(s) {', '.join(unknown)}{hint}; allowed: id, objectId, "
                "principalType, subscription"
            )
        sid = item.get("id")
        if not is_valid_student_id(sid):
            problems.append(
                f"{where}.id = {json.dumps(sid)} is not allowed: 1-20 characters of lowercase "
                "letters, digits and '-', not starting or ending with '-'"
            )
            continue
        if sid in seen:
            problems.append(f'{where}.id = "{sid}" is a duplicate: student ids must be unique')
            continue
        seen.add(sid)
        object_id = item.get("objectId")
        if object_id is not None and (
            not isinstance(object_id, str) or not GUID_RE.fullmatch(object_id)
        ):
            problems.append(
                f"{where}.objectId = {json.dumps(object_id)} is not a GUID "
                "(the student's Entra ID object id, e.g. 00000000-0000-0000-0000-000000000000)"
            )
            continue
        principal_type = item.get("principalType", "User")
        if principal_type not in ("User", "Group"):
            problems.append(
                f"{where}.principalType = {json.dumps(principal_type)} is not allowed: User or Group"
            )
            continue
        pin = item.get("subscription")
        if pin is not None and (not isinstance(pin, str) or not GUID_RE.fullmatch(pin)):
            problems.append(
                f"{where}.subscription = {json.dumps(pin)} is not a subscription id (GUID)"
            )
            continue
        students.append(
            Student(
                sid,
                object_id.lower() if object_id else None,
                principal_type,
                pin.lower() if pin else None,
            )
        )
    return tuple(students)


def _subscriptions(value: Any, problems: list[str]) -> tuple[Subscription, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        problems.append(
            f"lab:subscriptions = {json.dumps(value)} must be a non-empty list of objects like "
            '{"id": "<subscription GUID>", "capacity": 20}'
        )
        return ()
    subscriptions: list[Subscription] = []
    for index, item in enumerate(value):
        where = f"lab:subscriptions[{index}]"
        if not isinstance(item, dict) or set(item) - {"id", "capacity"}:
            problems.append(
                f"{where} = {json.dumps(item)} must be an object with only 'id' and 'capacity'"
            )
            continue
        sub_id, capacity = item.get("id"), item.get("capacity")
        if not isinstance(sub_id, str) or not GUID_RE.fullmatch(sub_id):
            problems.append(f"{where}.id = {json.dumps(sub_id)} is not a subscription id (GUID)")
            continue
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= 1000:
            problems.append(
                f"{where}.capacity = {json.dumps(capacity)} is not allowed: a whole number of student "
                "environments from 1 to 1000 (each is one Synapse workspace and a 12-vCore Spark pool)"
            )
            continue
        if any(s.id == sub_id.lower() for s in subscriptions):
            problems.append(f'{where}.id = "{sub_id}" is a duplicate')
            continue
        subscriptions.append(Subscription(sub_id.lower(), capacity))
    return tuple(subscriptions)


def section_size(value: str | None, problems: list[str]) -> int:
    """lab:sectionSize: the most students one section stack holds (classroom/sections.py)."""
    if value is None:
        return DEFAULT_SECTION_SIZE
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_SECTION_SIZE:
        problems.append(
            f"lab:sectionSize = {value!r} is not allowed: a whole number of students per section "
            f"stack from 1 to {MAX_SECTION_SIZE} (default {DEFAULT_SECTION_SIZE})"
        )
        return DEFAULT_SECTION_SIZE
    return int(text)


def _spark_version(value: str | None, problems: list[str]) -> str:
    version = (value or "3.5").strip()
    if version in SUPPORTED_SPARK_VERSIONS:
        return version
    supported = ", ".join(SUPPORTED_SPARK_VERSIONS)
    if version in RETIRED_SPARK_VERSIONS:
        problems.append(
            f'lab:sparkVersion = "{version}" is retired in Azure Synapse '
            f"({RETIRED_SPARK_VERSIONS[version]}): pools of that version can no longer be "
            f"created or run. Supported: {supported}. The lab was written for 2.4; its "
            "notebooks here run on 3.5."
        )
    else:
        problems.append(
            f'lab:sparkVersion = "{version}" is not an Azure Synapse Spark runtime. Supported: {supported}'
        )
    return version


def _bool(key: str, value: str | None, default: bool, problems: list[str]) -> bool:
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    problems.append(f"lab:{key} = {value!r} is not a boolean: true or false")
    return default


def _ip_ranges(value: Any, problems: list[str]) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        problems.append(
            f"lab:allowedIpRanges = {json.dumps(value)} must be a non-empty list of "
            '"a.b.c.d" or "a.b.c.d-e.f.g.h" strings (leave it unset to allow every address)'
        )
        return ()
    ranges: list[tuple[str, str]] = []
    for index, item in enumerate(value):
        where = f"lab:allowedIpRanges[{index}] = {json.dumps(item)}"
        if not isinstance(item, str):
            problems.append(f'{where} must be a string "a.b.c.d" or "a.b.c.d-e.f.g.h"')
            continue
        parts = [p.strip() for p in item.split("-")]
        if len(parts) > 2:
            problems.append(f'{where} is not "a.b.c.d" or "a.b.c.d-e.f.g.h"')
            continue
        try:
            addresses = [ipaddress.IPv4Address(p) for p in parts]
        except ValueError:
            problems.append(f'{where} is not "a.b.c.d" or "a.b.c.d-e.f.g.h" with IPv4 addresses')
            continue
        start, end = addresses[0], addresses[-1]
        if start > end:
            problems.append(f"{where}: the range starts after it ends")
            continue
        ranges.append((str(start), str(end)))
    return tuple(ranges)


def _ip_address(key: str, value: str | None, problems: list[str]) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        problems.append(f"lab:{key} = {value!r} is not an IPv4 address a.b.c.d")
        return None


def _date(value: str | None, problems: list[str]) -> _dt.date:
    if value is None:
        problems.append(
            "lab:expiresOn is not set: give the date (YYYY-MM-DD) after which this class's "
            "environments should be destroyed; it is tagged on every resource"
        )
        return _dt.date.min
    try:
        return _dt.date.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"lab:expiresOn = {value!r} is not an ISO date YYYY-MM-DD")
        return _dt.date.min


def password_problems(password: str, login: str) -> list[str]:
    """Azure SQL's password policy, so a weak password fails at preview, not at deploy."""
    problems = []
    if not 8 <= len(password) <= 128:
        problems.append("it must be 8-128 characters long")
    classes = sum(
        bool(re.search(pattern, password))
        for pattern in (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    if classes < 3:
        problems.append(
            "it must contain characters of at least three of: uppercase letters, "
            "lowercase letters, digits, symbols"
        )
    if login and login.lower() in password.lower():
        problems.append("it must not contain the login name")
    return problems


def parse(
    raw: dict[str, str | None],
    *,
    location: str | None,
    stack_name: str,
    unknown_keys: Sequence[str] = (),
    password_in_plain_text: bool = False,
) -> LabSettings:
    """Validate raw config strings; raise ConfigError listing every problem."""
    problems: list[str] = [unknown_setting(key) for key in unknown_keys]
    students = _students(
        _json_value("students", raw.get("students"), problems), stack_name, problems
    )
    _check_location(location, problems)
    spark_version = _spark_version(raw.get("sparkVersion"), problems)
    login = _checked(
        raw,
        "sqlAdminLogin",
        DEFAULT_SQL_ADMIN_LOGIN,
        problems,
        lambda v: bool(SQL_LOGIN_RE.fullmatch(v)) and v.lower() not in RESERVED_SQL_LOGINS,
        "is not allowed: 1-128 letters, digits or '_', starting with a letter, and not a reserved "
        "name like admin, sa or root",
    )
    dedicated = _bool("dedicatedSqlPool", raw.get("dedicatedSqlPool"), True, problems)
    prefix = _checked(
        raw,
        "resourceGroupPrefix",
        DEFAULT_PREFIX,
        problems,
        lambda v: bool(PREFIX_RE.fullmatch(v)) and not v.endswith("-"),
        "is not allowed: 1-30 characters of lowercase letters, digits and '-', starting with a "
        "letter and not ending with '-'",
    )
    course = _checked(
        raw,
        "course",
        DEFAULT_COURSE,
        problems,
        lambda v: bool(COURSE_RE.fullmatch(v)),
        "is not allowed as a tag value: 1-100 characters of letters, digits, spaces and . _ : / -",
    )
    expires_on = _date(raw.get("expiresOn"), problems)
    ip_ranges = _ip_ranges(
        _json_value("allowedIpRanges", raw.get("allowedIpRanges"), problems), problems
    )
    deployer_ip = _ip_address("deployerIpAddress", raw.get("deployerIpAddress"), problems)
    deployer_type = _checked(
        raw,
        "deployerPrincipalType",
        "User",
        problems,
        lambda v: v in PRINCIPAL_TYPES,
        f"is not allowed: {', '.join(PRINCIPAL_TYPES)}",
    )
    vm_size = _checked(
        raw,
        "amlComputeVmSize",
        DEFAULT_AML_VM_SIZE,
        problems,
        lambda v: bool(VM_SIZE_RE.fullmatch(v)),
        f"is not an Azure VM size like {DEFAULT_AML_VM_SIZE}",
    )
    data_dir = _data_dir(raw.get("dataDir"), problems)
    password = _password(raw.get("sqlAdminPassword"), login, password_in_plain_text, problems)
    subscriptions = _subscriptions(
        _json_value("subscriptions", raw.get("subscriptions"), problems), problems
    )
    sections_of = section_size(raw.get("sectionSize"), problems)
    pause_at, time_zone, budget = _cost_guard(raw, location, problems)
    instructors = _instructors(
        _json_value("instructors", raw.get("instructors"), problems), problems
    )
    placement = _placement(students, subscriptions, problems)
    if problems:
        raise ConfigError(problems)

    return LabSettings(
        students=students,
        location=location or "",
        expires_on=expires_on,
        spark_version=spark_version,
        sql_admin_login=login,
        sql_admin_password=password,
        dedicated_sql_pool=dedicated,
        resource_group_prefix=prefix,
        course=course,
        allowed_ip_ranges=ip_ranges,
        deployer_ip_address=deployer_ip,
        deployer_principal_type=deployer_type,
        aml_compute_vm_size=vm_size,
        data_dir=data_dir,
        subscriptions=subscriptions,
        placement=placement,
        section_size=sections_of,
        pause_sql_pool_at=pause_at,
        time_zone=time_zone,
        budget=budget,
        instructors=instructors,
    )


def _cost_guard(
    raw: Mapping[str, str | None], location: str | None, problems: list[str]
) -> tuple[tuple[tuple[int, int], ...], str, Budget | None]:
    """lab:pauseSqlPoolAt, lab:timeZone and lab:budget (rules in lab/cost_guard.py)."""
    times: tuple[tuple[int, int], ...] = ((23, 0),)
    text = raw.get("pauseSqlPoolAt")
    if text is not None:
        before = len(problems)
        value = _json_value("pauseSqlPoolAt", text, problems)
        if len(problems) == before:
            times, problem = cost_guard.parse_times(value)
            if problem:
                problems.append(f"lab:pauseSqlPoolAt = {text.strip()} {problem}")
    time_zone = (raw.get("timeZone") or "").strip() or cost_guard.default_time_zone(location)
    problem = cost_guard.time_zone_problem(time_zone)
    if problem:
        problems.append(f"lab:timeZone = {time_zone!r} {problem}")
    budget, budget_problems = cost_guard.parse_budget(
        _json_value("budget", raw.get("budget"), problems)
    )
    problems.extend(budget_problems)
    return times, time_zone, budget


def _checked(
    raw: Mapping[str, str | None],
    key: str,
    default: str,
    problems: list[str],
    valid: Callable[[str], bool],
    complaint: str,
) -> str:
    """``lab:<key>`` (or its default), stripped; a problem ``lab:<key> = '<value>' <complaint>`` when not valid."""
    value = (raw.get(key) or default).strip()
    if not valid(value):
        problems.append(f"lab:{key} = {value!r} {complaint}")
    return value


def _check_location(location: str | None, problems: list[str]) -> None:
    if not location:
        problems.append(
            "azure-native:location is not set: choose the Azure region, e.g. "
            "`pulumi config set azure-native:location westeurope`"
        )
    elif not LOCATION_RE.fullmatch(location):
        problems.append(
            f"azure-native:location = {location!r} is not an Azure region name "
            "(lowercase, no spaces, e.g. westeurope, eastus2)"
        )
    elif location not in KNOWN_REGIONS:
        close = difflib.get_close_matches(location, sorted(KNOWN_REGIONS), n=1, cutoff=0.85)
        if close:
            problems.append(
                f"azure-native:location = {location!r} is not an Azure region: did you mean {close[0]!r}?"
            )


def _data_dir(value: str | None, problems: list[str]) -> Path | None:
    if not value:
        return None
    data_dir = Path(value).expanduser()
    wrong = lab_data_problems(data_dir)
    if wrong:
        problems.append(
            f"lab:dataDir = {value!r} does not hold the lab's data: "
            f"{'; '.join(wrong)} (unset it to upload the lab's public copies)"
        )
    return data_dir


def _password(
    password: str | None, login: str, in_plain_text: bool, problems: list[str]
) -> str | None:
    if in_plain_text:
        problems.append(
            "lab:sqlAdminPassword is stored in plain text in the stack config: set it with "
            "`pulumi config set --secret lab:sqlAdminPassword` (or unset it to get a generated one)"
        )
    if password is not None:
        weak = password_problems(password, login)
        if weak:
            problems.append("lab:sqlAdminPassword (secret) is too weak: " + "; ".join(weak))
    return password


def _instructors(value: Any, problems: list[str]) -> tuple[str, ...]:
    """lab:instructors: Entra object ids (GUIDs); the workspace's Entra admin is one of them.

    Azure gives a Synapse workspace one Microsoft Entra admin, a single principal
    (https://learn.microsoft.com/azure/synapse-analytics/sql/active-directory-authentication#administrator-structure):
    several instructors are one Entra group, whose object id is given here.
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(
            f"lab:instructors = {json.dumps(value)} is not a list of Entra object ids "
            '(e.g. ["<group or user object id>"])'
        )
        return ()
    bad = [v for v in value if not isinstance(v, str) or not GUID_RE.fullmatch(v)]
    for item in bad:
        problems.append(
            f"lab:instructors: {json.dumps(item)} is not an Entra object id (a GUID like "
            "00000000-0000-0000-0000-000000000000)"
        )
    if not bad and len(value) > 1:
        problems.append(
            f"lab:instructors lists {len(value)} ids, but a workspace has one Microsoft Entra "
            "admin: put the instructors in an Entra group and give its object id"
        )
    return tuple(v.lower() for v in value) if not bad else ()


def _placement(
    students: Sequence[Student], subscriptions: Sequence[Subscription], problems: list[str]
) -> dict[str, str]:
    """Student id -> subscription id, when lab:subscriptions is set and nothing else is wrong."""
    pinned = {st.id: st.subscription for st in students if st.subscription}
    if subscriptions and not problems:
        try:
            return place([st.id for st in students], subscriptions, pinned)
        except PlacementError as exc:
            problems.append(f"lab:subscriptions: {exc}")
    elif pinned and not subscriptions:
        problems.append(
            "lab:students pins " + ", ".join(sorted(pinned)) + " to a subscription, but "
            "lab:subscriptions is not set"
        )
    return {}
