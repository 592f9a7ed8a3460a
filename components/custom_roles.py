"""The project's custom role definitions: one per subscription a stack deploys into.

The one place they are declared. ``__main__`` calls :func:`subscription_roles`
once per subscription (with that subscription's provider) and hands the result
to every environment placed there; a component that needs the "SQL pool
operator" role (the student's access, the cost guard's workspace identity)
assigns ``SubscriptionRoles.sql_pool_operator_id`` with
``components.roles.assign_role`` on one pool.

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

    @property
    def sql_pool_operator_id(self) -> pulumi.Output[str]:
        """The definition's GUID, as ``assign_role(role_id=...)`` takes it (carries the dependency)."""
        return self.sql_pool_operator.name


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
    provider: pulumi.ProviderResource | None = None,
) -> SubscriptionRoles:
    """The custom roles of one subscription; call once per subscription of the stack.

    ``key`` names the resources (``sql-pool-operator-<key>``): the subscription id
    for those of ``lab:subscriptions``, ``default`` for the default provider's.
    """
    opts = pulumi.ResourceOptions(provider=provider) if provider is not None else None
    return SubscriptionRoles(
        subscription_id=subscription_id,
        sql_pool_operator=custom_role_definition(
            f"{roles.SQL_POOL_OPERATOR.key}-{key}",
            roles.SQL_POOL_OPERATOR,
            subscription_id=subscription_id,
            stack=pulumi.get_stack(),
            opts=opts,
        ),
    )
