"""synapse-ml-lab: one ready-to-use Azure Synapse + Azure ML lab per student.

Reads and validates the stack's config first (nothing is declared when it is
wrong), then builds one LabEnvironment per student and exports where each lives.
"""
import pulumi
import pulumi_azure_native as azure_native

from components.config import LabSettings
from components.credentials import sql_admin_password
from components.lab_environment import LabEnvironment, LabEnvironmentArgs

settings = LabSettings.from_config()

if settings.firewall_open_to_all:
    pulumi.log.warn(
        "lab:allowedIpRanges is not set: every Synapse workspace firewall allows all addresses "
        "(0.0.0.0-255.255.255.255), as the original lab does. Set lab:allowedIpRanges to your "
        "class's address ranges to restrict it."
    )

client = azure_native.authorization.get_client_config_output()
password = sql_admin_password(settings)

environments = {
    student.id: LabEnvironment(
        student.id,
        LabEnvironmentArgs(
            student=student,
            settings=settings,
            subscription_id=client.subscription_id,
            tenant_id=client.tenant_id,
            deployer_object_id=client.object_id,
            sql_admin_password=password,
        ),
    )
    for student in settings.students
}

pulumi.export("environments", {sid: env.outputs for sid, env in environments.items()})
pulumi.export("sqlAdminLogin", settings.sql_admin_login)
pulumi.export("sqlAdminPassword", password)
