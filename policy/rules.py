"""The lab's guardrails as plain functions, without the policy SDK.

Each validator takes ``(resource_type, props)`` - the Pulumi type token and the
resource's inputs as the engine sees them (camelCase keys, e.g.
``{"autoPause": {"enabled": True, "delayInMinutes": 15}}``) - and returns a list
of violation messages; an empty list means the resource complies (or the rule
does not apply to that type). ``policy/__main__.py`` wraps them in
``ResourceValidationPolicy`` objects; the tests call them directly.

Unknown values: during ``pulumi preview`` an input computed from another
resource's output (a generated suffix in a tag, a storage account id in a role
assignment's scope) is not known yet. The engine sends such a value as one of the
sentinel strings below; the policy SDK's proxy raises on it, and
``__main__.py`` turns it back into the sentinel. A validator never reports a
violation for an unknown value: the check runs again at ``pulumi up`` once the
value is known.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, NamedTuple

AZ = "azure-native:"
BIG_DATA_POOL = f"{AZ}synapse:BigDataPool"
SQL_POOL = f"{AZ}synapse:SqlPool"
IP_FIREWALL_RULE = f"{AZ}synapse:IpFirewallRule"
ML_COMPUTE = f"{AZ}machinelearningservices:Compute"
STORAGE_ACCOUNT = f"{AZ}storage:StorageAccount"
ROLE_ASSIGNMENT = f"{AZ}authorization:RoleAssignment"
# The cost guard's pipeline and trigger in a workspace (providers/synapse/pause_schedule.py).
PAUSE_SCHEDULE = "pulumi-python:dynamic/synapse-ml-lab:PauseSchedule"

# --- Limits (edit here to change what the pack allows) ------------------------

# Spark pool: the lab runs on Small nodes; Medium is the largest size allowed.
SPARK_ALLOWED_NODE_SIZES: tuple[str, ...] = ("Small", "Medium")
SPARK_MAX_NODES = 4
SPARK_MAX_AUTO_PAUSE_MINUTES = 15

# Dedicated SQL pool: DW100c is the smallest Gen2 service level, so it is the only one.
SQL_POOL_ALLOWED_SKUS: tuple[str, ...] = ("DW100c",)

# Storage accounts.
STORAGE_ALLOWED_TLS_VERSIONS: tuple[str, ...] = ("TLS1_2", "TLS1_3")

# Tags every taggable resource must carry, non-empty.
REQUIRED_TAGS: tuple[str, ...] = ("course", "student", "expires-on", "DeploymentId")
EXPIRES_ON_TAG = "expires-on"

# The resource types whose arguments accept ``tags`` (from the azure-native
# schema), covering every taggable type the program declares. Types that take no
# tags (BlobContainer, Blob, IpFirewallRule, Datastore, RoleAssignment) are not
# listed. tests/policy/test_rules.py checks this set against the SDK.
TAGGABLE_TYPES: frozenset[str] = frozenset(
    {
        f"{AZ}resources:ResourceGroup",
        f"{AZ}storage:StorageAccount",
        f"{AZ}synapse:Workspace",
        f"{AZ}synapse:BigDataPool",
        f"{AZ}synapse:SqlPool",
        f"{AZ}machinelearningservices:Workspace",
        f"{AZ}machinelearningservices:Compute",
        f"{AZ}keyvault:Vault",
        f"{AZ}applicationinsights:Component",
        f"{AZ}operationalinsights:Workspace",
    }
)

# Built-in role definitions never granted by the lab (GUIDs are the same in every tenant).
FORBIDDEN_ROLES: dict[str, str] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}

# Never granted to a person, a group (a student) or a managed identity: Contributor
# lets its holder scale a dedicated SQL pool to DW30000c or create any resource, and
# a student acts as the lab's identities (Synapse credentials, Azure ML jobs).
# Everyone gets the roles of the permission proof (lab/permissions.yaml).
PEOPLE_FORBIDDEN_ROLES: dict[str, str] = {
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
}
PEOPLE = ("User", "Group", "ServicePrincipal")

FIREWALL_ALL_START = "0.0.0.0"
FIREWALL_ALL_END = "255.255.255.255"

# --- Unknown values -----------------------------------------------------------

# The sentinels the engine (and pulumi_policy.proxy) use for values not known
# during preview; the same strings as pulumi_policy/proxy.py (checked by the tests).
UNKNOWN_VALUES: frozenset[str] = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


UNKNOWN = _Marker("<unknown>")
MISSING = _Marker("<not set>")


def is_unknown(value: Any) -> bool:
    """True for a value that is not known yet (preview)."""
    return value is UNKNOWN or (isinstance(value, str) and value in UNKNOWN_VALUES)


def lookup(props: Any, path: str) -> Any:
    """The value at a dotted camelCase ``path``: MISSING when absent (or None), UNKNOWN when not known."""
    current = props
    for key in path.split("."):
        if is_unknown(current):
            return UNKNOWN
        if not isinstance(current, Mapping):
            return MISSING
        try:
            if key not in current:
                return MISSING
            current = current[key]
        except Exception as exc:  # the SDK's proxy raises UnknownValueError on an unknown
            if hasattr(exc, "unknown_type_sentinel"):
                return UNKNOWN
            raise
        if current is None:
            return MISSING
    return UNKNOWN if is_unknown(current) else current


def _show(value: Any) -> str:
    """A value as it reads in a message: 4 (not 4.0), 'text', True."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _one_of(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def _at_most(messages: list[str], what: str, props: Any, path: str, limit: float) -> None:
    value = lookup(props, path)
    if value is MISSING or value is UNKNOWN:
        return
    number = _number(value)
    if number is None:
        messages.append(
            f"{what} {path} is {_show(value)}, not a number; it must be at most {_show(limit)}."
        )
    elif number > limit:
        messages.append(f"{what} {path} is {_show(value)}; the limit is {_show(limit)}.")


def _must_be(
    messages: list[str], what: str, props: Any, path: str, expected: bool, why: str
) -> None:
    value = lookup(props, path)
    if value is UNKNOWN or value is expected:
        return
    word = "true" if expected else "false"
    if value is MISSING:
        messages.append(f"{what} {path} is not set; it must be explicitly {word} ({why}).")
    else:
        messages.append(f"{what} {path} is {_show(value)}; it must be {word} ({why}).")


def _must_be_true(messages: list[str], what: str, props: Any, path: str, why: str) -> None:
    _must_be(messages, what, props, path, True, why)


def _must_be_false(messages: list[str], what: str, props: Any, path: str, why: str) -> None:
    _must_be(messages, what, props, path, False, why)


# --- Validators -------------------------------------------------------------------


def spark_pool_limits(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Synapse Spark pool: small nodes, at most 4 of them, pausing after at most 15 idle minutes."""
    if resource_type != BIG_DATA_POOL:
        return []
    what = "Spark pool"
    messages: list[str] = []

    size = lookup(props, "nodeSize")
    allowed = _one_of(SPARK_ALLOWED_NODE_SIZES)
    if size is MISSING:
        messages.append(f"{what} nodeSize is not set; it must be {allowed}.")
    elif size is not UNKNOWN and (
        not isinstance(size, str)
        or size.lower() not in {s.lower() for s in SPARK_ALLOWED_NODE_SIZES}
    ):
        messages.append(f"{what} nodeSize is {_show(size)}; the node sizes allowed are {allowed}.")

    _at_most(messages, what, props, "autoScale.maxNodeCount", SPARK_MAX_NODES)
    _at_most(messages, what, props, "autoScale.minNodeCount", SPARK_MAX_NODES)
    _at_most(messages, what, props, "nodeCount", SPARK_MAX_NODES)
    if (
        lookup(props, "autoScale.enabled") is True
        and lookup(props, "autoScale.maxNodeCount") is MISSING
    ):
        messages.append(
            f"{what} autoScale.maxNodeCount is not set while autoScale.enabled is true; "
            f"it must be set to at most {SPARK_MAX_NODES}."
        )

    _must_be_true(messages, what, props, "autoPause.enabled", "an idle pool must pause itself")
    delay = lookup(props, "autoPause.delayInMinutes")
    if lookup(props, "autoPause.enabled") is True and delay is MISSING:
        messages.append(
            f"{what} autoPause.delayInMinutes is not set; it must be at most {SPARK_MAX_AUTO_PAUSE_MINUTES}."
        )
    _at_most(messages, what, props, "autoPause.delayInMinutes", SPARK_MAX_AUTO_PAUSE_MINUTES)
    return messages


def sql_pool_sku(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Dedicated SQL pool: the smallest service level, DW100c."""
    if resource_type != SQL_POOL:
        return []
    sku = lookup(props, "sku.name")
    allowed = _one_of(SQL_POOL_ALLOWED_SKUS)
    if sku is UNKNOWN:
        return []
    if sku is MISSING:
        return [
            f"Dedicated SQL pool sku.name is not set; it must be {allowed} (the smallest service level)."
        ]
    if not isinstance(sku, str) or sku.lower() not in {s.lower() for s in SQL_POOL_ALLOWED_SKUS}:
        return [
            f"Dedicated SQL pool sku.name is {_show(sku)}; the largest service level allowed is {allowed}."
        ]
    return []


def aml_compute_scales_to_zero(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Azure ML compute cluster (AmlCompute): no node kept running while idle."""
    if resource_type != ML_COMPUTE:
        return []
    compute_type = lookup(props, "properties.computeType")
    if compute_type is UNKNOWN or compute_type != "AmlCompute":
        return []
    path = "properties.properties.scaleSettings.minNodeCount"
    value = lookup(props, path)
    if value is MISSING or value is UNKNOWN:  # Azure's default is 0
        return []
    if _number(value) != 0:
        return [
            f"Azure ML compute cluster {path} is {_show(value)}; it must be 0 so the cluster "
            "scales to zero nodes when idle."
        ]
    return []


def storage_account_security(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Storage account: HTTPS only, TLS 1.2 or newer, no anonymous blob access - all explicit."""
    if resource_type != STORAGE_ACCOUNT:
        return []
    what = "Storage account"
    messages: list[str] = []
    _must_be_true(messages, what, props, "enableHttpsTrafficOnly", "HTTPS only")
    tls = lookup(props, "minimumTlsVersion")
    allowed = _one_of(STORAGE_ALLOWED_TLS_VERSIONS)
    if tls is MISSING:
        messages.append(f"{what} minimumTlsVersion is not set; it must be explicitly {allowed}.")
    elif tls is not UNKNOWN and tls not in STORAGE_ALLOWED_TLS_VERSIONS:
        messages.append(f"{what} minimumTlsVersion is {_show(tls)}; it must be {allowed}.")
    _must_be_false(messages, what, props, "allowBlobPublicAccess", "no anonymous access to blobs")
    return messages


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def required_tags(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Taggable resources carry course, student, expires-on (an ISO date) and DeploymentId."""
    if resource_type not in TAGGABLE_TYPES:
        return []
    tags = lookup(props, "tags")
    if tags is UNKNOWN:
        return []
    expected = ", ".join(REQUIRED_TAGS)
    if tags is MISSING:
        return [f"tags is not set; the required tags are {expected}."]
    if not isinstance(tags, Mapping):
        return [f"tags is {_show(tags)}, not a mapping; the required tags are {expected}."]
    messages: list[str] = []
    missing = [name for name in REQUIRED_TAGS if lookup(tags, name) is MISSING]
    if missing:
        messages.append(
            f"tags lacks {', '.join(missing)} (found: {', '.join(sorted(tags)) or 'none'}); "
            f"the required tags are {expected}."
        )
    for name in REQUIRED_TAGS:
        value = lookup(tags, name)
        if value is MISSING or value is UNKNOWN:
            continue
        if not isinstance(value, str) or not value.strip():
            messages.append(f"tags.{name} is {_show(value)}; it must be a non-empty string.")
        elif name == EXPIRES_ON_TAG and not _is_iso_date(value):
            messages.append(f"tags.{name} is {_show(value)}; it must be an ISO date (YYYY-MM-DD).")
    return messages


def _is_iso_date(value: str) -> bool:
    if not _ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _ipv4(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    parts = value.strip().split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        return None
    number = 0
    for p in parts:
        number = number * 256 + int(p)
    return number


def firewall_not_open_to_all(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Synapse firewall rule: not 0.0.0.0-255.255.255.255 (advisory: the lab's default)."""
    if resource_type != IP_FIREWALL_RULE:
        return []
    start, end = lookup(props, "startIpAddress"), lookup(props, "endIpAddress")
    if _ipv4(start) == 0 and _ipv4(end) == 2**32 - 1:
        rule = lookup(props, "ruleName")
        named = f" {rule!r}" if isinstance(rule, str) else ""
        return [
            f"Synapse firewall rule{named} startIpAddress {start} - endIpAddress {end} lets every "
            f"address reach the workspace; set lab:allowedIpRanges to the class's address ranges."
        ]
    return []


_SUBSCRIPTION_SCOPE = re.compile(r"^/subscriptions/[^/]+/?$", re.IGNORECASE)


def role_assignment_least_privilege(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Role assignment: below subscription scope, never Owner or User Access Administrator, nobody Contributor."""
    if resource_type != ROLE_ASSIGNMENT:
        return []
    messages: list[str] = []
    scope = lookup(props, "scope")
    if scope is MISSING:
        messages.append(
            "Role assignment scope is not set; it must be a resource group or a resource."
        )
    elif scope is not UNKNOWN:
        text = scope.strip() if isinstance(scope, str) else scope
        if text in ("", "/"):
            messages.append(
                f"Role assignment scope is {_show(scope)} (the root scope); "
                "it must be a resource group or a resource."
            )
        elif isinstance(text, str) and _SUBSCRIPTION_SCOPE.match(text):
            messages.append(
                f"Role assignment scope is {_show(scope)} (a whole subscription); "
                "it must be a resource group or a resource."
            )
        elif isinstance(text, str) and text.lower().startswith("/providers/"):
            level = (
                "a management group"
                if "/microsoft.management/managementgroups/" in text.lower()
                else "above subscription level"
            )
            messages.append(
                f"Role assignment scope is {_show(scope)} ({level}); "
                "it must be a resource group or a resource."
            )
    role = lookup(props, "roleDefinitionId")
    if isinstance(role, str) and not is_unknown(role):
        guid = role.strip().rstrip("/").rsplit("/", 1)[-1].lower()
        if guid in FORBIDDEN_ROLES:
            messages.append(
                f"Role assignment roleDefinitionId is {_show(role)} ({FORBIDDEN_ROLES[guid]}); "
                f"{' and '.join(FORBIDDEN_ROLES.values())} are never granted by the lab."
            )
        # azure-native sends "User" when principalType is not set.
        principal_type = lookup(props, "principalType")
        if principal_type is MISSING:
            principal_type = "User"
        if guid in PEOPLE_FORBIDDEN_ROLES and principal_type in PEOPLE:
            messages.append(
                f"Role assignment roleDefinitionId is {_show(role)} "
                f"({PEOPLE_FORBIDDEN_ROLES[guid]}) for a {principal_type}; students and the "
                "identities they can act as get only the roles the lab needs "
                "(lab/permissions.yaml), never Contributor or Owner."
            )
    return messages


# --- The pack's contents --------------------------------------------------------

MANDATORY = "mandatory"
ADVISORY = "advisory"

Validator = Callable[[str, Mapping[str, Any]], list[str]]


class Rule(NamedTuple):
    validate: Validator
    level: str  # MANDATORY or ADVISORY
    description: str


POLICIES: dict[str, Rule] = {
    "spark-pool-limits": Rule(
        spark_pool_limits,
        MANDATORY,
        f"Synapse Spark pools use {_one_of(SPARK_ALLOWED_NODE_SIZES)} nodes, at most {SPARK_MAX_NODES} of them, "
        f"and pause after at most {SPARK_MAX_AUTO_PAUSE_MINUTES} idle minutes.",
    ),
    "sql-pool-sku": Rule(
        sql_pool_sku,
        MANDATORY,
        f"Dedicated SQL pools run at {_one_of(SQL_POOL_ALLOWED_SKUS)}, the smallest service level.",
    ),
    "aml-compute-scales-to-zero": Rule(
        aml_compute_scales_to_zero,
        MANDATORY,
        "Azure ML compute clusters keep no node when idle (scaleSettings.minNodeCount 0).",
    ),
    "storage-account-security": Rule(
        storage_account_security,
        MANDATORY,
        "Storage accounts accept HTTPS only, TLS 1.2 or newer, and no anonymous blob access.",
    ),
    "required-tags": Rule(
        required_tags,
        MANDATORY,
        f"Taggable resources carry the tags {', '.join(REQUIRED_TAGS)} (non-empty; "
        f"{EXPIRES_ON_TAG} an ISO date).",
    ),
    "synapse-firewall-not-open-to-all": Rule(
        firewall_not_open_to_all,
        ADVISORY,
        "Synapse workspace firewalls should not allow every address (0.0.0.0-255.255.255.255).",
    ),
    "role-assignment-least-privilege": Rule(
        role_assignment_least_privilege,
        MANDATORY,
        "Role assignments are scoped below the subscription, never grant Owner or User Access "
        "Administrator, and never make anyone (a student or a managed identity) Contributor.",
    ),
}


# --- Stack rules: they look at every resource of the stack at once ----------------

StackValidator = Callable[[list[tuple[str, Mapping[str, Any]]]], list[str]]


class StackRule(NamedTuple):
    validate: StackValidator
    level: str
    description: str


def sql_pools_pause_themselves(resources: list[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """A dedicated SQL pool bills by the hour while Online: each one wants a pause schedule."""
    pools = sum(1 for typ, _ in resources if typ == SQL_POOL)
    schedules = sum(1 for typ, _ in resources if typ == PAUSE_SCHEDULE)
    if pools and schedules < pools:
        return [
            f"The stack has {pools} dedicated SQL pool(s) and {schedules} pause schedule(s): a pool "
            "a student forgets to pause bills all night (DW100c, about 36 USD a day). Set "
            'lab:pauseSqlPoolAt (e.g. ["23:00"]) so each workspace pauses its pool after class.'
        ]
    return []


STACK_POLICIES: dict[str, StackRule] = {
    "sql-pool-pause-schedule": StackRule(
        sql_pools_pause_themselves,
        ADVISORY,
        "Every dedicated SQL pool has a pause schedule (the cost guard's Pause SQL pool pipeline).",
    ),
}


def violations(resource_type: str, props: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every rule's messages for one resource (rules with none left out)."""
    found = {name: rule.validate(resource_type, props) for name, rule in POLICIES.items()}
    return {name: messages for name, messages in found.items() if messages}
