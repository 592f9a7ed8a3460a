"""What access a student needs, and which role assignments give it: Azure's own semantics.

One table, :data:`NEEDS`: each row is an access the lab needs the student to have, the role
the program grants for it, and every role that satisfies it (that role or a stronger one).
The least-privilege roles (Reader on the group, the custom Azure ML student role, a SQL
pool operator role, Synapse Contributor and Credential User, ...) replace a row's roles
here and nowhere else.

How Azure decides, and how this follows it:

- an assignment at a scope applies at every scope below it, so an assignment on the
  resource group, the subscription or a management group counts for the data lake;
- an assignment to a group counts for every member, through nested groups too. The check
  lists with ``$filter=atScope() and assignedTo('{objectId}')``, which returns the
  assignments at or above the scope of the student and of every group the student is in
  (https://learn.microsoft.com/azure/role-based-access-control/role-assignments-list-rest);
  ``principalId eq`` would return only the student's own;
- a stronger role includes the weaker one (Owner includes Contributor, Storage Blob Data
  Owner includes Storage Blob Data Contributor). Owner or Contributor does NOT include
  blob data access: that comes only from the data roles;
- Synapse RBAC is a separate system: only a Synapse role assignment on the workspace counts.

A need met exactly as the program grants it is ready; met by a stronger role or from a
broader scope it is ready with a warning (more access than the lab needs); not met, it is
a problem. Every verdict says which assignment gave the access.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lab.roles import (
    AML_STUDENT,
    AZUREML_DATA_SCIENTIST,
    CONTRIBUTOR,
    OWNER,
    READER,
    ROLE_NAMES,
    SQL_POOL_OPERATOR,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_OWNER,
    SYNAPSE_ADMINISTRATOR,
    SYNAPSE_CONTRIBUTOR,
    SYNAPSE_CREDENTIAL_USER,
    custom_role_guid,
)

ARM, SYNAPSE = "Azure RBAC", "Synapse RBAC"
SYNAPSE_ROLE_NAMES = {
    SYNAPSE_ADMINISTRATOR: "Synapse Administrator",
    SYNAPSE_CONTRIBUTOR: "Synapse Contributor",
    SYNAPSE_CREDENTIAL_USER: "Synapse Credential User",
}


@dataclass(frozen=True)
class Need:
    """An access the lab needs a student to have, and the roles that give it."""

    what: str  # the access, in words
    plane: str  # ARM or SYNAPSE: where the assignments live
    # The roles that satisfy it, the one the program grants first, then the stronger ones
    # (a function of the student's Environment where the role is one of the stack's own).
    roles: tuple[str, ...] | Callable[[Any], tuple[str, ...]]
    scope: Callable[[Any], str]  # the scope it is needed at, from the student's Environment
    where: Callable[[Any], str]  # that scope in words
    applies: Callable[[Any], bool] = lambda env: True  # does this student need it at all
    granted_name: str | None = None  # the granted role in words, where it has no built-in name

    def roles_for(self, env: Any) -> tuple[str, ...]:
        return self.roles(env) if callable(self.roles) else self.roles

    def granted_for(self, env: Any) -> str:
        return self.roles_for(env)[0]


def _ml_workspace_id(env: Any) -> str:
    return (
        f"{env.resource_group_id}/providers/Microsoft.MachineLearningServices/"
        f"workspaces/{env.aml_workspace}"
    )


def _sql_pool_id(env: Any) -> str:
    return f"{env.synapse_workspace_id}/sqlPools/{env.sql_pool}"


def _sql_pool_roles(env: Any) -> tuple[str, ...]:
    # The stack's own SQL pool operator role (components/custom_roles.py), then the built-in
    # roles that include its actions.
    return (custom_role_guid(SQL_POOL_OPERATOR, env.stack, env.subscription), CONTRIBUTOR, OWNER)


def _ml_roles(env: Any) -> tuple[str, ...]:
    # The stack's own "Azure ML student" role, then AzureML Data Scientist (what stacks
    # granted before it, stronger) and the roles that include everything.
    custom = (custom_role_guid(AML_STUDENT, env.stack, env.subscription),) if env.stack else ()
    return (*custom, AZUREML_DATA_SCIENTIST, CONTRIBUTOR, OWNER)


# needed access -> the roles that satisfy it (equal or stronger), the one the program grants first.
# The program grants the least set (lab/permissions.yaml proves it covers every lab step).
NEEDS: tuple[Need, ...] = (
    Need(
        "see the lab's resources in Studio and the portal",
        ARM,
        (READER, CONTRIBUTOR, OWNER),
        lambda env: env.resource_group_id,
        lambda env: f"resource group '{env.resource_group}'",
    ),
    Need(
        "run AutoML jobs and register models",
        ARM,
        _ml_roles,
        _ml_workspace_id,
        lambda env: f"Azure ML workspace '{env.aml_workspace}'",
        granted_name="the Azure ML student role",
    ),
    Need(
        "resume and pause their SQL pool",
        ARM,
        _sql_pool_roles,
        _sql_pool_id,
        lambda env: f"dedicated SQL pool '{env.sql_pool}'",
        applies=lambda env: bool(env.sql_pool and env.stack),
        granted_name="the SQL pool operator role",
    ),
    Need(
        "read and write the lab's files",
        ARM,
        (STORAGE_BLOB_DATA_CONTRIBUTOR, STORAGE_BLOB_DATA_OWNER),
        lambda env: env.data_lake_id,
        lambda env: f"data lake '{env.data_lake}'",
    ),
    Need(
        "run notebooks, the AzureML linked service and the SQL scripts on the dedicated pool",
        SYNAPSE,
        # Only Synapse Administrator has "Full Synapse access to ... dedicated SQL pools"
        # (synapse-workspace-synapse-rbac-roles): Synapse Contributor and Credential User
        # leave part 2's SQL scripts without access to the pool (lab/permissions.yaml).
        (SYNAPSE_ADMINISTRATOR,),
        lambda env: f"workspaces/{env.synapse_workspace}",
        lambda env: f"Synapse workspace '{env.synapse_workspace}'",
    ),
)


@dataclass(frozen=True)
class Assignment:
    """A role assignment as listed: role id (a GUID), scope, principal and its type."""

    role: str
    scope: str
    principal: str
    principal_type: str = "User"

    @classmethod
    def from_arm(cls, item: Any) -> Assignment:
        role = str(getattr(item, "role_definition_id", "") or "").rsplit("/", 1)[-1]
        return cls(
            role.lower(),
            str(getattr(item, "scope", "") or ""),
            str(getattr(item, "principal_id", "") or ""),
            str(getattr(item, "principal_type", "") or "User"),
        )

    @classmethod
    def from_synapse(cls, item: Any, workspace: str) -> Assignment:
        return cls(
            str(getattr(item, "role_definition_id", "") or "").lower(),
            str(getattr(item, "scope", "") or f"workspaces/{workspace}"),
            str(getattr(item, "principal_id", "") or ""),
            str(getattr(item, "principal_type", "") or "User"),
        )


def role_name(role: str) -> str:
    return ROLE_NAMES.get(role) or SYNAPSE_ROLE_NAMES.get(role) or f"role {role}"


def covers(assigned: str, needed: str) -> bool:
    """Does an assignment at scope ``assigned`` apply at scope ``needed`` (the same or below it)?"""
    a, n = assigned.rstrip("/").lower(), needed.rstrip("/").lower()
    if a == n or n.startswith(a + "/") or a == "":
        return True
    # A management group's assignments apply to the subscriptions under it; the list at a scope
    # with atScope() returns only those above it, so one that came back applies.
    return a.startswith("/providers/microsoft.management/managementgroups/")


def _scope_words(assignment: Assignment, need: Need, env: Any) -> str:
    scope = assignment.scope.rstrip("/")
    if scope.lower() == need.scope(env).lower():
        return need.where(env)
    parts = scope.split("/")
    if len(parts) == 3 and parts[1].lower() == "subscriptions":
        return f"subscription '{parts[2]}' (inherited)"
    if len(parts) == 5 and parts[3].lower() == "resourcegroups":
        return f"resource group '{parts[4]}' (inherited)"
    if "managementgroups" in scope.lower():
        return f"management group '{parts[-1]}' (inherited)"
    return f"{scope} (inherited)"


@dataclass(frozen=True)
class Verdict:
    need: Need
    by: Assignment | None  # the assignment that gives the access (None: not given)
    more: tuple[Assignment, ...]  # assignments giving more than the lab grants (least privilege)
    sentence: str
    severity: str  # "ready" | "warning" | "not ready"


def judge(
    need: Need,
    env: Any,
    student: str,
    assignments: Iterable[Assignment],
    groups: Sequence[str] = (),
    fix: str = "run `pulumi up`",
) -> Verdict:
    """Whether ``assignments`` (the student's own and its groups') give ``need`` at its scope.

    ``groups`` are the ids of the student's groups known to apply (for Synapse RBAC, whose list
    cannot expand groups: the groups seen in the student's ARM assignments)."""
    scope = need.scope(env)
    roles = need.roles_for(env)
    mine = {student.lower(), *(g.lower() for g in groups)}
    applying = [
        a
        for a in assignments
        if a.role in roles
        and covers(a.scope, scope)
        and (need.plane == ARM or a.principal.lower() in mine)
    ]

    def name(role: str) -> str:
        return (
            need.granted_name if role == roles[0] and role not in ROLE_NAMES else None
        ) or role_name(role)

    granted = name(roles[0])
    if not applying:
        return Verdict(
            need,
            None,
            (),
            f"the student lacks {granted} on {need.where(env)} (needed to {need.what}): {fix}",
            "not ready",
        )

    def rank(a: Assignment) -> tuple[int, int, int]:
        exact = a.scope.rstrip("/").lower() == scope.lower()
        return (
            roles.index(a.role),
            0 if exact else 1,
            0 if a.principal.lower() == student.lower() else 1,  # direct before a group
        )

    applying.sort(key=rank)
    best = applying[0]
    more = tuple(a for a in applying if rank(a)[:2] != (0, 0))

    def how(a: Assignment) -> str:
        through = f" through group {a.principal}" if a.principal.lower() != student.lower() else ""
        return f"{name(a.role)} on {_scope_words(a, need, env)}{through}"

    if not more:
        return Verdict(need, best, (), f"{how(best)}: can {need.what}", "ready")
    extra = "; ".join(how(a) for a in more)
    # Contributor or Owner (granted before the lab's least-privilege roles, or by hand) lets a
    # student scale pools and create resources: say how to take it away.
    removable = [a for a in more if need.plane == ARM and a.role in (CONTRIBUTOR, OWNER)]
    remove = "".join(
        f"; remove it with `az role assignment delete --assignee {a.principal} "
        f"--role {role_name(a.role)} --scope {a.scope}`"
        for a in removable
    )
    return Verdict(
        need,
        best,
        more,
        f"the student has more access than the lab grants ({granted} on {need.where(env)}): "
        f"{extra}. Least privilege: remove what the lab does not need unless it is meant{remove}",
        "warning",
    )
