"""synapse-ml-lab: one ready-to-use Azure Synapse + Azure ML lab per student.

Reads and validates the stack's config first (nothing is declared when it is
wrong), then builds one LabEnvironment per student, each in the subscription it
is placed in, and exports where each lives.
"""

import pulumi
import pulumi_azure_native as azure_native

from components.credentials import sql_admin_password
from components.custom_roles import subscription_roles
from components.lab_environment import LabEnvironment, LabEnvironmentArgs
from lab.config import LabSettings

settings = LabSettings.from_config()
for warning in settings.warnings():
    pulumi.log.warn(warning)

client = azure_native.authorization.get_client_config_output()
password = sql_admin_password(settings)

# One explicit provider per subscription of lab:subscriptions; without it every
# environment goes to the default provider's subscription.
providers = {
    sub.id: azure_native.Provider(
        f"subscription-{sub.id}", subscription_id=sub.id, location=settings.location
    )
    for sub in settings.subscriptions
}

# The custom roles (SQL pool operator), declared once per subscription in use.
placed = {settings.placement.get(student.id) for student in settings.students}
custom_roles = {
    sub: subscription_roles(sub, sub, provider=providers[sub])
    if sub
    else subscription_roles("default", client.subscription_id)
    for sub in sorted(placed, key=lambda s: s or "")
}

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
            sql_admin_password=password,
            custom_roles=custom_roles[subscription],
        ),
        opts=pulumi.ResourceOptions(providers=[providers[subscription]]) if subscription else None,
    )

pulumi.export("environments", {sid: env.outputs for sid, env in environments.items()})
pulumi.export("sqlAdminLogin", settings.sql_admin_login)
pulumi.export("sqlAdminPassword", password)
