"""What `classroom status` checks for one student, and how: the Azure SDK calls and their words.

Each student's checks run in groups (resource group, Synapse, data lake, Synapse
Studio, Azure ML, access). Every SDK call has a timeout; a missing resource, a
refusal, a timeout or a server error becomes a :class:`Finding` in words a person
can act on and ends only its group, so one failure never hides the rest of that
student, let alone the other students. :func:`check_class` checks a class with a
bounded pool of threads; :func:`wait_until_ready` re-checks who is not ready.
Nothing here changes anything in Azure: every call is a read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from classroom.planning.costs import PriceError, PriceTable, StudentCost, estimate_student
from lab import api_versions, cost_guard, studio
from lab.data import LAB_DATA_FILES
from lab.naming import DATA_CONTAINER, ML_COMPUTE_NAME
from lab.roles import CONTRIBUTOR, OWNER

from . import access

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


# ----------------------------------------------------------------------------- errors in words


def _error_code(error: Exception) -> str:
    code = getattr(error, "error_code", None) or getattr(
        getattr(error, "error", None), "code", None
    )
    if code:
        return str(code)
    response = getattr(error, "response", None)
    try:
        body = json.loads(response.text()) if response is not None else {}
        return str((body.get("error") or {}).get("code") or body.get("code") or "")
    except Exception:
        return ""


def describe_error(error: Exception, what: str, service: str, settings: CheckSettings) -> str:
    """One sentence on what went wrong reading ``what`` and what to do about it."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        text = str(error).lower()
        if "timed out" in text or "timeout" in text:
            return (
                f"{what}: no answer from {service} within {settings.timeout:g} s; "
                "check again later (`--wait`), or raise `--timeout`"
            )
        return f"{what}: could not reach {service} ({type(error).__name__}); check this machine's network"
    status = getattr(error, "status_code", None)
    code = _error_code(error)
    if isinstance(error, ClientAuthenticationError) and status in (None, 401):
        return f"{what}: not signed in to Azure ({code or 'authentication failed'}); run `az login`"
    if isinstance(error, HttpResponseError) and status == 403:
        # Synapse says ClientIpAddressNotAuthorized; Storage says AuthorizationFailure for a network rule
        # (AuthorizationPermissionMismatch for a missing role).
        if (
            "ipaddress" in code.lower()
            or "firewall" in str(error).lower()
            or code == "AuthorizationFailure"
        ):
            return (
                f"{what}: the {service} firewall refuses this machine's address ({code}); "
                "add it to lab:allowedIpRanges (or lab:deployerIpAddress) and run `pulumi up`"
            )
        need = {
            "Synapse": "a Synapse role (Synapse Administrator) on the workspace",
            "Azure Storage": "Storage Blob Data Reader (or more) on the data lake",
        }.get(service, "Reader (or more) on the student's resource group")
        return (
            f"{what}: access denied ({code or '403'}); the identity running this check needs {need}"
        )
    if isinstance(error, HttpResponseError) and status is not None and status >= 500:
        return (
            f"{what}: {service} answered with a server error ({status} {code}); "
            "check again in a few minutes (`--wait`)"
        )
    if isinstance(error, HttpResponseError) and status == 429:
        return f"{what}: {service} is throttling requests (429); check again with a lower `--concurrency`"
    if isinstance(error, HttpResponseError):
        return f"{what}: {service} refused the request ({status} {code})"
    return f"{what}: unexpected {type(error).__name__}: {error}"


def _is_not_found(error: Exception) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    return isinstance(error, ResourceNotFoundError) or getattr(error, "status_code", None) == 404


def provisioning_advice(words: str, state: str | None, env: Environment) -> str:
    """What to do about a resource whose ARM provisioning state is not Succeeded."""
    # repair refreshes the student's resources, then runs a targeted up in their section:
    # the refresh sees the Failed resource, and the up applies it again.
    if state == "Failed":
        return (
            f"{words} is Failed (its provisioning failed): {repair_command(env)}; if it stays "
            "Failed, delete it in the portal and run that again"
        )
    if state == "Deleting":
        return f"{words} is Deleting: once it is gone, {repair_command(env)}"
    return (
        f"{words} is {state or 'not provisioned'}: still being created or changed; "
        "check again in a few minutes (`--wait`)"
    )


class _Skip(Exception):
    """The rest of a check group depends on what is missing: stop that group only."""


class _Student:
    """The checks of one student: each group runs on its own, a failure ends that group only."""

    def __init__(
        self,
        env: Environment,
        credential: Any,
        endpoints: Endpoints,
        settings: CheckSettings,
        prices: PriceTable | None,
        notebooks: Sequence[str],
        sql_scripts: Sequence[str],
    ):
        self.env, self.credential, self.endpoints, self.settings = (
            env,
            credential,
            endpoints,
            settings,
        )
        self.prices, self.notebooks, self.sql_scripts = prices, notebooks, sql_scripts
        self.status = StudentStatus(env)
        self.workspace_ready = False
        self.studio_unreachable = (
            False  # the data plane refused or failed: its RBAC check would say so again
        )
        self.priced: dict[
            str, Any
        ] = {}  # what was seen, in the shape of the program's declared inputs

    # -- findings
    def warn(self, check: str, message: str) -> None:
        self.status.findings.append(Finding(check, WARNING, message))

    def problem(self, check: str, message: str) -> None:
        self.status.findings.append(Finding(check, NOT_READY, message))

    def call(
        self,
        check: str,
        what: str,
        service: str,
        fn: Callable[[], Any],
        missing: str | None = None,
        stop_if_missing: bool = True,
    ) -> Any:
        """Run one SDK call; a missing resource or any error becomes a problem and skips the group
        (a missing one returns None instead when ``stop_if_missing`` is off)."""
        try:
            return fn()
        except Exception as error:  # every failure is reported on the student's row, never raised
            if missing is not None and _is_not_found(error):
                self.problem(check, missing)
                if not stop_if_missing:
                    return None
            else:
                self.problem(check, describe_error(error, what, service, self.settings))
            raise _Skip() from error

    def note(self, check: str, message: str) -> None:
        self.status.findings.append(Finding(check, READY, message))

    def read(self, check: str, words: str, resource_id: str, missing: str | None = None) -> Any:
        """One ARM resource by id, with the api-version the program writes it with
        (lab/api_versions.py), through azure-mgmt-resource's generic `resources.get_by_id`."""
        from .readonly import ResourceManagementClient

        namespace = resource_id.split("/providers/", 1)[-1].split("/", 1)[0].lower()
        version = api_versions.BY_NAMESPACE[namespace]
        with ResourceManagementClient(
            self.credential, self.env.subscription, **self.arm_kwargs()
        ) as client:
            return self.call(
                check,
                words,
                "Azure Resource Manager",
                lambda: client.resources.get_by_id(resource_id, api_version=version),
                missing=missing or f"{words} does not exist: {repair_command(self.env)}",
            )

    def provisioned(self, check: str, words: str, resource_id: str) -> dict[str, Any]:
        """An ARM resource that must exist and have finished provisioning (else the group stops
        here). Its provisioning state is read first: a Failed or Deleting resource is a problem
        whatever else it reports. Returns the resource's `properties` (with `sku` beside them)."""
        item = self.read(check, words, resource_id)
        props = dict(getattr(item, "properties", None) or {})
        sku = getattr(item, "sku", None)
        props["_sku"] = getattr(sku, "name", None) if sku is not None else None
        current = props.get("provisioningState")
        if current != "Succeeded":
            self.problem(check, provisioning_advice(words, current, self.env))
            raise _Skip()
        return props

    def run(self) -> StudentStatus:
        started = time.monotonic()
        self.status.checked_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        if self.env.not_deployed:
            self.problem("deployment", self.env.not_deployed)
            self.status.seconds = 0.0
            return self.status
        groups = (
            self.check_resource_group,
            self.check_synapse,
            self.check_data_lake,
            self.check_studio,
            self.check_cost_guard,
            self.check_machine_learning,
            self.check_roles,
        )
        for n, group in enumerate(groups):
            if time.monotonic() - started > self.settings.student_budget:
                left = ", ".join(
                    g.__name__.removeprefix("check_").replace("_", " ") for g in groups[n:]
                )
                self.problem(
                    "check",
                    f"stopped after {self.settings.student_budget:g} s of slow or failing "
                    f"answers; not checked: {left}. Check again later (`--wait`)",
                )
                break
            try:
                group()
            except _Skip:
                pass
            except Exception as error:  # a bug or an SDK surprise: still only this group
                self.problem(
                    group.__name__.removeprefix("check_").replace("_", " "),
                    f"unexpected {type(error).__name__}: {error}",
                )
        self.estimate_cost()
        self.status.seconds = time.monotonic() - started
        return self.status

    def arm_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.endpoints.arm, **self.settings.client_kwargs()}

    # -- groups
    def check_resource_group(self) -> None:
        from .readonly import ResourceManagementClient

        env = self.env
        with ResourceManagementClient(
            self.credential, env.subscription, **self.arm_kwargs()
        ) as client:
            group = self.call(
                "resource group",
                f"resource group '{env.resource_group}'",
                "Azure Resource Manager",
                lambda: client.resource_groups.get(env.resource_group),
                missing=f"resource group '{env.resource_group}' does not exist: "
                f"{repair_command(env)}",
            )
        self.status.region = group.location
        state = getattr(group.properties, "provisioning_state", None)
        if state and state != "Succeeded":
            self.problem(
                "resource group",
                provisioning_advice(f"resource group '{env.resource_group}'", state, env),
            )
            raise _Skip()
        tag = (group.tags or {}).get(EXPIRES_TAG)
        try:
            self.status.expires_on = dt.date.fromisoformat(tag) if tag else None
        except ValueError:
            self.warn(
                "expiry",
                f"the `{EXPIRES_TAG}` tag of '{env.resource_group}' is not a date: {tag!r}",
            )
            return
        days = self.status.days_left()
        if days is None:
            self.warn(
                "expiry",
                f"resource group '{env.resource_group}' has no `{EXPIRES_TAG}` tag; "
                f"set lab:expiresOn and {up_command(env)}",
            )
        elif days < 0:
            self.problem(
                "expiry",
                f"expired on {tag}: destroy it (`python -m classroom destroy`) or move "
                f"lab:expiresOn and {up_command(env)}",
            )
        elif days <= self.settings.expiry_warning_days:
            self.warn("expiry", f"expires on {tag} ({days} day{'s' if days != 1 else ''} left)")

    def check_synapse(self) -> None:
        env = self.env
        self.provisioned(
            "Synapse workspace",
            f"Synapse workspace '{env.synapse_workspace}'",
            env.synapse_workspace_id,
        )
        self.workspace_ready = True
        for step in (self._spark_pool, self._sql_pool):
            with contextlib.suppress(_Skip):
                step()

    def _spark_pool(self) -> None:
        env = self.env
        pool = self.provisioned(
            "Spark pool",
            f"Spark pool '{env.spark_pool}'",
            f"{env.synapse_workspace_id}/bigDataPools/{env.spark_pool}",
        )
        auto = pool.get("autoScale") or {}
        self.priced["spark"] = {
            "bigDataPoolName": env.spark_pool,
            "nodeSize": pool.get("nodeSize"),
            "nodeCount": pool.get("nodeCount"),
            "autoScale": {"minNodeCount": auto.get("minNodeCount")}
            if auto.get("enabled")
            else None,
        }

    def _sql_pool(self) -> None:
        env = self.env
        if not env.sql_pool:
            return
        words = f"dedicated SQL pool '{env.sql_pool}'"
        # Provisioning state first: a Failed pool may still report Paused.
        pool = self.provisioned(
            "SQL pool", words, f"{env.synapse_workspace_id}/sqlPools/{env.sql_pool}"
        )
        sku = pool.get("_sku") or "DW100c"
        status = pool.get("status")
        self.priced["sql"] = {"sqlPoolName": env.sql_pool, "sku": {"name": sku}}
        self.status.sql_pool_status = status
        if status == "Paused":
            return
        if status == "Online":
            per_hour = self._sql_hourly(sku)
            self.status.running[SQL_POOL] = per_hour or 0.0
            cost = f", costing {per_hour:.2f} {self.prices.currency} an hour" if per_hour else ""
            self.warn(
                "SQL pool",
                f"{words} is Online{cost}: pause it until "
                f"the T-SQL part (`az synapse sql pool pause --name {env.sql_pool} "
                f"--workspace-name {env.synapse_workspace} --resource-group {env.resource_group}`"
                + (
                    f", or `python -m classroom pause --stack {env.stack} --student {env.student}`"
                    if env.stack
                    else ""
                )
                + ")",
            )
        elif status in ("Pausing", "Resuming", "Scaling"):
            self.warn("SQL pool", f"{words} is {status}; check again in a few minutes")
        else:
            self.problem(
                "SQL pool",
                f"{words} is {status}: Pulumi cannot change a pool's status: check it in the "
                "portal (the workspace > SQL pools)",
            )

    def _sql_hourly(self, sku: str) -> float | None:
        if self.prices is None or not self.status.region:
            return None
        try:
            region = self.prices.region(self.status.region)
        except PriceError:
            return None
        units = int(sku.upper().removeprefix("DW").removesuffix("C") or 100) / 100
        return units * float(region["sql_dw100c_hour"])

    def check_data_lake(self) -> None:
        from azure.storage.filedatalake import DataLakeServiceClient

        env = self.env
        self.provisioned("data", f"data lake '{env.data_lake}'", env.data_lake_id)
        url = self.endpoints.dfs.format(account=env.data_lake)
        kwargs = self.settings.client_kwargs()
        with DataLakeServiceClient(url, credential=self.credential, **kwargs) as service:
            filesystem = service.get_file_system_client(DATA_FILESYSTEM)
            paths = self.call(
                "data",
                f"data lake '{env.data_lake}'",
                "Azure Storage",
                lambda: list(filesystem.get_paths(path=DATA_DIRECTORY, recursive=False)),
                missing=f"no `{DATA_FILESYSTEM}/{DATA_DIRECTORY}/` folder in data lake '{env.data_lake}': "
                f"{repair_command(env)}",
            )
        self.priced["lake"] = True
        sizes = {
            p.name.rsplit("/", 1)[-1]: int(p.content_length or 0)
            for p in paths
            if not p.is_directory
        }
        for name in DATA_FILES:
            if name not in sizes:
                self.problem(
                    "data",
                    f"`{DATA_FILESYSTEM}/{DATA_DIRECTORY}/{name}` is missing from data lake "
                    f"'{env.data_lake}': {repair_command(env)}",
                )
            elif sizes[name] == 0:
                self.problem(
                    "data",
                    f"`{DATA_FILESYSTEM}/{DATA_DIRECTORY}/{name}` in data lake '{env.data_lake}' "
                    f"is empty: {repair_command(env)}",
                )

    def check_studio(self) -> None:
        from .readonly import ArtifactsClient

        env = self.env
        if not self.workspace_ready:
            return  # the workspace's own problem is reported already
        endpoint = self.endpoints.synapse.format(workspace=env.synapse_workspace)
        where = f"Synapse workspace '{env.synapse_workspace}'"

        def get(words: str, fn: Callable[[], Any], fix: str = repair_command(env)) -> Any:
            # A missing artifact is that artifact's problem; a refusal, timeout or server error would
            # only repeat for the next ones, so it ends the Studio check (and the Synapse RBAC one).
            return self.call(
                "Synapse Studio",
                f"{words} in {where}",
                "Synapse",
                fn,
                missing=f"{words} is missing from {where}: {fix}",
                stop_if_missing=False,
            )

        with ArtifactsClient(self.credential, endpoint, **self.settings.client_kwargs()) as client:
            try:
                linked = get(
                    f"linked service '{LINKED_SERVICE}'",
                    lambda: client.linked_service.get_linked_service(LINKED_SERVICE),
                )
                if linked is not None:
                    self._linked_service(linked.properties, where)
                for name in self.notebooks:
                    notebook = get(
                        f"notebook '{name}'",
                        lambda name=name: client.notebook.get_notebook(name),
                        repair_command(env),
                    )
                    pool = (
                        getattr(notebook.properties.big_data_pool, "reference_name", None)
                        if notebook
                        else None
                    )
                    if notebook is not None and pool != env.spark_pool:
                        self.problem(
                            "Synapse Studio",
                            f"notebook '{name}' is attached to "
                            f"{repr(pool) if pool else 'no Spark pool'}, not '{env.spark_pool}': "
                            f"{repair_command(env)}",
                        )
                for name in self.sql_scripts if env.sql_pool else ():
                    get(
                        f"SQL script '{name}'",
                        lambda name=name: client.sql_script.get_sql_script(name),
                    )
            except _Skip:
                self.studio_unreachable = True

    def check_cost_guard(self) -> None:
        from . import guard

        guard.check(self)

    def _linked_service(self, props: Any, where: str) -> None:
        target = getattr(props, "ml_workspace_name", None)
        if getattr(props, "type", "") != "AzureMLService":
            self.problem(
                "Synapse Studio",
                f"linked service '{LINKED_SERVICE}' in {where} is of type "
                f"{getattr(props, 'type', '?')}, not Azure Machine Learning: "
                f"{repair_command(self.env)}",
            )
        elif target and str(target) != self.env.aml_workspace:
            self.problem(
                "Synapse Studio",
                f"linked service '{LINKED_SERVICE}' points at Azure ML workspace "
                f"'{target}', not '{self.env.aml_workspace}': {repair_command(self.env)}",
            )

    def check_machine_learning(self) -> None:
        env = self.env
        ws = self.provisioned(
            "Azure ML", f"Azure ML workspace '{env.aml_workspace}'", env.aml_workspace_id
        )
        self.priced["ml_storage"] = bool(ws.get("storageAccount"))
        compute = self.provisioned(
            "Azure ML",
            f"compute cluster '{ML_COMPUTE}' of Azure ML workspace '{env.aml_workspace}'",
            f"{env.aml_workspace_id}/computes/{ML_COMPUTE}",
        )
        # An AmlCompute's own settings sit one level down: properties.properties.
        inner = compute.get("properties") or {}
        scale = inner.get("scaleSettings") or {}
        vm_size = inner.get("vmSize")
        self.priced["compute"] = {
            "computeName": ML_COMPUTE,
            "properties": {
                "properties": {
                    "vmSize": vm_size,
                    "scaleSettings": {
                        "maxNodeCount": scale.get("maxNodeCount", 0),
                        "minNodeCount": scale.get("minNodeCount", 0),
                    },
                }
            },
        }
        nodes = int(inner.get("currentNodeCount") or 0)
        self.status.compute_nodes = nodes
        if nodes:
            per_node = self._vm_hourly(vm_size)
            self.status.running[AUTOML] = nodes * (per_node or 0.0)
            cost = f" ({nodes * per_node:.2f} {self.prices.currency} an hour)" if per_node else ""
            self.warn(
                "Azure ML",
                f"compute cluster '{ML_COMPUTE}' has {nodes} node{'s' if nodes != 1 else ''} "
                f"running{cost}; it scales back to 0 once no job runs: cancel leftover jobs in Azure ML studio",
            )

    def _vm_hourly(self, vm_size: str | None) -> float | None:
        if self.prices is None or not self.status.region or not vm_size:
            return None
        try:
            return float(self.prices.region(self.status.region)["vm_hour"][vm_size])
        except (PriceError, KeyError):
            return None

    def check_roles(self) -> None:
        """Each access of access.NEEDS, as Azure decides it: through groups, inherited, or stronger."""
        env = self.env
        if not env.object_id:
            self.warn(
                "access",
                f"no objectId for student '{env.student}' in the roster: the student cannot sign "
                f"in to this environment (add it to lab:students and {up_command(env)})",
            )
            return
        groups: set[str] = set()
        for need in access.NEEDS:
            if need.plane != access.ARM or not need.applies(env):
                continue
            try:
                found = self._arm_assignments(need.scope(env))
            except _Skip:
                continue
            # The groups through which the student holds roles (for Synapse RBAC, which cannot expand them).
            groups |= {a.principal for a in found if a.principal.lower() != env.object_id.lower()}
            self._verdict(access.judge(need, env, env.object_id, found, fix=repair_command(env)))
        if env.principal_type != "Group":
            with contextlib.suppress(_Skip):
                self._too_much_inside()
        if self.workspace_ready and not self.studio_unreachable:
            for need in access.NEEDS:
                if need.plane == access.SYNAPSE:
                    with contextlib.suppress(_Skip):
                        found = self._synapse_assignments(need)
                        self._verdict(
                            access.judge(
                                need, env, env.object_id, found, sorted(groups), repair_command(env)
                            )
                        )

    def _too_much_inside(self) -> None:
        """Contributor or Owner on a resource inside the student's group (a pool, the workspace):
        the needs above list only what applies at or above their scopes, so a role granted by
        hand on one resource would go unseen. ``principalId eq`` lists the student's own
        assignments at, above and below the group (see tests/fakes/azure.py for the source)."""
        from .readonly import AuthorizationManagementClient

        env = self.env
        group = env.resource_group_id.lower()
        with AuthorizationManagementClient(
            self.credential, env.subscription, **self.arm_kwargs()
        ) as client:
            found = self.call(
                "access",
                f"role assignments inside {env.resource_group}",
                "Azure Resource Manager",
                lambda: list(
                    client.role_assignments.list_for_scope(
                        env.resource_group_id, filter=f"principalId eq '{env.object_id}'"
                    )
                ),
            )
        for a in (access.Assignment.from_arm(item) for item in found):
            if a.role in (CONTRIBUTOR, OWNER) and a.scope.lower().startswith(group + "/"):
                name = access.role_name(a.role)
                self.warn(
                    "access",
                    f"the student is {name} on '{a.scope}': more access than the lab needs (that "
                    "role can scale pools and change or create resources there); remove it with "
                    f"`az role assignment delete --assignee {env.object_id} --role {name} "
                    f"--scope {a.scope}`",
                )

    def _verdict(self, verdict: access.Verdict) -> None:
        {READY: self.note, WARNING: self.warn, NOT_READY: self.problem}[verdict.severity](
            "access", verdict.sentence
        )

    def _arm_assignments(self, scope: str) -> list[access.Assignment]:
        """The assignments at or above ``scope`` that apply to the student, its groups' included.

        A student who is a group (principalType Group) is listed with atScope() alone and kept by
        id: assignedTo() accepts no group's id, and atScope() cannot be combined with principalId eq
        (see tests/fakes/azure.py for the sources)."""
        from .readonly import AuthorizationManagementClient

        env = self.env
        oid = str(env.object_id)
        group = env.principal_type == "Group"
        query = "atScope()" if group else f"atScope() and assignedTo('{oid}')"
        with AuthorizationManagementClient(
            self.credential, env.subscription, **self.arm_kwargs()
        ) as client:
            found = self.call(
                "access",
                f"role assignments on {scope.rsplit('/', 1)[-1]}",
                "Azure Resource Manager",
                lambda: list(client.role_assignments.list_for_scope(scope, filter=query)),
            )
        result = [access.Assignment.from_arm(a) for a in found]
        return [a for a in result if not group or a.principal.lower() == oid.lower()]

    def _synapse_assignments(self, need: access.Need) -> list[access.Assignment]:
        from azure.synapse.accesscontrol import AccessControlClient

        env = self.env
        endpoint = self.endpoints.synapse.format(workspace=env.synapse_workspace)
        client = AccessControlClient(self.credential, endpoint, **self.settings.client_kwargs())
        try:
            found = []
            for role in need.roles_for(
                env
            ):  # no principal filter: an assignment to a group counts too
                page = self.call(
                    "access",
                    f"Synapse role assignments of workspace '{env.synapse_workspace}'",
                    "Synapse",
                    lambda role=role: client.role_assignments.list_role_assignments(
                        role_id=role, scope=need.scope(env)
                    ),
                )
                found += [
                    access.Assignment.from_synapse(a, env.synapse_workspace)
                    for a in (page.value or [])
                ]
        finally:
            client.close()
        return found

    # -- cost of what was seen
    def estimate_cost(self) -> None:
        if self.prices is None or not self.status.region:
            return
        declared = []
        for key, kind in (
            ("spark", "synapse:BigDataPool"),
            ("sql", "synapse:SqlPool"),
            ("compute", "machinelearningservices:Compute"),
        ):
            if key in self.priced:
                declared.append(_Seen(f"azure-native:{kind}", self.priced[key]))
        lakes = int(bool(self.priced.get("lake"))) + int(bool(self.priced.get("ml_storage")))
        declared += [_Seen("azure-native:storage:StorageAccount", {})] * lakes
        try:
            self.status.cost = estimate_student(declared, self.prices, self.status.region)
        except PriceError as error:
            self.warn("cost", str(error))


@dataclass(frozen=True)
class _Seen:
    """A resource as found in Azure, in the shape of the program's declared inputs (for costs.py)."""

    type: str
    inputs: Mapping[str, Any]


# ----------------------------------------------------------------------------- the class


def check_student(
    env: Environment,
    *,
    credential: Any,
    endpoints: Endpoints = Endpoints(),
    settings: CheckSettings = CheckSettings(),
    prices: PriceTable | None = None,
    notebooks: Sequence[str] | None = None,
    sql_scripts: Sequence[str] | None = None,
) -> StudentStatus:
    return _Student(
        env,
        credential,
        endpoints,
        settings,
        prices,
        lab_notebooks() if notebooks is None else notebooks,
        lab_sql_scripts() if sql_scripts is None else sql_scripts,
    ).run()


def check_class(
    envs: Sequence[Environment],
    *,
    credential: Any,
    endpoints: Endpoints = Endpoints(),
    settings: CheckSettings = CheckSettings(),
    prices: PriceTable | None = None,
    notebooks: Sequence[str] | None = None,
    sql_scripts: Sequence[str] | None = None,
    progress: Callable[[StudentStatus], None] | None = None,
) -> list[StudentStatus]:
    """Every student, at most ``settings.concurrency`` at once, in roster order."""
    notebooks = lab_notebooks() if notebooks is None else tuple(notebooks)
    sql_scripts = lab_sql_scripts() if sql_scripts is None else tuple(sql_scripts)

    def one(env: Environment) -> StudentStatus:
        try:
            status = check_student(
                env,
                credential=credential,
                endpoints=endpoints,
                settings=settings,
                prices=prices,
                notebooks=notebooks,
                sql_scripts=sql_scripts,
            )
        except Exception as error:  # never lose the others to one student
            status = StudentStatus(
                env, [Finding("check", NOT_READY, f"the check itself failed: {error}")]
            )
        if progress is not None:
            progress(status)
        return status

    if not envs:
        return []
    with ThreadPoolExecutor(
        max_workers=max(1, min(settings.concurrency, len(envs))), thread_name_prefix="status"
    ) as pool:
        return list(pool.map(one, envs))


def wait_until_ready(
    envs: Sequence[Environment],
    check: Callable[[Sequence[Environment]], list[StudentStatus]],
    deadline_seconds: float,
    interval: float,
    on_round: Callable[[int, list[StudentStatus]], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.monotonic,
) -> list[StudentStatus]:
    """Check, then re-check only the students not ready, until all are or the deadline passes."""
    end = now() + deadline_seconds
    results: dict[str, StudentStatus] = {}
    pending = list(envs)
    round_no = 0
    while True:
        round_no += 1
        for status in check(pending):
            results[status.env.student] = status
        ordered = [results[e.student] for e in envs]
        if on_round is not None:
            on_round(round_no, ordered)
        pending = [e for e in envs if not results[e.student].ready]
        if not pending or now() + interval > end:
            return ordered
        sleep(interval)
