"""components.roles.assign_role: the one way the program grants a role, and the rules it applies."""

from __future__ import annotations

import pytest

from classroom.planning.simulate import FAKE_SUBSCRIPTION, run_program
from components.roles import assign_role
from lab import roles


def test_assign_role_refuses_owner_and_subscription_scope():
    with pytest.raises(ValueError, match="never grants Owner"):
        assign_role(
            "x",
            role_id=roles.OWNER,
            principal_id="p",
            principal_type="User",
            scope="/x",
            subscription_id="s",
            description="",
            opts=None,
        )
    for scope in (
        f"/subscriptions/{FAKE_SUBSCRIPTION}",
        "/",
        "",
        "/providers/Microsoft.Management/managementGroups/school",
    ):
        with pytest.raises(ValueError, match="subscription scope"):
            roles.check_scope(scope)
    assert roles.check_scope(f"/subscriptions/{FAKE_SUBSCRIPTION}/resourceGroups/rg").endswith(
        "/rg"
    )


def test_assign_role_refuses_contributor_for_people_and_identities():
    for principal_type in ("User", "Group", "ServicePrincipal"):
        with pytest.raises(ValueError, match="never grants Contributor"):
            assign_role(
                "x",
                role_id=roles.CONTRIBUTOR,
                principal_id="p",
                principal_type=principal_type,
                scope="/x",
                subscription_id="s",
                description="",
                opts=None,
            )


def test_without_a_dedicated_sql_pool_a_student_gets_no_pool_role():
    from tests.conftest import BASE_CONFIG

    student = "0a1b2c3d-0000-4000-8000-000000000009"
    sim = run_program(
        {
            **BASE_CONFIG,
            "lab:dedicatedSqlPool": "false",
            "lab:students": [{"id": "zoe", "objectId": student}],
        }
    )
    granted = sorted(
        r.name
        for r in sim.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == student
    )
    assert granted == [
        "zoe-access-student-aml-lab-user",
        "zoe-access-student-lake-contributor",
        "zoe-access-student-rg-reader",
    ]


def test_the_new_roles_are_new_assignments_created_before_the_retired_ones_go():
    """Moving from Contributor (Synapse identity) and AzureML Data Scientist (student) to
    the custom Azure ML roles: new resource names, so new URNs, and new assignment GUIDs
    (the GUID hashes the role), so Azure never sees the new one as the old one renamed.
    Pulumi creates what is new during the update and deletes what is no longer declared
    at its end (and not at all when the update fails), as when Contributor left students
    in issue 23: neither the identity nor the student is ever without access."""
    from tests.conftest import BASE_CONFIG

    student = "0a1b2c3d-0000-4000-8000-000000000010"
    sim = run_program({**BASE_CONFIG, "lab:students": [{"id": "ada", "objectId": student}]})
    assignments = {r.name: r for r in sim.of_type("azure-native:authorization:RoleAssignment")}
    # The retired names are gone, the new ones are there.
    assert "ada-access-synapse-ml-contributor" not in assignments
    assert "ada-access-student-aml-data-scientist" not in assignments
    synapse = assignments["ada-access-synapse-ml-linked-service"]
    mine = assignments["ada-access-student-aml-lab-user"]
    # Same principal and scope as the retired ones, another role: another GUID.
    for new, retired_role, role in (
        (synapse, roles.CONTRIBUTOR, roles.AML_FOR_SYNAPSE),
        (mine, roles.AZUREML_DATA_SCIENTIST, roles.AML_STUDENT),
    ):
        scope, principal = new.inputs["scope"], new.inputs["principalId"]
        guid = roles.custom_role_guid(role, "dev", FAKE_SUBSCRIPTION)
        assert new.inputs["roleDefinitionId"].endswith("/" + guid)
        assert new.inputs["roleAssignmentName"] == roles.assignment_guid(scope, guid, principal)
        assert new.inputs["roleAssignmentName"] != roles.assignment_guid(
            scope, retired_role, principal
        )
        # ... and it waits for its definition (declared in the subscription's setup).
        (definition,) = [
            d
            for d in sim.of_type("azure-native:authorization:RoleDefinition")
            if d.inputs["roleDefinitionId"] == guid
        ]
        assert definition.urn in new.dependencies
    assert not any(
        r.inputs["roleDefinitionId"].endswith(roles.CONTRIBUTOR) for r in assignments.values()
    )
    # The linked service is created after the identity's new role exists.
    (linked,) = sim.of_type("pulumi-python:dynamic/synapse-ml-lab:AzureMLLinkedService")
    assert synapse.urn in linked.dependencies
