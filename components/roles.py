"""The one way the program grants an Azure role (the rules are in ``lab.roles``)."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from lab.roles import (
    OWNER,
    PRINCIPAL_TYPES,
    SQL_POOL_OPERATOR_ACTIONS,
    SQL_POOL_OPERATOR_ROLE_NAME,
    assignment_guid,
    check_scope,
    role_definition_id,
    role_guid_of,
    sql_pool_operator_role_guid,
)


def assign_role(
    name: str,
    *,
    role_id: str,
    principal_id: pulumi.Input[str],
    principal_type: str,
    scope: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    description: str,
    opts: pulumi.ResourceOptions,
) -> azure_native.authorization.RoleAssignment:
    """Grant ``role_id`` to ``principal_id`` on ``scope`` (a resource or resource group id)."""
    if role_id == OWNER:
        raise ValueError("this project never grants Owner")
    if principal_type not in PRINCIPAL_TYPES:
        raise ValueError(f"principal type {principal_type!r} is not one of {PRINCIPAL_TYPES}")
    checked_scope = pulumi.Output.from_input(scope).apply(check_scope)
    return azure_native.authorization.RoleAssignment(
        name,
        scope=checked_scope,
        principal_id=principal_id,
        principal_type=principal_type,
        role_definition_id=pulumi.Output.from_input(subscription_id).apply(
            lambda sub: role_definition_id(sub, role_id)
        ),
        role_assignment_name=pulumi.Output.all(checked_scope, principal_id).apply(
            lambda args: assignment_guid(args[0], role_id, args[1])
        ),
        description=description,
        opts=opts,
    )


def sql_pool_operator_role(
    name: str, *, subscription_id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
) -> pulumi.Output[str]:
    """Declare the subscription's custom "SQL pool operator" role; its role definition id.

    The one place the program gets that role from: declare it once per subscription
    (``__main__``) and hand the id to every environment placed there.
    """
    role = azure_native.authorization.RoleDefinition(
        name,
        role_definition_id=pulumi.Output.from_input(subscription_id).apply(
            sql_pool_operator_role_guid
        ),
        role_name=pulumi.Output.from_input(subscription_id).apply(
            # Custom role names are unique in a tenant: one per subscription needs its id.
            lambda sub: f"{SQL_POOL_OPERATOR_ROLE_NAME} {sub}"
        ),
        description=(
            "Read, pause and resume dedicated SQL pools: what a Synapse workspace's "
            "'Pause SQL pool' pipeline needs on its own pool (synapse-ml-lab cost guard)."
        ),
        permissions=[
            azure_native.authorization.PermissionArgs(actions=list(SQL_POOL_OPERATOR_ACTIONS))
        ],
        assignable_scopes=[pulumi.Output.concat("/subscriptions/", subscription_id)],
        scope=pulumi.Output.concat("/subscriptions/", subscription_id),
        role_type="CustomRole",
        opts=opts,
    )
    return role.id


def assign_role_definition(
    name: str,
    *,
    role_definition_id: pulumi.Input[str],
    principal_id: pulumi.Input[str],
    principal_type: str,
    scope: pulumi.Input[str],
    description: str,
    opts: pulumi.ResourceOptions,
) -> azure_native.authorization.RoleAssignment:
    """Grant a role given by its full definition id (a custom role), by the rules of ``assign_role``."""
    if principal_type not in PRINCIPAL_TYPES:
        raise ValueError(f"principal type {principal_type!r} is not one of {PRINCIPAL_TYPES}")
    checked_scope = pulumi.Output.from_input(scope).apply(check_scope)
    definition = pulumi.Output.from_input(role_definition_id)

    def checked(definition_id: str) -> str:
        if role_guid_of(definition_id) == OWNER:
            raise ValueError("this project never grants Owner")
        return definition_id

    return azure_native.authorization.RoleAssignment(
        name,
        scope=checked_scope,
        principal_id=principal_id,
        principal_type=principal_type,
        role_definition_id=definition.apply(checked),
        role_assignment_name=pulumi.Output.all(checked_scope, definition, principal_id).apply(
            lambda args: assignment_guid(args[0], role_guid_of(args[1]), args[2])
        ),
        description=description,
        opts=opts,
    )
