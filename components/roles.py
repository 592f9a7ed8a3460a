"""The one way the program grants an Azure role (the rules are in ``lab.roles``)."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from lab.roles import (
    CONTRIBUTOR,
    OWNER,
    PRINCIPAL_TYPES,
    assignment_guid,
    check_scope,
    role_definition_id,
)


def assign_role(
    name: str,
    *,
    role_id: pulumi.Input[str],
    principal_id: pulumi.Input[str],
    principal_type: str,
    scope: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    description: str,
    opts: pulumi.ResourceOptions,
) -> azure_native.authorization.RoleAssignment:
    """Grant ``role_id`` to ``principal_id`` on ``scope`` (a resource or resource group id).

    ``role_id`` is a role definition's GUID: a built-in one from ``lab.roles``, or
    a custom one's ``name`` output (``components.custom_roles``), defined in the
    same subscription.
    """
    if role_id == OWNER:
        raise ValueError("this project never grants Owner")
    if role_id == CONTRIBUTOR:
        # Contributor lets its holder scale a pool to DW30000c or create any
        # resource, and a student can act as a managed identity (Synapse
        # credentials, Azure ML jobs): people and identities get the roles of
        # lab/permissions.yaml instead.
        raise ValueError("this project never grants Contributor")
    if principal_type not in PRINCIPAL_TYPES:
        raise ValueError(f"principal type {principal_type!r} is not one of {PRINCIPAL_TYPES}")
    checked_scope = pulumi.Output.from_input(scope).apply(check_scope)
    return azure_native.authorization.RoleAssignment(
        name,
        scope=checked_scope,
        principal_id=principal_id,
        principal_type=principal_type,
        role_definition_id=pulumi.Output.all(subscription_id, role_id).apply(
            lambda args: role_definition_id(args[0], args[1])
        ),
        role_assignment_name=pulumi.Output.all(checked_scope, role_id, principal_id).apply(
            lambda args: assignment_guid(args[0], args[1], args[2])
        ),
        description=description,
        opts=opts,
    )
