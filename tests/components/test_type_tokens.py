"""The layout change moved modules, not resources: every URN and type token of a stack is as before.

A renamed Python module must never change a resource's type token or URN, or every
existing stack would replace its resources. The fixture was recorded under mocks
before the move; the program must still declare exactly those resources, apart
from the ones a later change added or retired on purpose (listed below, each
with the change that made it).
"""

from __future__ import annotations

import json

from classroom.planning.simulate import run_program
from tests.conftest import ROOT

RECORDED = json.loads((ROOT / "tests" / "fixtures" / "one_student_urns.json").read_text())
STACK = "urn:pulumi:dev::synapse-ml-lab::"
RA = "azure-native:authorization:RoleAssignment"
RD = "azure-native:authorization:RoleDefinition"
SETUP = "synapse-ml-lab:subscription:SubscriptionSetup"
ACCESS = f"{STACK}synapse-ml-lab:access:Access${RA}::ann-access"
# Issue 23 (least privilege for students): the custom SQL pool operator role of
# the subscription, declared once per stack and subscription, and the student's
# Contributor on the resource group replaced by the roles the lab needs. New
# URNs, not a changed one: `pulumi up` creates them and deletes the retired
# assignment at the end of the update, so the student is never without access.
ADDED = {
    # (issue 26 moved the definition into the subscription's SubscriptionSetup, under
    # an alias naming this URN: tests/components/test_custom_roles.py.)
    (
        f"{STACK}{SETUP}$azure-native:authorization:RoleDefinition::sql-pool-operator-default",
        "azure-native:authorization:RoleDefinition",
    ),
    (f"{ACCESS}-student-rg-reader", RA),
    (f"{ACCESS}-student-sql-pool-operator", RA),
    # Issue 26 (no identity a student can act as holds Contributor): the custom Azure ML
    # roles of the subscription, the student's in place of AzureML Data Scientist (issue
    # 23's assignment, never recorded here), the Synapse identity's in place of
    # Contributor. New names, so new URNs: created before the retired ones are deleted.
    (f"{STACK}{SETUP}$azure-native:authorization:RoleDefinition::aml-student-default", RD),
    (f"{STACK}{SETUP}$azure-native:authorization:RoleDefinition::aml-for-synapse-default", RD),
    (f"{ACCESS}-student-aml-lab-user", RA),
    (f"{ACCESS}-synapse-ml-linked-service", RA),
    # ... and no SQL password: each workspace's Microsoft Entra admin (the random
    # password, retired, was never a resource of this fixture: it had one configured).
    (
        f"{STACK}synapse-ml-lab:synapse:SynapseWorkspace$azure-native:synapse:WorkspaceAadAdmin"
        "::ann-synapse-entra-admin",
        "azure-native:synapse:WorkspaceAadAdmin",
    ),
    # Issue 20 (the cost guard): the workspace identity's role on its own pool, and the
    # Pause SQL pool pipeline with its schedule.
    (
        f"{STACK}synapse-ml-lab:synapse:DataPlane$azure-native:authorization:RoleAssignment"
        "::ann-studio-synapse-pauses-sql",
        "azure-native:authorization:RoleAssignment",
    ),
    (
        f"{STACK}synapse-ml-lab:synapse:DataPlane$pulumi-python:dynamic/synapse-ml-lab:PauseSchedule"
        "::ann-studio-pause-schedule",
        "pulumi-python:dynamic/synapse-ml-lab:PauseSchedule",
    ),
    # Issue 28 (lab progress): the diagnostic settings on the Synapse workspace, Spark pool
    # and SQL pool, in their own component. New resources, nothing moved.
    (
        f"{STACK}synapse-ml-lab:lab:LabEnvironment$synapse-ml-lab:monitor:LabDiagnostics::ann-diag",
        "synapse-ml-lab:monitor:LabDiagnostics",
    ),
    *(
        (
            f"{STACK}synapse-ml-lab:monitor:LabDiagnostics$azure-native:monitor:DiagnosticSetting"
            f"::ann-diag-{key}",
            "azure-native:monitor:DiagnosticSetting",
        )
        for key in ("workspace", "spark", "sql")
    ),
}
RETIRED = {
    (f"{ACCESS}-student-rg-contributor", RA),
    (f"{ACCESS}-synapse-ml-contributor", RA),
}


def test_a_one_student_stack_declares_the_recorded_urns_and_type_tokens():
    simulation = run_program(RECORDED["config"], secret_keys=("lab:sqlAdminPassword",))
    declared = {(r.urn, r.type) for r in simulation.resources}
    recorded = {(r["urn"], r["type"]) for r in RECORDED["resources"]}
    # 38 recorded before the layout change, and 2 added since by adding only (issue 22).
    assert len(recorded) == 40
    assert RETIRED.issubset(recorded) and ADDED.isdisjoint(recorded)
    # Every resource recorded before is still declared, under the same URN and type.
    assert sorted(recorded - declared) == sorted(RETIRED)
    assert sorted(declared - recorded) == sorted(ADDED)
    # The dynamic resources' tokens name the resource, not the module that implements it.
    dynamic = sorted(t for _, t in declared if t.startswith("pulumi-python:dynamic/"))
    assert dynamic == [
        f"pulumi-python:dynamic/synapse-ml-lab:{name}"
        for name in (
            "AzureMLLinkedService",
            "KeyVaultPurge",
            "LogAnalyticsForceDelete",
            "MlWorkspacePurge",
            "PauseSchedule",
            "ResourceProviderRegistration",
            "SqlPoolPause",
            "SynapseRoleAssignments",
            "WorkspaceArtifacts",
        )
    ]
