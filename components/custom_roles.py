"""The project's custom role definitions: one per subscription a stack deploys into.

The one place they are declared: ``components.subscription.SubscriptionSetup``
calls :func:`subscription_roles` once per subscription, as its children (so they
use that subscription's provider), and ``__main__`` hands the result to every
environment placed there; a component that needs a custom role assigns its id
(``SubscriptionRoles.sql_pool_operator_id``, ``aml_student_id``,
``aml_for_synapse_id``) with ``components.roles.assign_role`` on one resource.

Each definition is assignable in its own subscription only, and is named after
the stack and the subscription (``lab.roles.custom_role_guid``): display names
must be unique in the tenant, and a stack owns exactly the definitions it
declares, so ``pulumi destroy`` of one section never removes a role another
section's students still hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from lab import roles


@dataclass(frozen=True)
class SubscriptionRoles:
    """The custom role definitions of one subscription."""

    subscription_id: pulumi.Input[str]
    sql_pool_operator: azure_native.authorization.RoleDefinition
    aml_student: azure_native.authorization.RoleDefinition
    aml_for_synapse: azure_native.authorization.RoleDefinition

    # Each id is the definition's GUID, as ``assign_role(role_id=...)`` takes it
    # (the output carries the dependency: no assignment before its definition).
    @property
    def sql_pool_operator_id(self) -> pulumi.Output[str]:
        return self.sql_pool_operator.name

    @property
    def aml_student_id(self) -> pulumi.Output[str]:
        return self.aml_student.name

    @property
    def aml_for_synapse_id(self) -> pulumi.Output[str]:
        return self.aml_for_synapse.name


def custom_role_definition(
    resource_name: str,
    role: roles.CustomRole,
    *,
    subscription_id: pulumi.Input[str],
    stack: str,
    opts: pulumi.ResourceOptions | None = None,
) -> azure_native.authorization.RoleDefinition:
    """Declare ``role`` in one subscription, assignable there only, with exactly its actions."""
    subscription = pulumi.Output.from_input(subscription_id)
    scope = subscription.apply(lambda sub: f"/subscriptions/{sub}")
    return azure_native.authorization.RoleDefinition(
        resource_name,
        scope=scope,
        role_definition_id=subscription.apply(lambda sub: roles.custom_role_guid(role, stack, sub)),
        role_name=subscription.apply(lambda sub: roles.custom_role_name(role, stack, sub)),
        description=role.description,
        role_type="CustomRole",
        permissions=[
            azure_native.authorization.PermissionArgs(
                actions=list(role.actions),
                not_actions=list(role.not_actions),
                data_actions=list(role.data_actions),
                not_data_actions=list(role.not_data_actions),
            )
        ],
        assignable_scopes=[scope],
        opts=opts,
    )


def subscription_roles(
    key: str,
    subscription_id: pulumi.Input[str],
    *,
    parent: pulumi.Resource,
) -> SubscriptionRoles:
    """The custom roles of one subscription, as children of ``parent`` (its SubscriptionSetup).

    ``key`` names the resources (``<role key>-<key>``): the subscription id for
    those of ``lab:subscriptions``, ``default`` for the default provider's. The
    SQL pool operator definition was a child of the stack until the roles moved
    into the subscription's component: its alias keeps its old URN, so an
    existing stack adopts it instead of replacing it (a replacement would delete
    the definition the students' assignments use).
    """
    stack = pulumi.get_stack()

    def define(role: roles.CustomRole, *aliases: pulumi.Alias):
        return custom_role_definition(
            f"{role.key}-{key}",
            role,
            subscription_id=subscription_id,
            stack=stack,
            opts=pulumi.ResourceOptions(parent=parent, aliases=list(aliases) or None),
        )

    return SubscriptionRoles(
        subscription_id=subscription_id,
        sql_pool_operator=define(
            roles.SQL_POOL_OPERATOR,
            pulumi.Alias(parent=pulumi.runtime.get_root_resource()),
        ),
        aml_student=define(roles.AML_STUDENT),
        aml_for_synapse=define(roles.AML_FOR_SYNAPSE),
    )
