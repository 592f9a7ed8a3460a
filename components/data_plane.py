"""What the lab had the student click or type in Synapse Studio, declared per student.

- the ``AzureML`` linked service (after the Synapse identity's "Azure ML for
  Synapse" role on the Azure ML workspace exists: Synapse checks it when the service is used);
- the lab's notebooks, attached to the student's Spark pool, their ``parameters``
  cell filled with the student's names, and the lab's two SQL scripts (weather
  forecast, then the T-SQL PREDICT of part 2);
- the dedicated SQL pool paused right after it is created (it bills by the hour);
- the student's Synapse roles on their own workspace (Synapse RBAC): Synapse
  Contributor (notebooks on the Spark pool, SQL scripts, artifacts) and Synapse
  Credential User (the AzureML linked service, which runs as the workspace
  identity); not Synapse Administrator, which also grants Synapse roles to anyone
  (lab/permissions.yaml proves the pair covers every step);
- the cost guard: the ``Pause SQL pool`` pipeline and its started schedule trigger,
  and the workspace identity's "SQL pool operator" role on that pool only.

Five dynamic resources per student at most, the cost guard's schedule among them (see
synapse_artifacts for why few).
Every data-plane call goes through the workspace firewall, so each of them waits
for the firewall rules, the deployer's own rule included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from lab.roles import SYNAPSE_ADMINISTRATOR
from lab.studio import lab_notebooks
from providers.synapse import (
    PREDICT_RENTALS_SCRIPT_NAME,
    WEATHER_FORECAST_SCRIPT_NAME,
    AzureMLLinkedService,
    PauseSchedule,
    SqlPoolPause,
    SynapseRoleAssignmentArgs,
    SynapseRoleAssignments,
    WorkspaceArtifacts,
    predict_rentals_sql_script,
    weather_forecast_sql_script,
)

from .roles import assign_role

# lab/permissions.yaml `grants` (system synapse-rbac) names the same role. Synapse
# Administrator, not Synapse Contributor + Credential User: the part 2 SQL scripts run on
# the dedicated SQL pool, and of the Synapse roles only Synapse Administrator has "Full
# Synapse access to serverless and dedicated SQL pools" (learn.microsoft.com/azure/
# synapse-analytics/security/synapse-workspace-synapse-rbac-roles); anything smaller needs
# a database user per student made by hand with T-SQL. Its residual powers are named
# in the proof's `not_prevented`.
SYNAPSE_STUDENT_ROLES = (SYNAPSE_ADMINISTRATOR,)


@dataclass
class DataPlaneArgs:
    subscription_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    synapse_workspace_name: pulumi.Input[str]
    spark_pool_name: pulumi.Input[str]
    data_lake_account_name: pulumi.Input[str]
    data_lake_filesystem: pulumi.Input[str]
    ml_workspace_name: pulumi.Input[str]
    ml_compute_name: pulumi.Input[str]
    ml_datastore_name: pulumi.Input[str]
    # Resources the data-plane calls must wait for although no value says so.
    firewall_rules: Sequence[pulumi.Resource]
    synapse_ml_role: pulumi.Resource
    sql_pool_name: pulumi.Input[str] | None = None
    sql_pool_id: pulumi.Input[str] | None = None
    student_object_id: str | None = None
    student_principal_type: str = "User"
    notebooks: dict[str, str] = field(default_factory=lab_notebooks)
    # The cost guard (lab:pauseSqlPoolAt, lab:timeZone): no times, no schedule.
    pause_times: Sequence[str] = ()
    time_zone: str = "UTC"
    synapse_principal_id: pulumi.Input[str] | None = None
    # The GUID of the subscription's "SQL pool operator" role (components.custom_roles,
    # SubscriptionRoles.sql_pool_operator_id: it carries the dependency on the definition).
    sql_pool_operator_role_id: pulumi.Input[str] | None = None
    # The workspace's ARM id: a refresh that cannot reach the workspace's endpoint asks ARM
    # whether it still exists (a deleted workspace: everything in it is gone, `up` recreates it).
    synapse_workspace_id: pulumi.Input[str] | None = None


class DataPlane(pulumi.ComponentResource):
    def __init__(self, name: str, args: DataPlaneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("synapse-ml-lab:synapse:DataPlane", name, None, opts)
        behind_firewall = pulumi.ResourceOptions(parent=self, depends_on=list(args.firewall_rules))
        self.linked_service = AzureMLLinkedService(
            f"{name}-azureml",
            workspace_name=args.synapse_workspace_name,
            subscription_id=args.subscription_id,
            resource_group_name=args.resource_group_name,
            ml_workspace_name=args.ml_workspace_name,
            workspace_id=args.synapse_workspace_id,
            opts=pulumi.ResourceOptions.merge(
                behind_firewall, pulumi.ResourceOptions(depends_on=[args.synapse_ml_role])
            ),
        )
        # The Spark pool name is an output of the pool: the notebooks wait for it.
        self.artifacts = WorkspaceArtifacts(
            f"{name}-artifacts",
            workspace_name=args.synapse_workspace_name,
            spark_pool_name=args.spark_pool_name,
            notebooks=args.notebooks,
            parameters=notebook_parameters(args),
            sql_scripts=sql_script_specs(args),
            workspace_id=args.synapse_workspace_id,
            opts=behind_firewall,
        )
        self.sql_pool_pause = self._pause_once(name, args)
        self.pause_role, self.pause_schedule = self._pause_schedule(name, args, behind_firewall)
        self.student_access = self._student_access(name, args, behind_firewall)
        self.register_outputs(
            {
                "linkedService": self.linked_service.id,
                "artifacts": self.artifacts.id,
            }
        )

    def _pause_once(self, name: str, args: DataPlaneArgs) -> SqlPoolPause | None:
        if args.sql_pool_id is None:
            return None
        # An ARM action: no firewall rule needed. Only on create: a pool a student
        # resumed is never paused by a later `pulumi up`.
        return SqlPoolPause(
            f"{name}-pause-sql",
            sql_pool_id=args.sql_pool_id,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _pause_schedule(
        self, name: str, args: DataPlaneArgs, behind_firewall: pulumi.ResourceOptions
    ) -> tuple[Any, PauseSchedule | None]:
        """The cost guard: the workspace identity's role on its own pool, and the schedule."""
        if args.sql_pool_id is None or not args.pause_times:
            return None, None
        if args.synapse_principal_id is None or args.sql_pool_operator_role_id is None:
            raise ValueError("the pause schedule needs the workspace identity and the role id")
        # Only what pausing its own pool needs, on that pool: read, pause (and resume).
        role = assign_role(
            f"{name}-synapse-pauses-sql",
            role_id=args.sql_pool_operator_role_id,
            principal_id=args.synapse_principal_id,
            principal_type="ServicePrincipal",
            scope=args.sql_pool_id,
            subscription_id=args.subscription_id,
            description="The workspace's 'Pause SQL pool' pipeline reads and pauses this pool",
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Started only once the identity may pause: a run before that would fail.
        schedule = PauseSchedule(
            f"{name}-pause-schedule",
            workspace_name=args.synapse_workspace_name,
            sql_pool_id=args.sql_pool_id,
            times=list(args.pause_times),
            time_zone=args.time_zone,
            opts=pulumi.ResourceOptions.merge(
                behind_firewall, pulumi.ResourceOptions(depends_on=[role])
            ),
        )
        return role, schedule

    def _student_access(
        self, name: str, args: DataPlaneArgs, behind_firewall: pulumi.ResourceOptions
    ) -> SynapseRoleAssignments | None:
        if not args.student_object_id:
            return None
        # One resource for the student's Synapse roles (its name stays): an update PUTs
        # the new assignments first, then deletes the retired ones
        # (providers/synapse/rbac.py), so the student never loses the workspace.
        return SynapseRoleAssignments(
            f"{name}-student-synapse-admin",
            workspace_name=args.synapse_workspace_name,
            assignments=[
                SynapseRoleAssignmentArgs(
                    role_id=role,
                    principal_id=args.student_object_id,
                    principal_type=args.student_principal_type,
                )
                for role in SYNAPSE_STUDENT_ROLES
            ],
            workspace_id=args.synapse_workspace_id,
            opts=behind_firewall,
        )


def notebook_parameters(args: DataPlaneArgs) -> dict[str, Any]:
    """The values each notebook's parameters cell receives (a notebook takes the names it declares)."""
    return {
        "data_lake_account": args.data_lake_account_name,
        "data_lake_container": args.data_lake_filesystem,
        "subscription_id": args.subscription_id,
        "resource_group": args.resource_group_name,
        "aml_workspace": args.ml_workspace_name,
        "compute_name": args.ml_compute_name,
        "aml_datastore": args.ml_datastore_name,
        "synapse_workspace": args.synapse_workspace_name,
        "spark_pool": args.spark_pool_name,
        "sql_pool": args.sql_pool_name if args.sql_pool_name is not None else "",
    }


def sql_script_specs(args: DataPlaneArgs) -> dict[str, Any]:
    """The lab's SQL scripts, when there is a dedicated SQL pool, in the order they upload."""
    if args.sql_pool_name is None:
        return {}
    return {
        WEATHER_FORECAST_SCRIPT_NAME: weather_forecast_sql_script(
            args.sql_pool_name, args.data_lake_account_name, args.data_lake_filesystem
        ),
        # Uploaded after the weather forecast (its entry says so): it scores dbo.weather_forecast.
        PREDICT_RENTALS_SCRIPT_NAME: predict_rentals_sql_script(
            args.sql_pool_name, args.data_lake_account_name, args.data_lake_filesystem
        ),
    }
