"""A fake ARM for a new subscription: provider registration, quotas, capabilities, permissions.

Extends :class:`tests.fakes.synapse.FakeSynapse` (TLS on 127.0.0.1, request log, fault
injection ``fake.fail(...)``) with what the registration resource and
``python -m classroom preflight`` call. Each route states the doc it stands for; where
unsure it is stricter than ARM (an exact api-version, the token's audience, GET/POST only).

- ``GET /subscriptions/{s}/providers/{ns}`` and ``POST .../{ns}/register``
  (Microsoft.Resources "Providers - Get" / "Providers - Register", api-version
  2025-04-01, azure-mgmt-resource 26's default): namespaces compare without case; an
  unknown one is 404 ``InvalidResourceNamespace``; registering is asynchronous
  (``Registering`` for ``registering_reads`` reads, then ``Registered``); an identity
  without ``<ns>/register/action`` gets 403 ``AuthorizationFailed``.
- ``GET /subscriptions/{s}`` ("Subscriptions - Get", 2022-12-01): ``subscriptionPolicies.quotaId``
  names the offer (PayAsYouGo_2014-09-01, AzureForStudents_2018-01-01, ...).
- ``GET .../Microsoft.MachineLearningServices/locations/{loc}/usages`` and ``/vmSizes``
  (Azure ML "Usages - List" / "Virtual Machine Sizes - List", 2024-04-01; shapes as the
  spec's examples/Usage/list.json and examples/VirtualMachineSize/list.json).
- ``GET .../Microsoft.Sql/locations/{loc}/capabilities`` (Azure SQL "Capabilities - List By
  Location", 2021-11-01; the lab's setup.ps1 reads it with Get-AzSqlCapability to pick a
  region where SQL capacity is ``Available``).
- ``GET .../Microsoft.Synapse/workspaces`` ("Workspaces - List", 2021-06-01).
- ``POST .../providers/{Microsoft.Storage|Microsoft.KeyVault|Microsoft.Synapse}/checkNameAvailability``
  ("Storage Accounts - Check Name Availability" 2023-05-01 answers ``nameAvailable``;
  "Vaults - Check Name Availability" 2023-07-01 ``nameAvailable``; Synapse "Workspaces -
  Check Name Availability" 2021-06-01 ``available``), each refusing a body without the
  resource ``type``; and ``GET`` of those resources by id (404 ``ResourceNotFound``).
- ``GET /subscriptions/{s}/providers/Microsoft.Authorization/permissions`` (the caller's
  effective actions at subscription scope, 2022-04-01, shape of "Permissions - List For
  Resource Group": ``value[].actions/notActions``).

Shared with :class:`tests.fakes.azure.FakeAzure`: ARM's 409 ``MissingSubscriptionRegistration``
(:func:`missing_registration`, :class:`Registrations`) and :func:`writes`, every request
that is not a read (what a read-only command must never send).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from tests.fakes.synapse import ARM_TOKEN, FakeSynapse

RESOURCES_API = "2025-04-01"
# The api-version azure-mgmt-core's ARMAutoResourceProviderRegistrationPolicy registers and
# polls with (policies/_base.py, _register_rp); Microsoft.Resources still serves it.
REGISTRATION_POLICY_API = "2016-02-01"
SUBSCRIPTION_API = "2022-12-01"
ML_API = "2024-04-01"
SQL_CAPABILITIES_API = "2021-11-01"
SYNAPSE_API = "2021-06-01"
PERMISSIONS_API = "2022-04-01"

# Every region of the lab's setup list, and one without Synapse for the tests.
REGIONS = ("West Europe", "North Europe", "East US", "UK South")
# namespace -> resource types with their regions (display names, as ARM lists them).
DEFAULT_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "Microsoft.Resources": {"resourceGroups": REGIONS},
    # No locations: global.
    "Microsoft.Authorization": {"roleAssignments": (), "roleDefinitions": ()},
    "Microsoft.Storage": {
        "storageAccounts": REGIONS,
        "storageAccounts/blobServices": REGIONS,
        "storageAccounts/blobServices/containers": REGIONS,
    },
    "Microsoft.Synapse": {
        "workspaces": REGIONS,
        "workspaces/firewallRules": REGIONS,
        "workspaces/bigDataPools": REGIONS,
        "workspaces/sqlPools": REGIONS,
        # The Entra admin (REST spec Microsoft.Synapse 2021-06-01 "Workspace Aad Admins",
        # PUT .../workspaces/{ws}/administrators/activeDirectory): a child type of the
        # workspace, listed with its regions as the other children (unconfirmed live).
        "workspaces/administrators": REGIONS,
    },
    "Microsoft.MachineLearningServices": {
        "workspaces": REGIONS,
        "workspaces/computes": REGIONS,
        "workspaces/datastores": REGIONS,
    },
    "Microsoft.KeyVault": {"vaults": REGIONS},
    "Microsoft.OperationalInsights": {"workspaces": REGIONS},
    # diagnosticSettings is an extension type (it lives under the resource it reads):
    # listed as global here, as the Authorization types. Unconfirmed on a live tenant;
    # a region list that names the class's region would pass the check all the same.
    "Microsoft.Insights": {"components": REGIONS, "diagnosticSettings": ()},
    "Microsoft.Sql": {"servers": REGIONS},
    "Microsoft.Compute": {"virtualMachines": REGIONS},
}
ALWAYS_REGISTERED = ("Microsoft.Resources", "Microsoft.Authorization")
VM_SIZES = (
    {"name": "Standard_DS3_v2", "family": "standardDSv2Family", "vCPUs": 4},
    {"name": "Standard_DS2_v2", "family": "standardDSv2Family", "vCPUs": 2},
    {"name": "Standard_D4s_v3", "family": "standardDSv3Family", "vCPUs": 4},
)
FAMILY_USAGE_NAMES = {
    "standardDSv2Family": "Standard DSv2 Family Cluster Dedicated vCPUs",
    "standardDSv3Family": "Standard DSv3 Family Cluster Dedicated vCPUs",
}
TOTAL_DEDICATED = "Total Cluster Dedicated Regional vCPUs"
# namespace -> (api-version, resource type the body must name, the answer's availability key)
NAME_CHECKS = {
    "microsoft.storage": ("2023-05-01", "Microsoft.Storage/storageAccounts", "nameAvailable"),
    "microsoft.keyvault": ("2023-07-01", "Microsoft.KeyVault/vaults", "nameAvailable"),
    "microsoft.synapse": ("2021-06-01", "Microsoft.Synapse/workspaces", "available"),
}


def _key(text: str) -> str:
    return text.replace(" ", "").lower()


class FakeArm(FakeSynapse):
    """ARM for one or more subscriptions; tests change the dicts to shape each case."""

    def __init__(self, tls_files: tuple[str, str, str], registering_reads: int = 2):
        super().__init__(tls_files)
        self.registering_reads = registering_reads
        self.arm_lock = threading.RLock()
        # subscription -> namespace (lower) -> {"state": str, "reads": int}
        self.registrations: dict[str, dict[str, dict[str, Any]]] = {}
        self.offers: dict[str, str] = {}  # subscription -> quotaId
        self.types = {ns: dict(types) for ns, types in DEFAULT_TYPES.items()}
        # subscription -> usage name -> (current, limit)
        self.ml_usages: dict[str, dict[str, tuple[int, int]]] = {}
        self.vm_sizes = [dict(v) for v in VM_SIZES]
        self.sql_status: dict[str, str] = {}  # region key -> DataWarehouse DW100c status
        self.synapse_workspaces: dict[str, list[str]] = {}  # subscription -> ["region", ...]
        # subscription -> list of {"actions": [...], "notActions": [...]}
        self.permissions: dict[str, list[dict[str, list[str]]]] = {}
        self.registered_by_post: list[tuple[str, str]] = []
        self.taken_names: set[str] = set()  # global names held by anyone (lower case)
        self.owned: set[str] = set()  # lower-case ids of resources in the class's groups

    # -- shaping a subscription
    def add_subscription(
        self,
        subscription: str,
        *,
        registered: tuple[str, ...] = (),
        offer: str = "Sponsored_2016-01-01",
        actions: tuple[str, ...] = ("*",),
        not_actions: tuple[str, ...] = (),
        family_limit: int = 200,
        total_limit: int = 400,
    ) -> None:
        with self.arm_lock:
            self.registrations[subscription] = {
                ns.lower(): {
                    "state": "Registered"
                    if ns in registered or ns in ALWAYS_REGISTERED
                    else "NotRegistered",
                    "reads": 0,
                }
                for ns in self.types
            }
            self.offers[subscription] = offer
            self.ml_usages[subscription] = {
                **{name: (0, family_limit) for name in FAMILY_USAGE_NAMES.values()},
                TOTAL_DEDICATED: (0, total_limit),
            }
            self.synapse_workspaces[subscription] = []
            self.permissions[subscription] = [
                {"actions": list(actions), "notActions": list(not_actions)}
            ]

    def state(self, subscription: str, namespace: str) -> str:
        with self.arm_lock:
            return self.registrations[subscription][namespace.lower()]["state"]

    # -- routes
    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        m = re.fullmatch(r"/subscriptions/([^/]+)(/.*)?", path)
        if not m or m.group(1) not in self.registrations:
            if m and not self._known_elsewhere(path):
                return _error(
                    404,
                    "SubscriptionNotFound",
                    f"The subscription '{m.group(1)}' could not be found.",
                )
            return super().handle(method, path, query, body, headers)
        token = (headers.get("authorization") or "").removeprefix("Bearer ").strip()
        if token != ARM_TOKEN:
            return _error(401, "InvalidAuthenticationToken", "expected an ARM token")
        subscription, rest = m.group(1), m.group(2) or ""
        routes: list[tuple[str, str, str, Any]] = [
            ("GET", r"", SUBSCRIPTION_API, self._subscription),
            (
                "GET",
                r"/providers/Microsoft\.Authorization/permissions",
                PERMISSIONS_API,
                self._permissions,
            ),
            (
                "GET",
                r"/providers/Microsoft\.MachineLearningServices/locations/([^/]+)/usages",
                ML_API,
                self._usages,
            ),
            (
                "GET",
                r"/providers/Microsoft\.MachineLearningServices/locations/([^/]+)/vmSizes",
                ML_API,
                self._vm_sizes,
            ),
            (
                "GET",
                r"/providers/Microsoft\.Sql/locations/([^/]+)/capabilities",
                SQL_CAPABILITIES_API,
                self._sql,
            ),
            ("GET", r"/providers/Microsoft\.Synapse/workspaces", SYNAPSE_API, self._workspaces),
            ("POST", r"/providers/([^/]+)/register", RESOURCES_API, self._register),
            *(
                (
                    "POST",
                    rf"/providers/({re.escape(ns)})/checkNameAvailability",
                    version,
                    self._name,
                )
                for ns, (version, _, _) in NAME_CHECKS.items()
            ),
            *(
                (
                    "GET",
                    rf"(/resourceGroups/[^/]+/providers/{re.escape(rtype)}/[^/]+)",
                    version,
                    self._owned,
                )
                for version, rtype, _ in NAME_CHECKS.values()
            ),
            ("GET", r"/providers/([^/]+)", RESOURCES_API, self._provider),
        ]
        for verb, pattern, version, route in routes:
            found = re.fullmatch(pattern, rest, re.I)
            if not found:
                continue
            if method != verb:
                return _error(405, "MethodNotAllowed", f"{method} {path}")
            if query.get("api-version") != version and not (
                route in (self._register, self._provider)
                and query.get("api-version") == REGISTRATION_POLICY_API
            ):
                # ARM refuses an api-version the resource type does not have; one version per route here.
                return _error(400, "InvalidApiVersionParameter", str(query.get("api-version")))
            if route == self._name:
                return route(subscription, found.group(1), body)
            return route(subscription, *found.groups())
        return super().handle(method, path, query, body, headers)

    @staticmethod
    def _known_elsewhere(path: str) -> bool:
        """Paths of the teardown/SQL pool routes of FakeSynapse (their own subscriptions)."""
        return "/resourceGroups/" in path or "/deletedVaults/" in path or "/locations/" in path

    def _subscription(self, subscription: str) -> tuple[int, Any, dict[str, str]]:
        return (
            200,
            {
                "id": f"/subscriptions/{subscription}",
                "subscriptionId": subscription,
                "displayName": "class subscription",
                "state": "Enabled",
                "subscriptionPolicies": {
                    "quotaId": self.offers[subscription],
                    "spendingLimit": "Off",
                    "locationPlacementId": "Public_2014-09-01",
                },
            },
            {},
        )

    def _namespace(self, name: str) -> str | None:
        return next((ns for ns in self.types if ns.lower() == name.lower()), None)

    def _provider_body(self, subscription: str, namespace: str) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{subscription}/providers/{namespace}",
            "namespace": namespace,
            "registrationState": self.registrations[subscription][namespace.lower()]["state"],
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": [
                {
                    "resourceType": rtype,
                    "locations": list(locations),
                    "apiVersions": [RESOURCES_API],
                }
                for rtype, locations in self.types[namespace].items()
            ],
        }

    def _provider(self, subscription: str, name: str) -> tuple[int, Any, dict[str, str]]:
        namespace = self._namespace(name)
        if namespace is None:
            return _error(
                404, "InvalidResourceNamespace", f"The resource namespace '{name}' is invalid."
            )
        with self.arm_lock:
            entry = self.registrations[subscription][namespace.lower()]
            if entry["state"] == "Registering":
                entry["reads"] += 1
                if entry["reads"] > self.registering_reads:
                    entry["state"] = "Registered"
            return 200, self._provider_body(subscription, namespace), {}

    def allowed(self, subscription: str, action: str) -> bool:
        """Whether the caller's permissions allow ``action`` (actions minus notActions, wildcards)."""
        with self.arm_lock:
            entries = list(self.permissions.get(subscription, []))
        return any(
            any(_matches(p, action) for p in e["actions"])
            and not any(_matches(p, action) for p in e["notActions"])
            for e in entries
        )

    def _register(self, subscription: str, name: str) -> tuple[int, Any, dict[str, str]]:
        namespace = self._namespace(name)
        if namespace is None:
            return _error(
                404, "InvalidResourceNamespace", f"The resource namespace '{name}' is invalid."
            )
        action = f"{namespace}/register/action"
        if not self.allowed(subscription, action):
            return _error(
                403,
                "AuthorizationFailed",
                f"The client does not have authorization to perform action '{action}' over scope "
                f"'/subscriptions/{subscription}' or the scope is invalid.",
            )
        with self.arm_lock:
            entry = self.registrations[subscription][namespace.lower()]
            if entry["state"] != "Registered":
                entry.update(state="Registering", reads=0)
            self.registered_by_post.append((subscription, namespace))
            return 200, self._provider_body(subscription, namespace), {}

    def _name(
        self, subscription: str, namespace: str, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        version, rtype, key = NAME_CHECKS[namespace.lower()]
        if not isinstance(body, dict) or body.get("type") != rtype or not body.get("name"):
            return _error(400, "InvalidRequestContent", f"expected {{name, type: {rtype}}}")
        refused = self.unregistered(subscription, self._namespace(namespace) or namespace)
        if refused:
            return refused
        taken = str(body["name"]).lower() in self.taken_names
        answer: dict[str, Any] = {key: not taken}
        if taken:
            answer.update(
                reason="AlreadyExists", message=f"The name {body['name']} is already in use."
            )
        return 200, answer, {}

    def _owned(self, subscription: str, rest: str) -> tuple[int, Any, dict[str, str]]:
        resource_id = f"/subscriptions/{subscription}{rest}"
        if resource_id.lower() not in self.owned:
            return _error(404, "ResourceNotFound", f"The Resource '{rest}' was not found.")
        return 200, {"id": resource_id, "name": rest.rsplit("/", 1)[-1]}, {}

    def _permissions(self, subscription: str) -> tuple[int, Any, dict[str, str]]:
        with self.arm_lock:
            entries = list(self.permissions[subscription])
        return (
            200,
            {"value": [{**e, "dataActions": [], "notDataActions": []} for e in entries]},
            {},
        )

    def unregistered(
        self, subscription: str, namespace: str
    ) -> tuple[int, Any, dict[str, str]] | None:
        """ARM's answer for a namespace the subscription has not registered, else None.

        Stricter than sure: ARM refuses resources of an unregistered namespace with 409
        MissingSubscriptionRegistration ("Resolve errors for resource provider registration");
        the fake refuses these location-level reads too.
        """
        if self.state(subscription, namespace) == "Registered":
            return None
        return missing_registration(namespace)

    def _usages(self, subscription: str, location: str) -> tuple[int, Any, dict[str, str]]:
        refused = self.unregistered(subscription, "Microsoft.MachineLearningServices")
        if refused:
            return refused
        with self.arm_lock:
            usages = dict(self.ml_usages[subscription])
        value = []
        for name, (current, limit) in usages.items():
            total = name == TOTAL_DEDICATED
            value.append(
                {
                    "id": f"/subscriptions/{subscription}/usages"
                    + ("" if total else "/" + name.replace(" ", "_")),
                    "type": "Microsoft.MachineLearningServices/"
                    + ("dedicatedCores/usages" if total else "vmFamily/usages"),
                    "amlWorkspaceLocation": location,
                    "currentValue": current,
                    "limit": limit,
                    "name": {"value": name, "localizedValue": name},
                    "unit": "Count",
                }
            )
        return 200, {"value": value}, {}

    def _vm_sizes(self, subscription: str, location: str) -> tuple[int, Any, dict[str, str]]:
        refused = self.unregistered(subscription, "Microsoft.MachineLearningServices")
        if refused:
            return refused
        return (
            200,
            {"value": [dict(v, supportedComputeTypes=["AmlCompute"]) for v in self.vm_sizes]},
            {},
        )

    def _sql(self, subscription: str, location: str) -> tuple[int, Any, dict[str, str]]:
        refused = self.unregistered(subscription, "Microsoft.Sql")
        if refused:
            return refused
        status = self.sql_status.get(_key(location), "Available")
        return (
            200,
            {
                "name": location,
                "status": "Available" if status != "Disabled" else "Visible",
                "supportedServerVersions": [
                    {
                        "name": "12.0",
                        "status": "Default",
                        "supportedEditions": [
                            {
                                "name": "DataWarehouse",
                                "status": status,
                                "supportedServiceLevelObjectives": [
                                    {"name": "DW100c", "status": status, "reason": None}
                                ],
                            }
                        ],
                    }
                ],
            },
            {},
        )

    def _workspaces(self, subscription: str) -> tuple[int, Any, dict[str, str]]:
        refused = self.unregistered(subscription, "Microsoft.Synapse")
        if refused:
            return refused
        with self.arm_lock:
            regions = list(self.synapse_workspaces[subscription])
        return (
            200,
            {
                "value": [
                    {
                        "id": f"/subscriptions/{subscription}/resourceGroups/other/providers/"
                        f"Microsoft.Synapse/workspaces/existing{n}",
                        "name": f"existing{n}",
                        "location": region,
                    }
                    for n, region in enumerate(regions)
                ]
            },
            {},
        )


def missing_registration(namespace: str) -> tuple[int, Any, dict[str, str]]:
    """ARM's answer for a namespace the subscription has not registered.

    409 with code MissingSubscriptionRegistration and the message "The subscription is
    not registered to use namespace '<ns>'. See https://aka.ms/rps-not-found for how to
    register subscriptions." (learn.microsoft.com/azure/azure-resource-manager/
    troubleshooting/error-register-resource-provider; the text as the CLIs print it).
    azure-mgmt-core's registration policy reads the namespace between the quotes.
    """
    return _error(
        409,
        "MissingSubscriptionRegistration",
        f"The subscription is not registered to use namespace '{namespace}'. "
        "See https://aka.ms/rps-not-found for how to register subscriptions.",
    )


# POSTs that only read, by their REST docs (everything else that is not GET or HEAD writes):
# Cost Management "Query - Usage"; "Check Name Availability" of storage accounts, key vaults
# and Synapse workspaces; Log Analytics "Query - Execute" (api.loganalytics.io); Synapse
# "Pipeline Runs - Query By Workspace" (data plane 2020-12-01, POST /queryPipelineRuns).
READ_ONLY_POSTS = (
    r"/providers/Microsoft\.CostManagement/query$",
    r"/providers/Microsoft\.(Storage|KeyVault|Synapse)/checkNameAvailability$",
    r"^/v1/workspaces/[^/]+/query$",
    r"/queryPipelineRuns$",
)


def writes(fake: FakeSynapse) -> list[Any]:
    """Every request the fake was sent that is not a read: not GET or HEAD, and not a
    documented read-only POST. A register POST is a write."""
    return [
        r
        for r in fake.calls()
        if r.method not in ("GET", "HEAD")
        and not (r.method == "POST" and any(re.search(p, r.path, re.I) for p in READ_ONLY_POSTS))
    ]


class Registrations:
    """Namespaces a subscription has not registered, for a fake whose other routes are not
    about registration (FakeAzure): every ARM request under ``/providers/<ns>/`` answers
    :func:`missing_registration` (stricter than sure: ARM refuses writes for certain,
    reads of some types too); ``POST .../providers/<ns>/register`` registers at once and
    ``GET .../providers/<ns>`` says the state ("Providers - Register" / "Providers - Get")."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.missing: set[tuple[str, str]] = set()  # (subscription, namespace), lower case
        self.registered_by_post: list[tuple[str, str]] = []

    def unregister(self, subscription: str, namespace: str) -> None:
        with self.lock:
            self.missing.add((subscription.lower(), namespace.lower()))

    def answer(self, method: str, path: str) -> tuple[int, Any, dict[str, str]] | None:
        m = re.match(
            r"/subscriptions/([^/]+)(?:/.*?)?/providers/([^/]+)(/register)?(/|$)", path, re.I
        )
        if not m:
            return None
        subscription, namespace, register = m.group(1), m.group(2), m.group(3)
        key = (subscription.lower(), namespace.lower())
        provider = re.fullmatch(r"/subscriptions/[^/]+/providers/[^/]+(/register)?", path, re.I)
        if provider and (method == "POST") == bool(register):
            with self.lock:
                if register:
                    self.missing.discard(key)
                    self.registered_by_post.append((subscription, namespace))
                state = "NotRegistered" if key in self.missing else "Registered"
            return 200, {"namespace": namespace, "registrationState": state}, {}
        with self.lock:
            refused = key in self.missing
        return missing_registration(namespace) if refused else None


def _matches(pattern: str, action: str) -> bool:
    """ARM's action wildcards: ``*`` matches any characters; actions compare without case."""
    regex = "^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$"
    return re.match(regex, action, re.I) is not None


def _error(status: int, code: str, message: str) -> tuple[int, Any, dict[str, str]]:
    return status, {"error": {"code": code, "message": message}}, {}
