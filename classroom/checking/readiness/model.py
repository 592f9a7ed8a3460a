"""What the readiness check reads and reports: a student's environment as the stack describes it,
the settings of the check, and its findings and verdict per student (with their cost categories)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from classroom.planning.costs import StudentCost
from lab import cost_guard, studio
from lab.data import LAB_DATA_FILES
from lab.naming import DATA_CONTAINER, ML_COMPUTE_NAME

# What the program deploys for every student (the names its notebooks and docs use).
DATA_FILESYSTEM = DATA_CONTAINER
DATA_DIRECTORY = "data"
DATA_FILES = LAB_DATA_FILES
LINKED_SERVICE = "AzureML"
ML_COMPUTE = ML_COMPUTE_NAME
EXPIRES_TAG = "expires-on"


OUTPUT_KEYS = {
    "subscription": "subscription",
    "resourceGroup": "resource_group",
    "synapseWorkspace": "synapse_workspace",
    "synapseStudioUrl": "synapse_studio_url",
    "sparkPool": "spark_pool",
    "sqlPool": "sql_pool",
    "dataLake": "data_lake",
    "amlWorkspace": "aml_workspace",
    "amlStudioUrl": "aml_studio_url",
    "logAnalyticsWorkspaceId": "log_analytics_workspace_id",
}
# Outputs a stack deployed by an older version of the program may lack: what reads them says so
# per student (the SQL pool is optional anyway).
OPTIONAL_OUTPUT_KEYS = ("sqlPool", "logAnalyticsWorkspaceId")

ARM_SCOPE = "https://management.azure.com/.default"

READY, WARNING, NOT_READY = "ready", "warning", "not ready"


def class_of(stack: str) -> str:
    """The class a student's stack belongs to: section k >= 2 of class ``c`` is ``c-s<k>``."""
    head, sep, tail = stack.rpartition("-s")
    return head if sep and head and tail.isdigit() and int(tail) >= 2 else stack or "<class>"


def repair_command(env: Environment) -> str:
    """What puts back what a deployed environment lost (refresh, then a targeted up)."""
    return (
        f"run `python -m classroom repair --stack {class_of(env.stack)} --student {env.student}` "
        "(refresh, then up: it puts back what is missing)"
    )


def up_command(env: Environment) -> str:
    """What deploys what was never deployed, or a change of the class's config."""
    return f"run `python -m classroom up --stack {class_of(env.stack)} --student {env.student}`"


def lab_notebooks() -> tuple[str, ...]:
    """The notebooks the program uploads: one per .ipynb in notebooks/, named after the file."""
    return tuple(studio.lab_notebooks())


def lab_sql_scripts() -> tuple[str, ...]:
    """The SQL scripts the program uploads when a student has a dedicated SQL pool, in upload order."""
    return studio.SQL_SCRIPT_NAMES


# ----------------------------------------------------------------------------- what to check


@dataclass(frozen=True)
class Environment:
    """One student's environment as the stack's `environments` output describes it."""

    student: str
    subscription: str
    resource_group: str
    synapse_workspace: str
    synapse_studio_url: str
    spark_pool: str
    data_lake: str
    aml_workspace: str
    aml_studio_url: str
    sql_pool: str | None = None
    # The Log Analytics workspace's id (GUID); None in a stack deployed before it was exported.
    log_analytics_workspace_id: str | None = None
    object_id: str | None = None
    principal_type: str = "User"
    stack: str = ""
    expires_on: str | None = None  # lab:expiresOn as configured (the check reads the real tag)
    course: str = ""  # lab:course
    # When the cost guard pauses the SQL pool each day, in words ("23:00 Europe/Amsterdam"),
    # from lab:pauseSqlPoolAt and lab:timeZone; empty when there is no schedule.
    pause_at: str = ""
    # The cost guard's settings as configured (guard.py compares what is deployed with them):
    # lab:pauseSqlPoolAt (None: not readable) and lab:timeZone ("": the region's zone).
    pause_times: tuple[str, ...] | None = cost_guard.DEFAULT_PAUSE_TIMES
    time_zone: str = ""
    not_deployed: str | None = None  # why the stack describes no environment for this student (yet)

    @classmethod
    def undeployed(cls, student: str, reason: str, **extra: Any) -> Environment:
        """A student of the roster whose stack could not be read: reported, never checked."""
        return cls(
            student=student,
            subscription="",
            resource_group="",
            synapse_workspace="",
            synapse_studio_url="",
            spark_pool="",
            data_lake="",
            aml_workspace="",
            aml_studio_url="",
            not_deployed=reason,
            **extra,
        )

    @classmethod
    def from_output(cls, student: str, value: Mapping[str, Any], **extra: Any) -> Environment:
        missing = [k for k in OUTPUT_KEYS if k not in OPTIONAL_OUTPUT_KEYS and not value.get(k)]
        if missing:
            raise StatusError(
                f"the `environments` output of student '{student}' lacks {', '.join(missing)}: "
                "run `pulumi up` with this version of the program"
            )
        fields = {attr: value.get(key) or None for key, attr in OUTPUT_KEYS.items()}
        return cls(student=student, **fields, **extra)

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"

    @property
    def data_lake_id(self) -> str:
        return (
            f"{self.resource_group_id}/providers/Microsoft.Storage/storageAccounts/{self.data_lake}"
        )

    @property
    def synapse_workspace_id(self) -> str:
        return (
            f"{self.resource_group_id}/providers/Microsoft.Synapse/workspaces/"
            f"{self.synapse_workspace}"
        )

    @property
    def aml_workspace_id(self) -> str:
        return (
            f"{self.resource_group_id}/providers/Microsoft.MachineLearningServices/workspaces/"
            f"{self.aml_workspace}"
        )

    @property
    def portal_url(self) -> str:
        if not self.resource_group:
            return ""
        return f"https://portal.azure.com/#@/resource{self.resource_group_id}/overview"


@dataclass(frozen=True)
class Endpoints:
    """Where the services live; tests point them at a fake on 127.0.0.1."""

    arm: str = "https://management.azure.com"
    synapse: str = "https://{workspace}.dev.azuresynapse.net"
    dfs: str = "https://{account}.dfs.core.windows.net"


@dataclass(frozen=True)
class CheckSettings:
    timeout: float = 30.0  # seconds to connect and to wait for each answer
    retries: int = 2  # azure-core's own retries (429 with Retry-After, 5xx, dropped connections)
    backoff: float = 0.8  # seconds, doubled at each retry
    concurrency: int = 8  # students checked at once
    expiry_warning_days: int = 2  # an expiry this close is worth a warning
    # Time one student may take: when Azure hangs for everyone, the class still finishes.
    student_budget: float = 180.0

    def client_kwargs(self) -> dict[str, Any]:
        return azure_core_kwargs(self.retries, self.backoff, self.timeout)


def azure_core_kwargs(retries: int, backoff: float, timeout: float) -> dict[str, Any]:
    """An azure-core client's retries (429 with Retry-After, 5xx, dropped connections) and
    timeouts, for the read-only checks (status, preflight)."""
    return {
        "retry_total": retries,
        "retry_backoff_factor": backoff,
        "connection_timeout": timeout,
        "read_timeout": timeout,
    }


@dataclass
class Finding:
    check: str  # what was checked, e.g. "Spark pool"
    severity: str  # READY | WARNING | NOT_READY
    message: str  # in words a person can act on

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "severity": self.severity, "message": self.message}


@dataclass
class StudentStatus:
    env: Environment
    findings: list[Finding] = field(default_factory=list)
    region: str | None = None
    expires_on: dt.date | None = None
    sql_pool_status: str | None = None
    compute_nodes: int | None = None
    cost: StudentCost | None = None
    # What runs right now beyond idle, per hour, by cost category (an Online SQL pool, busy nodes).
    running: dict[str, float] = field(default_factory=dict)
    checked_at: str = ""
    seconds: float = 0.0
    guard: dict[str, Any] | None = None  # the cost guard as deployed (guard.py)

    @property
    def running_per_hour(self) -> float:
        return sum(self.running.values())

    @property
    def problems(self) -> list[str]:
        return [f.message for f in self.findings if f.severity == NOT_READY]

    @property
    def warnings(self) -> list[str]:
        return [f.message for f in self.findings if f.severity == WARNING]

    @property
    def notes(self) -> list[str]:
        """What was found fine and how (e.g. which role assignment gives an access)."""
        return [f.message for f in self.findings if f.severity == READY]

    @property
    def ready(self) -> bool:
        return not self.problems

    @property
    def state(self) -> str:
        return NOT_READY if self.problems else WARNING if self.warnings else READY

    def days_left(self, today: dt.date | None = None) -> int | None:
        if self.expires_on is None:
            return None
        return (self.expires_on - (today or dt.date.today())).days

    def as_dict(self, today: dt.date | None = None) -> dict[str, Any]:
        e = self.env
        return {
            "student": e.student,
            "stack": e.stack,
            "state": self.state,
            "ready": self.ready,
            "problems": self.problems,
            "warnings": self.warnings,
            "notes": self.notes,
            "findings": [f.as_dict() for f in self.findings],
            "subscription": e.subscription,
            "resourceGroup": e.resource_group,
            "region": self.region,
            "expiresOn": self.expires_on.isoformat() if self.expires_on else None,
            "daysLeft": self.days_left(today),
            "sqlPoolStatus": self.sql_pool_status,
            "computeNodes": self.compute_nodes,
            "links": {
                "synapseStudio": e.synapse_studio_url,
                "amlStudio": e.aml_studio_url,
                "portal": e.portal_url,
            },
            "synapseWorkspace": e.synapse_workspace,
            "sparkPool": e.spark_pool,
            "sqlPool": e.sql_pool,
            "dataLake": e.data_lake,
            "amlWorkspace": e.aml_workspace,
            "cost": None
            if self.cost is None
            else {
                "idlePerDay": round(self.cost.daily_idle, 4),
                "inUsePerHour": round(self.cost.hourly, 4),
                "runningNowPerHour": round(self.running_per_hour, 4),
                "inUse": cost_by_category(self.cost.in_use_per_hour),
                "idle": cost_by_category(self.cost.idle_per_day),
                "runningNow": {k: round(v, 4) for k, v in self.running.items()},
            },
            "checkedAt": self.checked_at,
            "seconds": round(self.seconds, 2),
            "costGuard": self.guard,
        }


# Cost categories, from the items of costs.py (the class page charts them).
SPARK_POOL, SQL_POOL, SQL_STORAGE, AUTOML, STORAGE, LOGS = (
    "Spark pool",
    "SQL pool",
    "SQL pool storage",
    "AutoML compute",
    "storage",
    "Log Analytics",
)


def cost_category(item: str) -> str:
    """The category of one of costs.py's cost lines, by how it begins."""
    for prefix, category in (
        ("Spark pool", SPARK_POOL),
        ("dedicated SQL pool storage", SQL_STORAGE),
        ("dedicated SQL pool", SQL_POOL),
        ("AutoML compute", AUTOML),
        ("Log Analytics", LOGS),
    ):
        if item.startswith(prefix):
            return category
    return STORAGE if "storage account" in item else item


def cost_by_category(lines: Iterable[Any]) -> dict[str, float]:
    result: dict[str, float] = {}
    for line in lines:
        key = cost_category(line.item)
        result[key] = round(result.get(key, 0.0) + line.amount, 4)
    return result


class StatusError(Exception):
    """The stack or its outputs cannot be read: nothing to check."""
