"""Well-known Azure role definition IDs, the project's custom roles, and the rules every assignment follows.

``components.roles.assign_role`` applies them to each assignment the program
declares: an explicit principal type (azure-native would otherwise send
"User", which Azure refuses for a managed identity), a deterministic GUID name
(a re-run never creates a duplicate), and never Owner or a subscription scope.

The one custom role, "SQL pool operator" (:data:`SQL_POOL_OPERATOR`), is
declared once per subscription of a stack by ``components.custom_roles`` and
assigned on one dedicated SQL pool at a time (a student's own pool; the cost
guard's workspace identity on its own pool).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

# Built-in role ids are the same in every tenant and cloud
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
AZUREML_DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
# Synapse RBAC (data plane), not ARM roles.
SYNAPSE_ADMINISTRATOR = "6e4bf58a-b8e1-4cc3-bbf9-d73143322b78"
SYNAPSE_CONTRIBUTOR = "7572bffe-f453-4b66-912a-46cc5ef38fda"

ROLE_NAMES = {
    READER: "Reader",
    CONTRIBUTOR: "Contributor",
    OWNER: "Owner",
    STORAGE_BLOB_DATA_OWNER: "Storage Blob Data Owner",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    STORAGE_BLOB_DATA_READER: "Storage Blob Data Reader",
    AZUREML_DATA_SCIENTIST: "AzureML Data Scientist",
}

PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal")
_RESOURCE_GROUP_SCOPE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+(/.*)?$", re.IGNORECASE
)
# Fixed namespace so a role assignment's GUID depends only on what it grants.
_NAMESPACE = uuid.UUID("5f0d8f0e-3b59-4d7c-9a57-6a1f3e0c2b11")


def role_definition_id(subscription_id: str, role_id: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"


def assignment_guid(scope: str, role_id: str, principal_id: str) -> str:
    """The same scope, role and principal always give the same assignment name."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope.lower()}|{role_id}|{principal_id.lower()}"))


def check_scope(scope: str) -> str:
    """Only a resource group or something inside one: never a subscription or management group."""
    if not _RESOURCE_GROUP_SCOPE.match(scope):
        raise ValueError(f"role assignment at subscription scope or above refused: {scope!r}")
    return scope


@dataclass(frozen=True)
class CustomRole:
    """A custom Azure role the project defines: its actions, nothing else (no wildcards)."""

    key: str
    role_name: str
    description: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()


# Read, pause and resume one dedicated SQL pool, and read the status of those
# long-running operations (Studio and `az synapse sql pool pause|resume` poll
# them). Not sqlPools/write: that is what scales DW100c to DW30000c.
# Action names: https://learn.microsoft.com/azure/role-based-access-control/permissions/analytics#microsoftsynapse
SQL_POOL_OPERATOR = CustomRole(
    key="sql-pool-operator",
    role_name="synapse-ml-lab SQL pool operator",
    description=(
        "Read, pause and resume a dedicated SQL pool of the synapse-ml-lab class; "
        "no scaling, no create or delete."
    ),
    actions=(
        "Microsoft.Synapse/workspaces/sqlPools/read",
        "Microsoft.Synapse/workspaces/sqlPools/pause/action",
        "Microsoft.Synapse/workspaces/sqlPools/resume/action",
        "Microsoft.Synapse/workspaces/sqlPools/operationResults/read",
        "Microsoft.Synapse/workspaces/sqlPools/operationStatuses/read",
    ),
)
CUSTOM_ROLES = (SQL_POOL_OPERATOR,)


def custom_role_guid(role: CustomRole, stack: str, subscription_id: str) -> str:
    """The role definition's name (a GUID): one per role, stack and subscription, stable across runs.

    Per stack as well as per subscription: the sections of a class (and two
    classes) can share a subscription, and a definition owned by two stacks would
    be deleted by whichever is destroyed first (Azure refuses while another
    stack's assignments still use it).
    """
    return str(uuid.uuid5(_NAMESPACE, f"custom-role|{role.key}|{stack}|{subscription_id.lower()}"))


def custom_role_name(role: CustomRole, stack: str, subscription_id: str) -> str:
    """The display name: unique in the Entra tenant, as Azure requires of custom roles.

    https://learn.microsoft.com/azure/role-based-access-control/custom-roles#custom-role-properties
    ("This display name must be unique at the scope of the Microsoft Entra tenant";
    at most 512 characters).
    """
    return f"{role.role_name} ({stack}, {subscription_id.lower()})"
