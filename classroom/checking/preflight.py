"""Before the first class in a new subscription: will `pulumi up` get through? (read-only)

    python -m classroom preflight --stack <class> [--subscription ID] [--json]

For each subscription the class uses (lab:subscriptions, or the signed-in default)
and the class's region, with the Azure SDKs and the same sign-in as `status`:

- resource provider namespaces registered, or "`up` will register them" when the
  identity may (``<ns>/register/action``);
- every resource type the program declares offered in the region (the providers'
  ``resourceTypes[].locations``);
- Azure ML dedicated vCPUs of the cluster's VM family (Usages and Virtual Machine
  Sizes APIs) against students x max nodes x vCPUs, and the regional total;
- Synapse workspaces per subscription and Spark vCores per workspace against the
  documented defaults of the subscription's offer (its ``quotaId``), and dedicated
  SQL pools (DW100c) in the region (Microsoft.Sql Capabilities API, as the lab's
  setup.ps1 does with Get-AzSqlCapability);
- the identity's rights at subscription scope: create resource groups and role
  assignments, purge deleted Key Vaults (Microsoft.Authorization permissions).

What it cannot know it says so. Nothing is changed in Azure: every call is a read.
Exit code 0 when nothing stops `pulumi up` (warnings do not), 1 when something
does, 2 when the class config cannot be read or there is no Azure login.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classroom import signin
from classroom.arguments import guid
from classroom.planning.costs import SPARK_NODE_VCORES
from classroom.stackfile import PROJECT_DIR, config_errors
from components.machine_learning import COMPUTE_MAX_NODES
from components.synapse import SPARK_MAX_NODES, SPARK_NODE_SIZE, SQL_POOL_SKU
from lab.azure_namespaces import ALWAYS_REGISTERED, REQUIRED_NAMESPACES, RESOURCE_TYPES
from lab.config import GUID_RE, LabSettings
from lab.naming import LabNames

from .checks import ARM_SCOPE, NOT_READY, READY, WARNING, Finding, azure_core_kwargs

# api-versions of the calls made through the SDK pipeline (cited in tests/fakes/arm.py).
SUBSCRIPTION_API = "2022-12-01"
PERMISSIONS_API = "2022-04-01"
ML_API = "2024-04-01"
SQL_CAPABILITIES_API = "2021-11-01"
SYNAPSE_API = "2021-06-01"

# Azure Synapse limits (Azure docs, includes/synapse-analytics-limits.md): for these offers
# a subscription holds 2 workspaces in all and a workspace 12 Memory Optimized Spark cores;
# other offers 20 workspaces per region and 50 cores per workspace, raised by support.
SMALL_SYNAPSE_OFFERS = ("payasyougo", "freetrial", "azurepass", "azureforstudents")
QUOTA_LINK = "https://portal.azure.com/#view/Microsoft_Azure_Capacity/QuotaMenuBlade/~/myQuotas"
SUPPORT_LINK = (
    "https://portal.azure.com/#view/Microsoft_Azure_Support/HelpAndSupportBlade/~/overview"
)
# Global names: namespace -> (api-version, resource type, the answer's availability key, path).
NAME_CHECKS = (
    (
        "data lake",
        "data_lake",
        "Microsoft.Storage",
        "2023-05-01",
        "storageAccounts",
        "nameAvailable",
    ),
    (
        "Azure ML storage",
        "ml_storage",
        "Microsoft.Storage",
        "2023-05-01",
        "storageAccounts",
        "nameAvailable",
    ),
    ("Key Vault", "key_vault", "Microsoft.KeyVault", "2023-07-01", "vaults", "nameAvailable"),
    (
        "Synapse workspace",
        "synapse_workspace",
        "Microsoft.Synapse",
        "2021-06-01",
        "workspaces",
        "available",
    ),
)
# Rights `pulumi up` and `pulumi destroy` need at subscription scope, and why.
RIGHTS = (
    (
        "Microsoft.Resources/subscriptions/resourceGroups/write",
        "create the students' resource groups",
    ),
    ("Microsoft.Authorization/roleAssignments/write", "create the lab's role assignments"),
    (
        "Microsoft.Authorization/roleDefinitions/write",
        "create the lab's custom role (SQL pool operator)",
    ),
    (
        "Microsoft.KeyVault/locations/deletedVaults/purge/action",
        "purge the Key Vaults at `pulumi destroy`",
    ),
)


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass(frozen=True)
class Endpoints:
    arm: str = "https://management.azure.com"


@dataclass(frozen=True)
class PreflightSettings:
    timeout: float = 30.0
    retries: int = 2  # azure-core's retries of 429 (with Retry-After), 5xx, dropped connections
    backoff: float = 0.8

    def client_kwargs(self) -> dict[str, Any]:
        return azure_core_kwargs(self.retries, self.backoff, self.timeout)


@dataclass
class SubscriptionReport:
    subscription: str
    students: int
    findings: list[Finding] = field(default_factory=list)

    def add(self, check: str, severity: str, message: str) -> None:
        self.findings.append(Finding(check, severity, message))

    @property
    def state(self) -> str:
        severities = {f.severity for f in self.findings}
        return NOT_READY if NOT_READY in severities else WARNING if WARNING in severities else READY

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscription": self.subscription,
            "students": self.students,
            "state": self.state,
            "findings": [f.as_dict() for f in self.findings],
        }


class _Unreadable(Exception):
    """One call failed: its sentence is already a finding; the check that needed it stops."""


class _SubscriptionAccess:
    """What a subscription lets the deployer do: its offer, the identity's rights, the resource
    providers' registrations and regions, read through one ResourceManagementClient pipeline."""

    def __init__(
        self,
        client: Any,
        reader: Any,
        report: SubscriptionReport,
        settings: LabSettings,
        region: str,
    ) -> None:
        self.client, self.reader = client, reader
        self.report, self.settings, self.region = report, settings, region
        self.sub = report.subscription
        self.allowed: Callable[[str], bool | None] = lambda _action: None
        self.unregistered: set[str] = set()
        self.offer = ""  # the subscription's quotaId, once read

    # -- calls
    def get(self, what: str, path: str, api_version: str) -> dict[str, Any]:
        """GET through the read-only pipeline (azure-core's retries); every next page followed."""
        from azure.core.rest import HttpRequest

        items: list[Any] = []
        url: str | None = self.reader.format_url(f"{path}?api-version={api_version}")
        body: dict[str, Any] = {}
        while url:
            try:
                response = self.reader.send_request(HttpRequest("GET", url))
                response.raise_for_status()
                body = response.json()
            except Exception as error:
                # Unreadable until the namespace is registered: `pulumi up` does that first.
                unregistered = _code(error) == "MissingSubscriptionRegistration"
                self.report.add(
                    what, WARNING if unregistered else NOT_READY, _describe(error, what, self.sub)
                )
                raise _Unreadable() from error
            if not isinstance(body, dict):
                body = {}
            if "value" not in body:
                return body
            items += body.get("value") or []
            url = body.get("nextLink")
        return {"value": items}

    # -- checks
    def offer_and_rights(self) -> None:
        subscription = self.get("subscription", f"/subscriptions/{self.sub}", SUBSCRIPTION_API)
        self.offer = str((subscription.get("subscriptionPolicies") or {}).get("quotaId") or "")
        entries = self.get(
            "rights",
            f"/subscriptions/{self.sub}/providers/Microsoft.Authorization/permissions",
            PERMISSIONS_API,
        )["value"]

        def allowed(action: str) -> bool:
            return any(
                any(_matches(p, action) for p in e.get("actions") or [])
                and not any(_matches(p, action) for p in e.get("notActions") or [])
                for e in entries
                if isinstance(e, Mapping)
            )

        self.allowed = allowed
        missing = [(action, why) for action, why in RIGHTS if not allowed(action)]
        for action, why in missing:
            self.report.add(
                "rights",
                NOT_READY,
                f"the signed-in identity may not {why} ({action}) in subscription {self.sub}: "
                "give it Owner, or Contributor and User Access Administrator, on the subscription "
                f"(`az role assignment create --assignee <id> --role Owner --scope /subscriptions/{self.sub}`)",
            )
        if not missing:
            self.report.add(
                "rights", READY, "may create resource groups and role assignments, purge Key Vaults"
            )

    def namespaces(self) -> None:
        from azure.core.exceptions import HttpResponseError

        wanted = list(REQUIRED_NAMESPACES) + sorted(ALWAYS_REGISTERED)
        unregistered: list[str] = []
        for namespace in wanted:
            try:
                provider = self.client.providers.get(namespace)
            except HttpResponseError as error:
                self.report.add(
                    "namespaces",
                    NOT_READY,
                    _describe(error, f"resource provider {namespace}", self.sub),
                )
                continue
            state = provider.registration_state or "unknown"
            if namespace in REQUIRED_NAMESPACES and state != "Registered":
                unregistered.append(namespace)
            self._region_check(namespace, provider.resource_types or [])
        self.unregistered = set(unregistered)
        if not unregistered:
            self.report.add(
                "namespaces", READY, f"{len(REQUIRED_NAMESPACES)} namespaces registered"
            )
            return
        may = [ns for ns in unregistered if self.allowed(f"{ns}/register/action")]
        unknown = [ns for ns in unregistered if self.allowed(f"{ns}/register/action") is None]
        may_not = [ns for ns in unregistered if ns not in may and ns not in unknown]
        if unknown:
            self.report.add(
                "namespaces",
                WARNING,
                f"not registered yet: {', '.join(unknown)}; the identity's rights could not be read, "
                "so whether `pulumi up` may register them is not known",
            )
        if may:
            self.report.add(
                "namespaces",
                WARNING,
                f"not registered yet: {', '.join(may)}; `pulumi up` will register them (the identity may)",
            )
        if may_not:
            self.report.add(
                "namespaces",
                NOT_READY,
                f"not registered, and the signed-in identity may not register them: {', '.join(may_not)}. "
                "A subscription Owner or Contributor runs "
                + "; ".join(
                    f"`az provider register --namespace {ns} --subscription {self.sub}`"
                    for ns in may_not
                ),
            )

    def _region_check(self, namespace: str, resource_types: Sequence[Any]) -> None:
        locations = {
            str(t.resource_type).lower(): {_key(loc) for loc in (t.locations or [])}
            for t in resource_types
        }
        needed = sorted({rtype for ns, rtype in RESOURCE_TYPES.values() if ns == namespace})
        region = _key(self.region)
        for rtype in needed:
            where = locations.get(rtype.lower())
            if where is None:
                self.report.add(
                    "region",
                    WARNING,
                    f"{namespace}/{rtype}: not listed by the resource provider; cannot tell whether "
                    f"{self.region} offers it",
                )
            elif where and region not in where:
                self.report.add(
                    "region",
                    NOT_READY,
                    f"{namespace}/{rtype} is not offered in {self.region} for this subscription: "
                    "choose another azure-native:location (e.g. one the lab's setup uses: westeurope, "
                    "northeurope, uksouth, eastus2, ...)",
                )


class _Subscription(_SubscriptionAccess):
    """The checks of one subscription: its access (above), then the services' quotas and the
    names the program will take."""

    def run(self) -> None:
        for step in (self.offer_and_rights, self.namespaces, self.machine_learning, self.synapse):
            with contextlib.suppress(_Unreadable):
                step()

    def machine_learning(self) -> None:
        size_name = self.settings.aml_compute_vm_size
        base = f"/subscriptions/{self.sub}/providers/Microsoft.MachineLearningServices/locations/{self.region}"
        sizes = self.get("Azure ML quota", f"{base}/vmSizes", ML_API)["value"]
        size = next((s for s in sizes if str(s.get("name", "")).lower() == size_name.lower()), None)
        if size is None:
            self.report.add(
                "Azure ML quota",
                NOT_READY,
                f"VM size {size_name} is not offered to Azure ML compute in {self.region} for this "
                "subscription: choose another lab:amlComputeVmSize or region",
            )
            return
        family, vcpus = str(size.get("family") or ""), int(size.get("vCPUs") or 0)
        students = self.report.students
        need = students * COMPUTE_MAX_NODES * vcpus
        usages = self.get("Azure ML quota", f"{base}/usages", ML_API)["value"]

        def usage(match: Callable[[str], bool]) -> tuple[int, int] | None:
            for u in usages:
                name = _key(str((u.get("name") or {}).get("value") or ""))
                if match(name) and "lowpriority" not in name:
                    return int(u.get("currentValue") or 0), int(u.get("limit") or 0)
            return None

        how = (
            f"{students} student(s) x {COMPUTE_MAX_NODES} nodes x {vcpus} vCPUs of {size_name} "
            f"= {need} dedicated vCPUs"
        )
        raise_it = (
            f"request more in the Azure portal > Quotas > Azure Machine Learning ({QUOTA_LINK}), "
            f"region {self.region}, or spread the class over subscriptions (lab:subscriptions)"
        )
        short = False
        for label, found in (
            (f"{family} vCPUs", usage(lambda n: n.startswith(_key(family)))),
            ("regional dedicated vCPUs", usage(lambda n: n.startswith("totalclusterdedicated"))),
        ):
            if found is None:
                self.report.add(
                    "Azure ML quota",
                    WARNING,
                    f"Azure ML reports no {label} quota in {self.region}; cannot compare with {how}",
                )
                continue
            current, limit = found
            free = limit - current
            if free < need:
                short = True
                self.report.add(
                    "Azure ML quota",
                    NOT_READY,
                    f"{label}: short by {need - free} ({how}; limit {limit}, in use {current}): "
                    f"jobs would wait in the queue during class; {raise_it}",
                )
        if not short:
            self.report.add("Azure ML quota", READY, f"{how} fit the {family} and regional quotas")

    def synapse(self) -> None:
        students = self.report.students
        small = _key(self.offer).startswith(SMALL_SYNAPSE_OFFERS)
        offer = self.offer or "unknown offer"
        # Workspaces: the offer's documented default; the real limit may have been raised.
        listed: list[Any] | None = []  # a subscription not registered with Synapse has no workspace
        if "Microsoft.Synapse" not in self.unregistered:
            try:
                listed = self.get(
                    "Synapse",
                    f"/subscriptions/{self.sub}/providers/Microsoft.Synapse/workspaces",
                    SYNAPSE_API,
                )["value"]
            except _Unreadable:
                listed = None
        if listed is not None:
            if small:
                existing, limit, scope = len(listed), 2, "in the subscription"
            else:
                region = _key(self.region)
                existing = sum(1 for w in listed if _key(str(w.get("location", ""))) == region)
                limit, scope = 20, f"in {self.region}"
            if existing + students > limit:
                self.report.add(
                    "Synapse",
                    NOT_READY,
                    f"{students} Synapse workspace(s) {scope} on top of {existing} existing would pass the "
                    f"default limit of {limit} for this offer ({offer}): spread the class over "
                    f"subscriptions (lab:subscriptions) or ask support to raise it ({SUPPORT_LINK})",
                )
            else:
                self.report.add(
                    "Synapse",
                    READY,
                    f"{existing} + {students} workspace(s) {scope} within the default limit of {limit} ({offer})",
                )
        per_workspace = SPARK_NODE_VCORES.get(SPARK_NODE_SIZE, 0) * SPARK_MAX_NODES
        default = 12 if small else 50
        if per_workspace > default:
            self.report.add(
                "Synapse",
                WARNING,
                f"each Spark pool scales to {per_workspace} vCores, above the default {default} Spark "
                f"vCores per workspace of this offer ({offer}): sessions start but cannot scale out. "
                "The per-workspace quota cannot be read before the workspace exists; ask support for "
                f"'Apache Spark (vCore) per workspace' ({SUPPORT_LINK})",
            )
        if self.settings.dedicated_sql_pool:
            self._sql_pool()

    def names(self, suffixes: Mapping[str, tuple[str, str]]) -> None:
        """Global names of the suffixes already drawn (student -> (suffix, its URN)): free, or ours."""
        from azure.core.rest import HttpRequest

        taken = []
        for student, (suffix, urn) in sorted(suffixes.items()):
            names = LabNames(self.settings.resource_group_prefix, suffix)
            for what, attribute, namespace, version, rtype, key in NAME_CHECKS:
                name = getattr(names, attribute)
                request = HttpRequest(
                    "POST",
                    self.reader.format_url(
                        f"/subscriptions/{self.sub}/providers/{namespace}/checkNameAvailability"
                        f"?api-version={version}"
                    ),
                    json={"name": name, "type": f"{namespace}/{rtype}"},
                )
                try:
                    response = self.reader.send_request(request)
                    response.raise_for_status()
                    available = bool(response.json().get(key))
                except Exception as error:
                    severity = (
                        WARNING if _code(error) == "MissingSubscriptionRegistration" else NOT_READY
                    )
                    self.report.add(
                        "names", severity, _describe(error, f"{what} name '{name}'", self.sub)
                    )
                    continue
                if available:
                    continue
                own = (
                    f"/subscriptions/{self.sub}/resourceGroups/{names.resource_group}/providers/"
                    f"{namespace}/{rtype}/{name}"
                )
                try:
                    mine = self.reader.send_request(
                        HttpRequest("GET", self.reader.format_url(f"{own}?api-version={version}"))
                    )
                except Exception as error:
                    self.report.add(
                        "names", NOT_READY, _describe(error, f"{what} '{name}'", self.sub)
                    )
                    continue
                if mine.status_code == 200:
                    continue  # the student's own, from an earlier `up`
                taken.append(f"{what} '{name}' of student {student}")
                self.report.add(
                    "names",
                    NOT_READY,
                    f"the {what} name '{name}' (student {student}) is taken outside this class: draw "
                    f"the student a new suffix with `pulumi up --replace '{urn}' --target-dependents` "
                    "(their environment is created under new names)",
                )
        if not taken and suffixes:
            self.report.add(
                "names",
                READY,
                f"the global names of {len(suffixes)} student(s) with a drawn suffix are free or theirs",
            )

    def _sql_pool(self) -> None:
        body = self.get(
            "dedicated SQL pool",
            f"/subscriptions/{self.sub}/providers/Microsoft.Sql/locations/{self.region}/capabilities",
            SQL_CAPABILITIES_API,
        )
        status = None
        for version in body.get("supportedServerVersions") or []:
            for edition in version.get("supportedEditions") or []:
                if str(edition.get("name", "")).lower() != "datawarehouse":
                    continue
                for slo in edition.get("supportedServiceLevelObjectives") or []:
                    if str(slo.get("name", "")).lower() == SQL_POOL_SKU.lower():
                        status = str(slo.get("status") or "")
        if status in ("Available", "Default", "Visible"):
            self.report.add(
                "dedicated SQL pool", READY, f"{SQL_POOL_SKU} is {status} in {self.region}"
            )
        else:
            self.report.add(
                "dedicated SQL pool",
                NOT_READY,
                f"dedicated SQL pools ({SQL_POOL_SKU}) are {status or 'not offered'} in {self.region} for "
                "this subscription: choose another azure-native:location, or set "
                "lab:dedicatedSqlPool false (the lab's T-SQL part is then skipped)",
            )


def _matches(pattern: str, action: str) -> bool:
    """An ARM action pattern (``*`` wildcards, no case) against an action."""
    regex = "^" + ".*".join(re.escape(p) for p in str(pattern).split("*")) + "$"
    return re.match(regex, action, re.I) is not None


def _code(error: BaseException) -> str:
    """ARM's error code of a failed call ("" when there is none)."""
    from azure.core.exceptions import HttpResponseError

    if not isinstance(error, HttpResponseError):
        return ""
    code = str(getattr(getattr(error, "error", None), "code", "") or "")
    if not code and error.response is not None:
        try:
            code = str((error.response.json().get("error") or {}).get("code") or "")
        except Exception:
            code = ""
    return code


def _describe(error: BaseException, what: str, subscription: str) -> str:
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return f"{what}: no answer from Azure Resource Manager ({type(error).__name__}); check the network and run again"
    status = getattr(error, "status_code", None)
    code = _code(error)
    if status == 429:
        return (
            f"{what}: Azure Resource Manager kept throttling (429); run preflight again in a minute"
        )
    if status == 403:
        return (
            f"{what}: access denied ({code or 403}); the signed-in identity needs at least Reader on "
            f"subscription {subscription}"
        )
    if status == 404 and code == "SubscriptionNotFound":
        return f"{what}: subscription {subscription} not found for the signed-in identity (`az account list`)"
    if code == "MissingSubscriptionRegistration":
        namespace = re.search(r"namespace '([^']+)'", str(error))
        ns = namespace.group(1) if namespace else "<namespace>"
        return (
            f"{what}: cannot be read until the subscription is registered with {ns}; `pulumi up` "
            f"registers it first, or run `az provider register --namespace {ns} --subscription "
            f"{subscription}` and then preflight again to see this figure"
        )
    if status is not None and status >= 500:
        return f"{what}: Azure Resource Manager failed ({status} {code}); run preflight again later"
    return f"{what}: {type(error).__name__} {status or ''} {code}".rstrip()


# ----------------------------------------------------------------------------- the class


def default_subscription(explicit: str | None, config: Mapping[str, Any]) -> str | None:
    """The subscription of students not placed by lab:subscriptions, as azure-native finds it.

    Checked to be a GUID here, before any sign-in or call: a ValueError names where it came from.
    """
    for where, value in (
        ("--subscription", explicit),
        ("azure-native:subscriptionId", config.get("azure-native:subscriptionId")),
        ("ARM_SUBSCRIPTION_ID", os.environ.get("ARM_SUBSCRIPTION_ID")),
        ("AZURE_SUBSCRIPTION_ID", os.environ.get("AZURE_SUBSCRIPTION_ID")),
    ):
        if value:
            if not GUID_RE.fullmatch(str(value).strip()):
                raise ValueError(
                    f"{where} = {str(value)!r} is not a subscription id "
                    "(a GUID like 00000000-0000-0000-0000-000000000000)"
                )
            return str(value).strip().lower()
    return None


SUFFIX_TYPE = "random:index/randomString:RandomString"


def suffixes_from_state(
    paths: Sequence[Path], students: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """student -> (suffix, URN) from `pulumi stack export` files (the `<student>-suffix` resources)."""
    wanted = set(students)
    found: dict[str, tuple[str, str]] = {}
    for path in paths:
        try:
            state = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot read the state {path}: {error}") from error
        for resource in (state.get("deployment") or {}).get("resources") or []:
            urn = str(resource.get("urn") or "")
            name = urn.rsplit("::", 1)[-1]
            result = (resource.get("outputs") or {}).get("result")
            if (
                resource.get("type") == SUFFIX_TYPE
                and name.endswith("-suffix")
                and isinstance(result, str)
            ):
                student = name.removesuffix("-suffix")
                if student in wanted:
                    found[student] = (result, urn)
    return found


def students_per_subscription(settings: LabSettings, default: str | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for student in settings.students:
        sub = settings.placement.get(student.id) or default
        if sub is None:
            raise ValueError(
                "the class uses the default subscription: pass --subscription ID (or set "
                "azure-native:subscriptionId, ARM_SUBSCRIPTION_ID or AZURE_SUBSCRIPTION_ID)"
            )
        counts[sub] = counts.get(sub, 0) + 1
    return dict(sorted(counts.items()))


def reader_client(credential: Any, base_url: str, options: PreflightSettings) -> Any:
    """An azure-core pipeline for the reads, without azure-mgmt-core's auto-registration.

    The management SDKs' ARMPipelineClient adds ARMAutoResourceProviderRegistrationPolicy
    (azure-mgmt-core, policies/_base.py): on MissingSubscriptionRegistration it POSTs
    ``providers/<ns>/register`` and retries. A preflight must change nothing, so the
    location-level reads (which an unregistered namespace refuses) go through this one.
    Only ``providers.get`` uses the SDK client: it is answered whatever the registration.
    Both refuse to send anything but reads (readonly.py).
    """
    from azure.core import PipelineClient
    from azure.core.pipeline import policies

    from .readonly import read_only

    kwargs = options.client_kwargs()
    return read_only(
        PipelineClient(
            base_url=base_url,
            policies=[
                policies.RequestIdPolicy(),
                policies.HeadersPolicy(),
                policies.UserAgentPolicy(sdk_moniker="synapse-ml-lab-preflight"),
                policies.RetryPolicy(**kwargs),
                policies.BearerTokenCredentialPolicy(credential, ARM_SCOPE),
                policies.NetworkTraceLoggingPolicy(),
            ],
            **kwargs,
        )
    )


def preflight(
    settings: LabSettings,
    subscriptions: Mapping[str, int],
    credential: Any,
    endpoints: Endpoints = Endpoints(),
    options: PreflightSettings = PreflightSettings(),
    progress: Callable[[str], None] = lambda _text: None,
    suffixes: Mapping[str, tuple[str, str]] | None = None,
    placement: Mapping[str, str] | None = None,
) -> list[SubscriptionReport]:
    """Check each subscription; ``suffixes`` (student -> (suffix, URN)) from a state, when one exists,
    and ``placement`` (student -> subscription) say whose global names to look at where."""
    from .readonly import ResourceManagementClient

    reports = []
    region = settings.location.replace(" ", "").lower()
    for sub, students in subscriptions.items():
        progress(f"checking subscription {sub} ({students} student(s)) in {region}")
        report = SubscriptionReport(sub, students)
        with (
            ResourceManagementClient(
                credential, sub, base_url=endpoints.arm, **options.client_kwargs()
            ) as client,
            reader_client(credential, endpoints.arm, options) as reader,
        ):
            check = _Subscription(client, reader, report, settings, region)
            check.run()
            here = {
                student: drawn
                for student, drawn in (suffixes or {}).items()
                if (placement or {}).get(student) == sub
            }
            if here:
                check.names(here)
        if suffixes is None:
            report.add(
                "names",
                READY,
                "global names (storage accounts, Key Vault, Synapse workspace) not checked: they carry "
                "the suffix drawn at the first `pulumi up`; pass --state (`pulumi stack export`) to "
                "check the suffixes already drawn",
            )
        elif students > len(here):
            report.add(
                "names",
                READY,
                f"{students - len(here)} student(s) have no suffix yet: their global names are drawn "
                "at the first `pulumi up` and cannot be checked before",
            )
        reports.append(report)
    return reports


def render_table(reports: Sequence[SubscriptionReport]) -> str:
    lines = []
    for r in reports:
        lines.append(f"subscription {r.subscription} ({r.students} student(s)): {r.state}")
        width = max([len(f.check) for f in r.findings] + [5])
        rank = {NOT_READY: 0, WARNING: 1, READY: 2}
        for f in sorted(r.findings, key=lambda f: rank[f.severity]):
            lines.append(f"  {f.severity:<9}  {f.check:<{width}}  {f.message}")
        lines.append("")
    blocking = sum(1 for r in reports if r.state == NOT_READY)
    lines.append(
        "nothing stops `pulumi up`"
        if not blocking
        else f"{blocking} subscription(s) not ready: fix the findings above first"
    )
    return "\n".join(lines)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "preflight",
        help="before the first class in a subscription: namespaces, quotas, region, rights",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--stack", required=True, help="the class stack (its Pulumi.<stack>.yaml)")
    p.add_argument(
        "--subscription",
        type=guid,
        metavar="ID",
        help="the default subscription, for students not in lab:subscriptions (default: "
        "azure-native:subscriptionId, else ARM_SUBSCRIPTION_ID or AZURE_SUBSCRIPTION_ID)",
    )
    p.add_argument(
        "--state",
        type=Path,
        action="append",
        metavar="FILE",
        help="`pulumi stack export` of the class (repeat per section): check the global names of "
        "the suffixes already drawn (default: none, the suffixes are not checked)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--timeout",
        type=float,
        default=PreflightSettings.timeout,
        metavar="SECONDS",
        help="seconds to wait for each answer from Azure",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=PreflightSettings.retries,
        help="retries of a throttled, failing or dropped call",
    )
    signin.add_verbose_argument(p)
    p.set_defaults(func=main)


def _credential(verbose: bool = False) -> Any:
    # The program's own sign-in, as `status` and `pause` use (providers/credentials.py).
    return signin.credential(verbose)


def main(
    args: argparse.Namespace,
    *,
    credential: Any = None,
    endpoints: Endpoints | None = None,
    root: Path = PROJECT_DIR,
    out: Any = None,
    err: Any = None,
) -> int:
    from classroom.running.sections import SectionError, load_class
    from lab.config import ConfigError

    out, err = out or sys.stdout, err or sys.stderr
    try:
        loaded = load_class(args.stack, root)
        default = default_subscription(args.subscription, loaded.document.get("config") or {})
        subscriptions = students_per_subscription(loaded.settings, default)
        suffixes = (
            suffixes_from_state(args.state, [s.id for s in loaded.settings.students])
            if args.state
            else None
        )
    except ConfigError as error:
        print(config_errors(root / f"Pulumi.{args.stack}.yaml", error.problems), file=err)
        return 2
    except (SectionError, ValueError) as error:
        print(f"error: {error}", file=err)
        return 2
    verbose = getattr(args, "verbose", False)
    credential = credential or _credential(verbose)
    if not signin.signed_in(credential, err, verbose):
        return 2
    reports = preflight(
        loaded.settings,
        subscriptions,
        credential,
        endpoints or Endpoints(),
        PreflightSettings(timeout=args.timeout, retries=max(0, args.retries)),
        progress=lambda text: print(text, file=err, flush=True),
        suffixes=suffixes,
        placement={
            s.id: loaded.settings.placement.get(s.id) or str(default)
            for s in loaded.settings.students
        },
    )
    if args.json:
        print(
            json.dumps(
                {
                    "stack": args.stack,
                    "region": loaded.settings.location,
                    "subscriptions": [r.as_dict() for r in reports],
                },
                indent=2,
            ),
            file=out,
        )
    else:
        print(render_table(reports), file=out)
    return 1 if any(r.state == NOT_READY for r in reports) else 0
