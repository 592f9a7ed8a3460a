"""The lab's IAM step, the deployer's own access and the student's, as role assignments.

The lab has the student give the Synapse workspace identity Contributor on the
Azure ML workspace by hand (portal, Access control). Here the identity gets the
custom "Azure ML for Synapse" role instead (``lab.roles.AML_FOR_SYNAPSE``: what the
``AzureML`` linked service, an AutoML run from Synapse and model registration
use), scoped to that one workspace, so the linked service works from the start.
A student who can use the workspace's credential acts as that identity: the
proof counts its rights as the student's.

A student gets exactly what the lab's steps need (the proof, step by step with
Microsoft's docs, is ``lab/permissions.yaml``; ``tests/lab/test_permissions.py``
checks it): Reader on their resource group, the custom "Azure ML student" role on
their Azure ML workspace, the custom SQL pool operator role on their dedicated
SQL pool and Storage Blob Data Contributor on their lake (their Synapse roles are
Synapse RBAC: ``components.data_plane``). Never Contributor or Owner, for nobody:
those let a student, or an identity a student acts as, scale the pool to
DW30000c or create any resource.

Moving from the roles of before (Contributor for the identity, AzureML Data
Scientist for the student): the new assignments have new resource names (and,
the role being another, new assignment GUIDs), so ``pulumi up`` creates them
during the update and deletes the retired ones at its end, never leaving the
identity or the student without access.
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
    # The student's dedicated SQL pool (none when lab:dedicatedSqlPool is false)
    # and the subscription's custom "SQL pool operator" role (its GUID).
    sql_pool_id: pulumi.Input[str] | None = None
    sql_pool_operator_role_id: pulumi.Input[str] | None = None
    # The subscription's custom Azure ML roles (their GUIDs, components.custom_roles).
    aml_student_role_id: pulumi.Input[str] | None = None
    aml_for_synapse_role_id: pulumi.Input[str] | None = None


class Access(pulumi.ComponentResource):
    def __init__(self, name: str, args: AccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("synapse-ml-lab:access:Access", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.synapse_on_ml = self._synapse_on_ml(name, args, child)
        self.deployer_on_lake = self._deployer_on_lake(name, args, child)
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
            for key, role_id, scope, description in student_grants(args)
        ]
        self.register_outputs(
            {
                "synapseOnMlAssignment": self.synapse_on_ml.name,
                "deployerOnLakeAssignment": self.deployer_on_lake.name,
                "studentAssignments": [r.name for r in self.student_roles],
            }
        )

    @staticmethod
    def _synapse_on_ml(name: str, args: AccessArgs, child: pulumi.ResourceOptions):
        if args.aml_for_synapse_role_id is None:
            raise ValueError("the Synapse identity's Azure ML access needs its custom role")
        # A new name (it was "-synapse-ml-contributor"): created before the
        # Contributor assignment of older stacks is deleted.
        return assign_role(
            f"{name}-synapse-ml-linked-service",
            role_id=args.aml_for_synapse_role_id,
            principal_id=args.synapse_principal_id,
            principal_type="ServicePrincipal",
            scope=args.ml_workspace_id,
            subscription_id=args.subscription_id,
            description="Synapse workspace identity: use the Azure ML workspace (AzureML linked service)",
            opts=child,
        )

    @staticmethod
    def _deployer_on_lake(name: str, args: AccessArgs, child: pulumi.ResourceOptions):
        # As the lab's setup does for the signed-in user: the deployer uploads the
        # data and can inspect the lake.
        return assign_role(
            f"{name}-deployer-lake-owner",
            role_id=roles.STORAGE_BLOB_DATA_OWNER,
            principal_id=args.deployer_object_id,
            principal_type=args.deployer_principal_type,
            scope=args.data_lake_account_id,
            subscription_id=args.subscription_id,
            description="Deployer: manage the lab's data lake",
            opts=child,
        )


def student_grants(args: AccessArgs) -> list[tuple[str, pulumi.Input[str], pulumi.Input[str], str]]:
    """The student's own access (lab/permissions.yaml proves it covers the lab): their
    resources only, never Contributor, never Owner, never anything at subscription scope.
    (name suffix, role id, scope, description) each; none without an objectId."""
    if not args.student_object_id:
        return []
    if args.resource_group_id is None:
        raise ValueError("a student's access needs the resource group id")
    if args.aml_student_role_id is None:
        raise ValueError("a student's Azure ML access needs the Azure ML student role")
    grants: list[tuple[str, pulumi.Input[str], pulumi.Input[str], str]] = [
        (
            "student-rg-reader",
            roles.READER,
            args.resource_group_id,
            "Student: see their lab's resources (portal, Studio)",
        ),
        (
            # A new name (it was "student-aml-data-scientist"): see the module doc.
            "student-aml-lab-user",
            args.aml_student_role_id,
            args.ml_workspace_id,
            "Student: run jobs and register models in their Azure ML workspace",
        ),
        (
            "student-lake-contributor",
            roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
            args.data_lake_account_id,
            "Student: read and write their own data lake",
        ),
    ]
    if args.sql_pool_id is not None:
        if args.sql_pool_operator_role_id is None:
            raise ValueError("a student's SQL pool access needs the SQL pool operator role")
        grants.append(
            (
                "student-sql-pool-operator",
                args.sql_pool_operator_role_id,
                args.sql_pool_id,
                "Student: resume and pause their own dedicated SQL pool",
            )
        )
    return grants
