"""The lab's IAM step and the deployer's own access, as role assignments.

The lab has the student give the Synapse workspace identity Contributor on the
Azure ML workspace by hand (portal, Access control). Here it is declared, scoped
to that one workspace, so the ``AzureML`` linked service works from the start.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from lab import roles

from .roles import assign_role


@dataclass
class AccessArgs:
    subscription_id: pulumi.Input[str]
    synapse_principal_id: pulumi.Input[str]
    ml_workspace_id: pulumi.Input[str]
    data_lake_account_id: pulumi.Input[str]
    deployer_object_id: pulumi.Input[str]
    deployer_principal_type: str = "User"
    resource_group_id: pulumi.Input[str] | None = None
    # The student's Entra ID object, when lab:students gives one.
    student_object_id: str | None = None
    student_principal_type: str = "User"


class Access(pulumi.ComponentResource):
    def __init__(self, name: str, args: AccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("synapse-ml-lab:access:Access", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.synapse_on_ml = assign_role(
            f"{name}-synapse-ml-contributor",
            role_id=roles.CONTRIBUTOR,
            principal_id=args.synapse_principal_id,
            principal_type="ServicePrincipal",
            scope=args.ml_workspace_id,
            subscription_id=args.subscription_id,
            description="Synapse workspace identity: use the Azure ML workspace (AzureML linked service)",
            opts=child,
        )
        # As the lab's setup does for the signed-in user: the deployer uploads the
        # data and can inspect the lake.
        self.deployer_on_lake = assign_role(
            f"{name}-deployer-lake-owner",
            role_id=roles.STORAGE_BLOB_DATA_OWNER,
            principal_id=args.deployer_object_id,
            principal_type=args.deployer_principal_type,
            scope=args.data_lake_account_id,
            subscription_id=args.subscription_id,
            description="Deployer: manage the lab's data lake",
            opts=child,
        )
        # The student's own access, least privilege: their resource group only
        # (Contributor lets them run the notebooks' Azure ML jobs and pause pools)
        # and their lake's data (Synapse Studio browses the lake as the user).
        # Never Owner, never anything at subscription scope.
        self.student_roles = []
        if args.student_object_id:
            if args.resource_group_id is None:
                raise ValueError("a student's access needs the resource group id")
            grants = (
                (
                    "student-rg-contributor",
                    roles.CONTRIBUTOR,
                    args.resource_group_id,
                    "Student: manage their own lab resource group",
                ),
                (
                    "student-lake-contributor",
                    roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                    args.data_lake_account_id,
                    "Student: read and write their own data lake",
                ),
            )
            self.student_roles = [
                assign_role(
                    f"{name}-{key}",
                    role_id=role_id,
                    principal_id=args.student_object_id,
                    principal_type=args.student_principal_type,
                    scope=scope,
                    subscription_id=args.subscription_id,
                    description=description,
                    opts=child,
                )
                for key, role_id, scope, description in grants
            ]
        self.register_outputs(
            {
                "synapseOnMlAssignment": self.synapse_on_ml.name,
                "deployerOnLakeAssignment": self.deployer_on_lake.name,
                "studentAssignments": [r.name for r in self.student_roles],
            }
        )
