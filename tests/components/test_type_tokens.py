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
    # 38 recorded before the layout change, and 2 added since by adding only (issue 22).
    assert len(declared) == len(recorded) == 40
    assert declared == recorded
    # The dynamic resources' tokens name the resource, not the module that implements it.
    dynamic = sorted(t for _, t in declared if t.startswith("pulumi-python:dynamic/"))
    assert dynamic == [
        f"pulumi-python:dynamic/synapse-ml-lab:{name}"
        for name in (
            "AzureMLLinkedService",
            "KeyVaultPurge",
            "LogAnalyticsForceDelete",
            "MlWorkspacePurge",
            "ResourceProviderRegistration",
            "SqlPoolPause",
            "SynapseRoleAssignments",
            "WorkspaceArtifacts",
        )
    ]
