"""The layout change moved modules, not resources: every URN and type token of a stack is as before.

A renamed Python module must never change a resource's type token or URN, or every
existing stack would replace its resources. The fixture was recorded under mocks
before the move; the program must still declare exactly those resources.
"""

from __future__ import annotations

import json

from classroom.planning.simulate import run_program
from tests.conftest import ROOT

RECORDED = json.loads((ROOT / "tests" / "fixtures" / "one_student_urns.json").read_text())


def test_a_one_student_stack_declares_the_recorded_urns_and_type_tokens():
    simulation = run_program(RECORDED["config"], secret_keys=("lab:sqlAdminPassword",))
    declared = sorted((r.urn, r.type) for r in simulation.resources)
    recorded = sorted((r["urn"], r["type"]) for r in RECORDED["resources"])
    assert len(recorded) == 38
    # Every recorded resource is still there; the only additions are the cost guard's
    # (issue 20): the subscription's custom role, its assignment on the pool, the schedule.
    assert set(recorded) <= set(declared)
    assert sorted(set(declared) - set(recorded)) == [
        (
            "urn:pulumi:dev::synapse-ml-lab::pulumi:pulumi:Stack$azure-native:authorization:"
            "RoleDefinition::sql-pool-operator",
            "azure-native:authorization:RoleDefinition",
        ),
        (
            "urn:pulumi:dev::synapse-ml-lab::synapse-ml-lab:"
            "synapse:DataPlane$azure-native:authorization:RoleAssignment::ann-studio-synapse-pauses-sql",
            "azure-native:authorization:RoleAssignment",
        ),
        (
            "urn:pulumi:dev::synapse-ml-lab::synapse-ml-lab:"
            "synapse:DataPlane$pulumi-python:dynamic/synapse-ml-lab:PauseSchedule::ann-studio-pause-schedule",
            "pulumi-python:dynamic/synapse-ml-lab:PauseSchedule",
        ),
    ]
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
