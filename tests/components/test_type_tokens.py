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
# Issue 23 (least privilege for students): the custom SQL pool operator role of
# the subscription, declared once per stack and subscription.
ADDED = {
    (
        f"{STACK}pulumi:pulumi:Stack$azure-native:authorization:RoleDefinition::sql-pool-operator-default",
        "azure-native:authorization:RoleDefinition",
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
}
RETIRED: set[tuple[str, str]] = set()


def test_a_one_student_stack_declares_the_recorded_urns_and_type_tokens():
    simulation = run_program(RECORDED["config"], secret_keys=("lab:sqlAdminPassword",))
    declared = {(r.urn, r.type) for r in simulation.resources}
    recorded = {(r["urn"], r["type"]) for r in RECORDED["resources"]}
    assert len(recorded) == 38
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
            "SqlPoolPause",
            "SynapseRoleAssignments",
            "WorkspaceArtifacts",
        )
    ]
