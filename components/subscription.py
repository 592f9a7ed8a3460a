"""What a subscription needs once, before any student's environment in it: its namespaces
registered and the project's custom role definitions.

A fresh subscription (a class subscription, Azure for Students, a sponsorship) has
most resource provider namespaces unregistered, and ARM refuses a resource of an
unregistered one (``MissingSubscriptionRegistration``) halfway through ``up``.
One :class:`SubscriptionSetup` per subscription the class uses registers
``lab.azure_namespaces.REQUIRED_NAMESPACES`` and waits until each is Registered;
every student's resource group in that subscription depends on it, so nothing of
theirs is created before. Destroy leaves the registrations in place.

The custom roles (``lab.roles.CUSTOM_ROLES``) are its children too
(``components.custom_roles``), declared with the subscription's provider, which
the setup passes down to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from lab.azure_namespaces import REQUIRED_NAMESPACES
from lab.config import LabSettings
from providers.arm import ResourceProviderRegistration

from .custom_roles import SubscriptionRoles, subscription_roles


@dataclass
class SubscriptionSetupArgs:
    subscription_id: pulumi.Input[str]
    # Names the custom role definitions (``<role key>-<roles_key>``): the subscription
    # id, or ``default`` for the default provider's subscription.
    roles_key: str = "default"
    namespaces: tuple[str, ...] = REQUIRED_NAMESPACES


class SubscriptionSetup(pulumi.ComponentResource):
    """The subscription's resource provider registrations (``registration``) and custom
    role definitions (``roles``), made once. Give it the subscription's provider in
    ``opts.providers`` (none for the default provider's subscription)."""

    def __init__(
        self, name: str, args: SubscriptionSetupArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("synapse-ml-lab:subscription:SubscriptionSetup", name, None, opts)
        self.registration = ResourceProviderRegistration(
            f"{name}-providers",
            subscription_id=args.subscription_id,
            namespaces=list(args.namespaces),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.roles: SubscriptionRoles = subscription_roles(
            args.roles_key, args.subscription_id, parent=self
        )
        self.register_outputs(
            {
                "subscriptionId": self.registration.subscription_id,
                "namespaces": self.registration.namespaces,
            }
        )


DEFAULT_SUBSCRIPTION = "default-subscription"


def subscription_setups(
    settings: LabSettings,
    default_subscription_id: pulumi.Input[str],
    providers: Mapping[str, pulumi.ProviderResource] | None = None,
) -> dict[str | None, SubscriptionSetup]:
    """One setup per subscription that holds a student; key None is the default subscription.

    With ``lab:subscriptions`` every student is placed in one of them (only those
    holding students are set up); without it, the default provider's subscription.
    ``providers`` maps each of ``lab:subscriptions`` to its azure-native provider.
    """
    providers = providers or {}
    used = sorted(
        {settings.placement[s.id] for s in settings.students if s.id in settings.placement}
    )
    setups: dict[str | None, SubscriptionSetup] = {
        sub: SubscriptionSetup(
            f"subscription-{sub}",
            SubscriptionSetupArgs(subscription_id=sub, roles_key=sub),
            opts=pulumi.ResourceOptions(providers=[providers[sub]]) if sub in providers else None,
        )
        for sub in used
    }
    if any(s.id not in settings.placement for s in settings.students):
        setups[None] = SubscriptionSetup(
            DEFAULT_SUBSCRIPTION, SubscriptionSetupArgs(subscription_id=default_subscription_id)
        )
    return setups
