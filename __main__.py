"""synapse-ml-lab: one ready-to-use Azure Synapse + Azure ML lab per student.

Reads and validates the stack's config first (nothing is declared when it is
wrong), then builds one LabEnvironment per student, each in the subscription it
is placed in, and exports where each lives.
"""

import pulumi
import pulumi_azure_native as azure_native

from components.lab_environment import LabEnvironment, LabEnvironmentArgs
from components.subscription import subscription_setups
from lab.config import LabSettings

settings = LabSettings.from_config()
for warning in settings.warnings():
    pulumi.log.warn(warning)

client = azure_native.authorization.get_client_config_output()

# One explicit provider per subscription of lab:subscriptions; without it every
# environment goes to the default provider's subscription.
providers = {
    sub.id: azure_native.Provider(
        f"subscription-{sub.id}", subscription_id=sub.id, location=settings.location
    )
    for sub in settings.subscriptions
}

# Each subscription's resource providers registered and the custom roles declared
# once, before its students' resources.
setups = subscription_setups(settings, client.subscription_id, providers)

environments = {}
for student in settings.students:
    subscription = settings.placement.get(student.id)
    environments[student.id] = LabEnvironment(
        student.id,
        LabEnvironmentArgs(
            student=student,
            settings=settings,
            subscription_id=subscription or client.subscription_id,
            tenant_id=client.tenant_id,
            deployer_object_id=client.object_id,
            custom_roles=setups[subscription].roles,
            subscription_setup=setups[subscription].registration,
        ),
        opts=pulumi.ResourceOptions(providers=[providers[subscription]]) if subscription else None,
    )

# No SQL login or password: every workspace is Microsoft Entra-only (components/synapse.py).
pulumi.export("environments", {sid: env.outputs for sid, env in environments.items()})
