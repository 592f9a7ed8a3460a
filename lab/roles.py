"""Well-known Azure role definition IDs and the rules every assignment follows.

``components.roles.assign_role`` applies them to each assignment the program
declares: an explicit principal type (azure-native would otherwise send
"User", which Azure refuses for a managed identity), a deterministic GUID name
(a re-run never creates a duplicate), and never Owner or a subscription scope.
"""

from __future__ import annotations

import re
import uuid

CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
# Synapse RBAC (data plane), not ARM roles.
SYNAPSE_ADMINISTRATOR = "6e4bf58a-b8e1-4cc3-bbf9-d73143322b78"
SYNAPSE_CONTRIBUTOR = "7572bffe-f453-4b66-912a-46cc5ef38fda"

ROLE_NAMES = {
    CONTRIBUTOR: "Contributor",
    OWNER: "Owner",
    STORAGE_BLOB_DATA_OWNER: "Storage Blob Data Owner",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    STORAGE_BLOB_DATA_READER: "Storage Blob Data Reader",
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
