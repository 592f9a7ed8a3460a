"""One student's whole lab: resource group, data lake, Synapse, Azure ML and access."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native
import pulumi_random as random

from lab import cost_guard, naming
from lab.config import LabSettings, Student

from .access import Access, AccessArgs
from .custom_roles import SubscriptionRoles
from .data_lake import DataLake, DataLakeArgs
from .data_plane import DataPlane, DataPlaneArgs
from .diagnostics import LabDiagnostics, LabDiagnosticsArgs
from .machine_learning import MachineLearningWorkspace, MachineLearningWorkspaceArgs
from .synapse import SynapseWorkspace, SynapseWorkspaceArgs


def student_suffix(
    student_id: str, opts: pulumi.ResourceOptions | None = None
) -> random.RandomString:
    """The student's random suffix: 7 lowercase letters and digits, as the lab's setup.

    A pulumi-random resource keyed by the student id, so it is chosen once and stays
    the same on every later ``pulumi up`` (it lives in the stack's state).
    """
    return random.RandomString(
        f"{student_id}-suffix",
        length=naming.SUFFIX_LENGTH,
        lower=True,
        upper=False,
        numeric=True,
        special=False,
        opts=opts,
    )


Tags = Mapping[str, pulumi.Input[str]]


def entra_admin(settings: LabSettings, deployer_object_id: pulumi.Input[str]) -> dict:
    """The workspaces' Microsoft Entra admin: lab:instructors' one id, or the deployer."""
    if settings.instructors:
        return {
            "entra_admin_object_id": settings.instructors[0],
            "entra_admin_login": "synapse-ml-lab instructors",
        }
    return {
        "entra_admin_object_id": deployer_object_id,
        "entra_admin_login": "synapse-ml-lab deployer",
    }


@dataclass
class LabEnvironmentArgs:
    student: Student
    settings: LabSettings
    subscription_id: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    deployer_object_id: pulumi.Input[str]
    # The custom role definitions of the subscription this environment is in
    # (declared once per subscription by components.subscription.SubscriptionSetup).
    custom_roles: SubscriptionRoles
    # The subscription's setup (its namespace registrations): the resource group, and
    # so everything of the student's, waits for it. None only in tests of a component.
    subscription_setup: pulumi.Resource | None = None


def lab_tags(settings: LabSettings, student: Student, suffix: pulumi.Input[str]) -> Tags:
    """The tags on every taggable resource: who it is for, until when, which deployment."""
    return {
        "course": settings.course,
        "student": student.id,
        "expires-on": settings.expires_on.isoformat(),
        # The lab's own setup tags its resource group with the suffix as DeploymentId.
        "DeploymentId": suffix,
    }


class LabEnvironment(pulumi.ComponentResource):
    """Everything one student needs, in the resource group ``<prefix>-<suffix>``."""

    def __init__(
        self, name: str, args: LabEnvironmentArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("synapse-ml-lab:lab:LabEnvironment", name, None, opts)
        self.suffix = student_suffix(args.student.id, opts=pulumi.ResourceOptions(parent=self))
        self.names = naming.names_for(args.settings.resource_group_prefix, self.suffix.result)
        tags = lab_tags(args.settings, args.student, self.suffix.result)
        self.resource_group = azure_native.resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=self._azure_name("resource_group"),
            location=args.settings.location,
            tags=tags,
            # ARM refuses the student's Synapse, Azure ML, Key Vault... until the subscription
            # is registered with their namespaces: no value expresses that order.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[args.subscription_setup] if args.subscription_setup else None,
            ),
        )
        self.data_lake = self._data_lake(name, args, tags)
        self.synapse = self._synapse(name, args, tags)
        self.machine_learning = self._machine_learning(name, args, tags)
        self.access = self._access(name, args)
        self.data_plane = self._data_plane(name, args)
        self.budget = self._budget(name, args)
        self.diagnostics = self._diagnostics(name)

        self.outputs: pulumi.Output[dict] = pulumi.Output.all(
            subscription=args.subscription_id,
            resourceGroup=self.resource_group.name,
            synapseWorkspace=self.synapse.workspace_name,
            synapseStudioUrl=self.synapse.studio_url,
            sparkPool=self.synapse.spark_pool_name,
            sqlPool=self.synapse.sql_pool_name,
            dataLake=self.data_lake.account_name,
            amlWorkspace=self.machine_learning.workspace_name,
            amlStudioUrl=self.machine_learning.studio_url,
            # Where the lab-progress logs are (components/diagnostics.py): the workspace id
            # the Log Analytics query API takes.
            logAnalyticsWorkspaceId=self.machine_learning.log_analytics_customer_id,
        )
        self.register_outputs({"environment": self.outputs})

    def _azure_name(self, attribute: str) -> pulumi.Output[str]:
        """One Azure name of this environment (``lab.naming.LabNames``), once the suffix is known."""
        return self.names.apply(lambda n: getattr(n, attribute))

    def _data_lake(self, name: str, args: LabEnvironmentArgs, tags: Tags) -> DataLake:
        return DataLake(
            f"{name}-lake",
            DataLakeArgs(
                resource_group_name=self.resource_group.name,
                location=args.settings.location,
                account_name=self._azure_name("data_lake"),
                tags=tags,
                data_dir=args.settings.data_dir,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _synapse(self, name: str, args: LabEnvironmentArgs, tags: Tags) -> SynapseWorkspace:
        return SynapseWorkspace(
            f"{name}-synapse",
            SynapseWorkspaceArgs(
                resource_group_name=self.resource_group.name,
                location=args.settings.location,
                subscription_id=args.subscription_id,
                workspace_name=self._azure_name("synapse_workspace"),
                managed_resource_group_name=self._azure_name("synapse_managed_resource_group"),
                spark_pool_name=self._azure_name("spark_pool"),
                sql_pool_name=self._azure_name("sql_pool"),
                data_lake_dfs_url=self.data_lake.dfs_url,
                data_lake_filesystem=self.data_lake.container_name,
                data_lake_account_id=self.data_lake.account_id,
                sql_admin_login=args.settings.sql_admin_login,
                **entra_admin(args.settings, args.deployer_object_id),
                tenant_id=args.tenant_id,
                spark_version=args.settings.spark_version,
                dedicated_sql_pool=args.settings.dedicated_sql_pool,
                allowed_ip_ranges=args.settings.allowed_ip_ranges,
                deployer_ip_address=args.settings.deployer_ip_address,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _machine_learning(
        self, name: str, args: LabEnvironmentArgs, tags: Tags
    ) -> MachineLearningWorkspace:
        return MachineLearningWorkspace(
            f"{name}-aml",
            MachineLearningWorkspaceArgs(
                resource_group_name=self.resource_group.name,
                location=args.settings.location,
                tenant_id=args.tenant_id,
                subscription_id=args.subscription_id,
                workspace_name=self._azure_name("ml_workspace"),
                storage_account_name=self._azure_name("ml_storage"),
                key_vault_name=self._azure_name("key_vault"),
                app_insights_name=self._azure_name("app_insights"),
                log_analytics_name=self._azure_name("log_analytics"),
                compute_name=naming.ML_COMPUTE_NAME,
                compute_vm_size=args.settings.aml_compute_vm_size,
                datastore_name=naming.ML_DATASTORE_NAME,
                data_lake_account_name=self.data_lake.account_name,
                data_lake_account_id=self.data_lake.account_id,
                data_lake_filesystem=self.data_lake.container_name,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _access(self, name: str, args: LabEnvironmentArgs) -> Access:
        return Access(
            f"{name}-access",
            AccessArgs(
                subscription_id=args.subscription_id,
                synapse_principal_id=self.synapse.principal_id,
                ml_workspace_id=self.machine_learning.workspace_id,
                data_lake_account_id=self.data_lake.account_id,
                deployer_object_id=args.deployer_object_id,
                deployer_principal_type=args.settings.deployer_principal_type,
                resource_group_id=self.resource_group.id,
                student_object_id=args.student.object_id,
                student_principal_type=args.student.principal_type,
                sql_pool_id=self.synapse.sql_pool_id,
                sql_pool_operator_role_id=args.custom_roles.sql_pool_operator_id,
                aml_student_role_id=args.custom_roles.aml_student_id,
                aml_for_synapse_role_id=args.custom_roles.aml_for_synapse_id,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _budget(
        self, name: str, args: LabEnvironmentArgs
    ) -> azure_native.consumption.Budget | None:
        """lab:budget: a cost budget on the resource group, alerting (never stopping) at thresholds."""
        budget = args.settings.budget
        if budget is None:
            return None
        start, end = cost_guard.budget_period(args.settings.expires_on, _dt.date.today())
        return azure_native.consumption.Budget(
            f"{name}-budget",
            scope=self.resource_group.id,
            budget_name=f"{naming.BUDGET_NAME_PREFIX}-{args.student.id}",
            amount=budget.amount_per_student,
            category="Cost",
            # One amount for the whole class period (a class is shorter than a year);
            # Monthly would reset the spend every month.
            time_grain="Annually",
            time_period=azure_native.consumption.BudgetTimePeriodArgs(
                start_date=start, end_date=end
            ),
            notifications={
                key: azure_native.consumption.NotificationArgs(
                    enabled=note["enabled"],
                    operator=note["operator"],
                    threshold=note["threshold"],
                    threshold_type=note["thresholdType"],
                    contact_emails=note["contactEmails"],
                )
                for key, note in cost_guard.budget_notifications(budget).items()
            },
            # The start is the first of the month of the first `pulumi up`: a later
            # month must not move it (and Azure refuses a start outside the time grain).
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["timePeriod.startDate"]),
        )

    def _diagnostics(self, name: str) -> LabDiagnostics:
        """The lab's progress as Azure records it (lab.diagnostics), into the student's Log Analytics."""
        return LabDiagnostics(
            f"{name}-diag",
            LabDiagnosticsArgs(
                log_analytics_workspace_id=self.machine_learning.log_analytics_workspace_id,
                synapse_workspace_id=self.synapse.workspace_id,
                spark_pool_id=self.synapse.spark_pool_id,
                sql_pool_id=self.synapse.sql_pool_id,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _data_plane(self, name: str, args: LabEnvironmentArgs) -> DataPlane:
        return DataPlane(
            f"{name}-studio",
            DataPlaneArgs(
                subscription_id=args.subscription_id,
                resource_group_name=self.resource_group.name,
                synapse_workspace_name=self.synapse.workspace_name,
                synapse_workspace_id=self.synapse.workspace_id,
                spark_pool_name=self.synapse.spark_pool_name,
                data_lake_account_name=self.data_lake.account_name,
                data_lake_filesystem=self.data_lake.container_name,
                ml_workspace_name=self.machine_learning.workspace_name,
                ml_compute_name=self.machine_learning.compute_name,
                ml_datastore_name=self.machine_learning.datastore_name,
                firewall_rules=self.synapse.firewall_rules,
                synapse_ml_role=self.access.synapse_on_ml,
                sql_pool_name=self.synapse.sql_pool_name,
                sql_pool_id=self.synapse.sql_pool_id,
                student_object_id=args.student.object_id,
                student_principal_type=args.student.principal_type,
                pause_times=[f"{h:02d}:{m:02d}" for h, m in args.settings.pause_sql_pool_at]
                if args.settings.pause_schedule_on
                else [],
                time_zone=args.settings.time_zone,
                synapse_principal_id=self.synapse.principal_id,
                sql_pool_operator_role_id=args.custom_roles.sql_pool_operator_id,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
